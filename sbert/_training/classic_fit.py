"""sentence-transformers' classic ``fit`` (its API before v3/v4) on sbert's Trainer, shared by
``SentenceTransformer.fit`` (:func:`fit`) and ``CrossEncoder.fit`` (``_cross_encoder/fit.py``).

That fit runs Hugging Face's trainer, and shows what it shows: each log record on the console (a loss record
every 500 steps, each step-based evaluation's ``eval_`` metrics with timings, the run's summary), above the
progress bar or printed without one; "Saving model checkpoint to ..." before each checkpoint. It evaluates
every ``evaluation_steps`` steps (and at the last) after the step's loss record and before its checkpoint,
and again at each epoch's end (after that step's checkpoint, unlogged); calls ``callback(score, epoch,
steps)`` with the evaluator's primary score and the epoch unrounded; and, with ``save_best_model``, saves
the model to ``output_path`` each time that score improves. sbert's trainer runs those evaluations through
its hooks (:class:`ClassicTrainer`), so the trainer itself has no evaluator then.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError
from .._evaluation.base import Evaluator
from .._losses.base import Loss
from .._st_loggers import ST_TRAINER
from .arguments import TrainingArguments, nothing_to_evaluate
from .callbacks import HF_STATE
from .card_record import DatasetRows, record_run_logs, record_run_start, record_trainer_start
from .console import BAR, PRINT, HuggingFaceBar
from .data import TextDataset
from .fit_inputs import CLASSIC_WARMUP_STEPS, fit_arguments, loader_batch_sampler, objective_dataset
from .hf_arguments import as_hf_enum
from .hf_hooks import TRAINING_ARGS_FILE
from .trainer import METRICS_FILE, Trainer, TrainOutput, read_log

# the training-arguments class each classic fit builds (module, class: imported when a card is recorded, as
# those modules import the model classes, which import this one), by the trainer it runs, and whether it
# trains a dict of datasets (_dataset_1, ...) there or the one dataset
ST_FIT_ARGUMENTS = {
    "SentenceTransformerTrainer": ("st_compat", "SentenceTransformerTrainingArguments", True),
    "CrossEncoderTrainer": ("cross", "CrossEncoderTrainingArguments", False),
}


def st_fit_arguments(
    *,
    batch_size: int,
    epochs: Any,
    evaluation_steps: Any,
    max_grad_norm: Any,
    use_amp: Any,
    show_progress_bar: Any,
    **more: Any,
) -> dict[str, Any]:
    """The training arguments sentence-transformers' classic fit builds from its own (what its model card
    lists): the loaders' batch size for training and evaluation, ``epochs`` as ``num_train_epochs``,
    ``evaluation_steps`` as the step-based evaluation, ``max_grad_norm`` and ``use_amp`` (``fp16``) as given,
    no progress bar without ``show_progress_bar``; ``more``: the batch samplers and ``max_steps``, which
    ``SentenceTransformer.fit`` sets too. Its optimizer and schedule are its own, not among them."""
    evaluates = evaluation_steps is not None and evaluation_steps > 0
    return {
        **more,
        "per_device_train_batch_size": batch_size,
        "per_device_eval_batch_size": batch_size,
        "num_train_epochs": epochs,
        "eval_strategy": "steps" if evaluates else "no",
        "eval_steps": evaluation_steps if evaluates else None,
        "max_grad_norm": max_grad_norm,
        "fp16": use_amp,
        "disable_tqdm": not show_progress_bar,
    }


def keeps_label_column(dataset: TextDataset) -> bool:
    """Whether sentence-transformers' classic fit gives this dataset a label column: not when every label
    is 0, InputExample's default (a vector label is kept)."""
    if dataset.labels is None:
        return False
    try:
        return set(dataset.labels.tolist()) != {0}
    except TypeError:  # lists (vectors) are not hashable
        return True


class ClassicEvaluations:
    """The classic fit's evaluations: every ``every`` steps (and at the last) and at each epoch's end, with
    the evaluator's CSV files in ``csv_dir``; ``callback(score, epoch, steps)`` and, when ``save_to`` is
    given, the model saved there each time the primary metric improves."""

    def __init__(self, evaluator: Any, every: int | None, csv_dir: Path, save_to: Path | None, callback: Any):
        self.evaluator, self.every, self.csv_dir = evaluator, every, csv_dir
        self.save_to, self.callback = save_to, callback
        self.best: float | None = None

    def due(self, step: int, last: int) -> bool:
        """Whether step ``step`` is evaluated: Hugging Face's step-based evaluation, which also evaluates the
        run's ``last`` step."""
        return bool(self.every) and (step % self.every == 0 or step == last)

    def results(self, model: Any, epoch: float, step: int) -> dict[str, Any]:
        results = self.evaluator(model, output_path=self.csv_dir, epoch=epoch, steps=step)
        return results if isinstance(results, dict) else {"evaluator": results}

    def scored(self, model: Any, results: dict[str, Any], epoch: float, step: int) -> None:
        """The callback and the best model's save, after an evaluation's ``results``."""
        key = getattr(self.evaluator, "primary_metric", None) or "evaluator"
        score = next((value for name, value in results.items() if name.endswith(key)), None)
        if score is None:
            return
        if self.callback is not None:
            self.callback(score, epoch, step)
        higher = getattr(self.evaluator, "greater_is_better", True)
        if self.best is None or (score > self.best if higher else score < self.best):
            self.best = score
            if self.save_to is not None:
                model.save(self.save_to)

    def keep_csv_files(self, output_path: str | os.PathLike | None) -> None:
        """Copy the evaluator's CSV files to ``output_path/eval``: they are written aside, since each save of
        the best model replaces ``output_path`` whole."""
        if output_path is not None and self.csv_dir.is_dir():
            shutil.copytree(self.csv_dir, Path(output_path) / "eval", dirs_exist_ok=True)


class ClassicTrainer(HuggingFaceBar, Trainer):
    """sbert's Trainer as the classic fit runs Hugging Face's: ``evaluations`` at its steps and epochs' ends,
    each record on the console as Hugging Face's trainer shows it, the run's summary, the checkpoints'
    record on sentence-transformers' trainer logger (the arguments: its ``logging_steps=500``, no record of
    the last steps)."""

    length_groups_with_dropout = False  # sentence-transformers' forwards, so a seed gives its dropout masks

    def __init__(
        self,
        *args: Any,
        evaluations: ClassicEvaluations | None = None,
        evaluation_steps: float | None = None,
        st_trainer: str = "SentenceTransformerTrainer",
        st_arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``evaluation_steps``: the fit's, which that fit passes as Hugging Face's ``eval_steps`` (above 0
        without an evaluator: the ValueError of ``st_trainer``, the trainer class that fit runs);
        ``st_arguments``: the training arguments that fit builds (:func:`st_fit_arguments`), which its
        model card lists."""
        if evaluations is None and evaluation_steps is not None and evaluation_steps > 0:
            raise nothing_to_evaluate(as_hf_enum("eval_strategy", "steps"), st_trainer)  # its arguments' enum
        super().__init__(*args, **kwargs)
        self.evaluations, self.evaluation_steps = evaluations, evaluation_steps
        self.st_trainer, self.st_arguments = st_trainer, st_arguments or {}
        self.started, self.evaluated = time.perf_counter(), 0  # the last step-based evaluation's step
        self.card_evaluations: list[dict[str, Any]] = []  # each evaluation's metrics, for the card's logs

    def callback_setup(self, total: int) -> tuple[Any, dict[str, Any], Callable[[], dict[str, Any]]]:
        """The state's ``eval_steps`` is the fit's ``evaluation_steps`` (0 by default), as Hugging Face's
        ``TrainerState.compute_steps`` sets it from that fit's arguments; None leaves its default."""
        args, numbers, event_kwargs = super().callback_setup(total)
        steps = self.evaluation_steps
        if steps is None:
            steps = HF_STATE["eval_steps"]
        numbers["eval_steps"] = math.ceil(total * steps) if steps < 1 else steps
        return args, numbers, event_kwargs

    def train(self) -> TrainOutput:
        self.started = time.perf_counter()
        return super().train()

    def mode_after_run(self) -> None:
        """That fit runs Hugging Face's loop, which leaves the model as its last batch or evaluation did."""

    def _st_arguments_class(self) -> tuple[type, bool]:
        module, class_name, in_a_dict = ST_FIT_ARGUMENTS[self.st_trainer]
        return getattr(importlib.import_module(f"{__package__}.{module}"), class_name), in_a_dict

    def write_checkpoint_model(self, folder: Path) -> None:
        """The model, and beside it the training arguments that fit builds, pickled in
        ``training_args.bin`` as that fit's trainer keeps them in each checkpoint."""
        super().write_checkpoint_model(folder)
        args_class, _ = self._st_arguments_class()
        torch.save(
            args_class(output_dir=str(self.output_dir), **self.st_arguments), folder / TRAINING_ARGS_FILE
        )

    def card_run_start(self) -> None:
        """The card's records as that fit's trainer makes them: its datasets (``_dataset_1``, ... for
        ``SentenceTransformer.fit``, which the card leaves unnamed; the one dataset for
        ``CrossEncoder.fit``; no label column where every label is 0) and losses, and the training arguments
        that fit builds, with Hugging Face's names and defaults."""
        args_class, in_a_dict = self._st_arguments_class()
        views = [DatasetRows(dataset, keeps_label_column(dataset)) for dataset in self.datasets]
        if in_a_dict:
            names = [f"_dataset_{i}" for i in range(1, len(views) + 1)]
            record_trainer_start(self.model, dict(zip(names, views)), None, dict(zip(names, self.losses)))
        else:
            record_trainer_start(self.model, views[0], None, self.losses[0])
        arguments = args_class(output_dir=str(self.output_dir), **self.st_arguments).to_dict()
        record_run_start(self.model, arguments, args_class(output_dir="unused").to_dict())

    def card_run_logs(self, best_step: int | None) -> None:
        """The card's training logs as that fit's trainer records them: the loss records and each
        evaluation's primary metrics (those at the epochs' ends too), by step, a step's loss first; no
        checkpoint is loaded at the end."""
        losses = [record for record in read_log(self.output_dir / METRICS_FILE) if "loss" in record]
        records = [(r["step"], 0, r) for r in losses] + [(r["step"], 1, r) for r in self.card_evaluations]
        history = [record for _, _, record in sorted(records, key=lambda item: item[:2])]
        evaluator = self.evaluations.evaluator if self.evaluations is not None else None
        record_run_logs(self.model, history, evaluator, None)

    def console(self) -> str | None:
        # that fit passes disable_tqdm=not show_progress_bar
        return BAR if self.run_args.show_progress_bar else PRINT

    def epoch_progress(self, state: dict[str, Any]) -> float:
        """The epochs done as Hugging Face's trainer counts them (not rounded: the evaluator's heading and
        the callback get that float)."""
        if not state["batch_in_epoch"] or self.reads_a_stream():
            return super().epoch_progress(state)
        return state["epoch"] + state["batch_in_epoch"] / self.batches_per_epoch(state["epoch"])

    def logged_learning_rate(self, run: Any) -> float:
        # the rate the last step ran with, as Hugging Face's trainer reads it before the schedule's step
        scheduler = run.scheduler
        return scheduler.base_lrs[0] * scheduler.lr_lambdas[0](scheduler.last_epoch - 1)

    def checkpoint_saving(self, path: Path) -> None:
        logging.getLogger(ST_TRAINER).info(f"Saving model checkpoint to {path}")

    def scheduled_evaluation(self, run: Any) -> None:
        """A step-based evaluation, logged as Hugging Face's trainer logs one without an eval dataset: the
        evaluator's metrics prefixed ``eval_``, then its running time and zero speeds."""
        step, epoch = run.state["step"], self.epoch_progress(run.state)
        if self.evaluations is None or not self.evaluations.due(step, run.total) or step == self.evaluated:
            return  # (the epoch's end asks again after its last step: that step was evaluated)
        self.evaluated = step
        started = time.perf_counter()
        results = self.evaluations.results(self.model, epoch, step)
        metrics = {k if k.startswith("eval_") else f"eval_{k}": v for k, v in results.items()}
        metrics["eval_runtime"] = round(time.perf_counter() - started, 4)
        metrics.update(eval_samples_per_second=0.0, eval_steps_per_second=0.0)
        run.callbacks.log(step, {**metrics, "epoch": epoch})
        self.card_evaluations.append({**metrics, "epoch": epoch, "step": step})
        self.evaluations.scored(self.model, metrics, epoch, step)

    def end_of_epoch(self, run: Any) -> None:
        # sentence-transformers' EvaluatorCallback: unlogged, after the epoch's last step's checkpoint
        if self.evaluations is not None:
            step, epoch = run.state["step"], self.epoch_progress(run.state)
            results = self.evaluations.results(self.model, epoch, step)
            metrics = {k if k.startswith("eval_") else f"eval_{k}": v for k, v in results.items()}
            self.card_evaluations.append({**metrics, "epoch": epoch, "step": step})
            self.evaluations.scored(self.model, results, epoch, step)

    def end_of_run(self, run: Any) -> None:
        """The run's summary, logged as Hugging Face's trainer logs it (the console drops ``total_flos``); a
        resumed run's counts the steps this call took, from the checkpoint on."""
        steps = run.state["step"] - run.first_step
        seconds = max(time.perf_counter() - self.started, 1e-9)
        args = self.run_args
        samples = args.max_steps * args.batch_size if args.max_steps else sum(map(len, self.datasets))
        samples *= 1 if args.max_steps else args.epochs
        samples *= steps / max(run.total, 1)  # Hugging Face's: the share of the run's steps taken now
        summary = {
            "train_runtime": round(seconds, 4),
            "train_samples_per_second": round(samples / seconds, 3),
            "train_steps_per_second": round(steps / seconds, 3),
            "total_flos": 0.0,
            "train_loss": run.mean_loss_since_start(),  # a resumed run's: its own steps
            "epoch": self.epoch_progress(run.state),
        }
        run.callbacks.log(run.state["step"], summary)


def fit(
    model: Any,
    train_objectives: Sequence[tuple[TextDataset, Loss]],
    *,
    evaluator: Evaluator | None = None,
    output_path: str | os.PathLike | None = None,
    evaluation_steps: int = 0,
    save_best_model: bool = True,
    callback: Callable[[float, float, int], Any] | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_save_steps: int = 500,
    checkpoint_save_total_limit: int = 0,
    resume_from_checkpoint: bool = False,
    **arguments: Any,
) -> TrainOutput:
    """sentence-transformers' classic ``model.fit(train_objectives=[(dataset or DataLoader, loss), ...],
    evaluator=..., epochs=1, ...)``, with its results: the other keyword arguments are the classic names
    (``optimizer_params``, ``warmup_steps``, ``scheduler``, ...) or :class:`TrainingArguments` fields, and a
    dataset may be a ``DataLoader`` of ``InputExample`` s (:mod:`sbert._training.fit_inputs`).

    As that fit: the evaluator runs every ``evaluation_steps`` steps and after each epoch
    (:class:`ClassicEvaluations`), ``callback(score, epoch, steps)`` after each evaluation; the model is
    saved to ``output_path`` whenever the evaluator's score improves (``save_best_model``), or after training
    without an evaluator, the evaluator's CSV files in ``output_path/eval``; checkpoints go to
    ``checkpoint_path`` every ``checkpoint_save_steps`` steps (none without it)."""
    if not train_objectives:
        raise InputError("train_objectives must hold at least one (dataset, loss) pair.")
    datasets, losses, loader_batch_sizes, samplers = {}, {}, [], []
    for i, (data, loss) in enumerate(train_objectives):
        samplers.append(loader_batch_sampler(data))  # NoDuplicatesDataLoader, SentenceLabelDataset
        dataset, batch_size = objective_dataset(data, i)  # also sentence-transformers' DataLoaders
        loader_batch_sizes.append(batch_size)
        name = dataset.name if dataset.name not in datasets else f"{dataset.name}_{i}"
        datasets[name], losses[name] = dataset, loss
    default_warmup = not {"warmup_steps", "warmup_ratio"} & set(arguments)
    every = evaluation_steps or arguments.pop("eval_steps", None)  # sbert's name for it too
    given = dict(arguments)
    arguments = fit_arguments(arguments, loader_batch_sizes, samplers)
    with contextlib.ExitStack() as cleanup:
        # the trainer's own records and checkpoints: checkpoint_path, else a folder removed afterwards
        scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="sbert-fit-")))
        checkpoints = (
            {"save_steps": checkpoint_save_steps, "save_total_limit": checkpoint_save_total_limit or None}
            if checkpoint_path is not None
            else {"save_steps": 0}
        )
        run = {"output_dir": str(checkpoint_path or scratch / "run"), "resume": resume_from_checkpoint}
        fixed = {"save_final_model": False, "load_best_model_at_end": False, **run, **checkpoints}
        args = TrainingArguments.from_dict({**arguments, **fixed})
        # sentence-transformers' fit spans its schedule over whole batches of the smallest objective
        whole_batches = min(len(d) // args.batch_size for d in datasets.values())
        schedule = args.max_steps or whole_batches * args.epochs * len(datasets)
        if default_warmup and schedule < CLASSIC_WARMUP_STEPS:
            warnings.warn(
                f"fit(): the classic default warm-up of {CLASSIC_WARMUP_STEPS} steps is longer than this "
                f"run's {schedule}, so the learning rate never reaches its peak (sentence-transformers' fit "
                "does the same); pass warmup_steps=..., e.g. 10 % of the steps.",
                UserWarning,
                stacklevel=3,
            )
        evaluations = None
        if evaluator is not None:
            saves = Path(output_path) if output_path is not None and save_best_model else None
            evaluations = ClassicEvaluations(evaluator, every, scratch / "eval", saves, callback)
        epochs, steps_per_epoch = given.get("epochs", 1), given.get("steps_per_epoch")
        st_arguments = st_fit_arguments(
            batch_size=args.batch_size,
            epochs=epochs,
            evaluation_steps=evaluation_steps,
            max_grad_norm=given.get("max_grad_norm", 1),
            use_amp=given.get("use_amp", False),
            show_progress_bar=given.get("show_progress_bar", True),
            batch_sampler=next((name for name in samplers if name is not None), "batch_sampler"),
            multi_dataset_batch_sampler="round_robin",
            max_steps=steps_per_epoch if steps_per_epoch and epochs == 1 else -1,
            save_strategy="steps" if checkpoint_path is not None else "no",
            save_steps=checkpoint_save_steps,
            save_total_limit=checkpoint_save_total_limit,
        )
        trainer = ClassicTrainer(
            model,
            datasets,
            losses,
            args=args,
            schedule_steps=schedule,
            evaluations=evaluations,
            evaluation_steps=evaluation_steps,
            st_arguments=st_arguments,
        )
        try:
            output = trainer.train()
        finally:
            if evaluations is not None:
                evaluations.keep_csv_files(output_path)
        if evaluator is None and output_path is not None:
            model.save(output_path)  # as that fit: the trained model, without an evaluator to pick one
        return output
