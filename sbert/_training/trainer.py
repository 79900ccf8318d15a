"""Trainer: siamese fine-tuning of a SentenceTransformer with one or more (dataset, loss) objectives.

One step: take the next ``gradient_accumulation_steps`` batches (the epoch's plan: ``samplers``), for each
tokenize the text columns, run the loss and back-propagate; (sum gradients across processes,) clip, take an
optimizer step, advance the learning-rate schedule (``optim``); then log (``metrics.jsonl``, TensorBoard:
``reporting``), call the callbacks (``callbacks``), evaluate and checkpoint as the arguments ask. Everything
random comes from ``seed``: batch order from a generator seeded per epoch, dropout from torch's global
generator, whose state every checkpoint saves, so a resumed run ends with the same weights as an
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import shutil
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._compat import with_prompt
from .._errors import BackendUnavailableError, InputError, UnknownMetricError, log_once
from .._evaluation.base import Evaluator, record_results
from .._format.card_data import card_data_for
from .._io.atomic import atomic_write_bytes
from .._io.plots import check_plot_path, training_curve
from .._losses import precision
from .._losses.base import Loss, loss_total
from .._losses.column_merge import length_groups_with_dropout
from .._losses.user_loss import as_loss
from .._modules.router import TEXT, Router
from . import checkpoint, distributed, optim, reporting, run_settings, trainer_state
from .arguments import (
    TrainingArguments,
    call_loss,
    check_pair_prompts,
    column_prompts,
    column_tasks,
    pair_prompt,
    prompted_pairs,
    sampler_name,
)
from .batch_plan import EpochPlans, draw_loader_seed
from .callbacks import Callbacks
from .card_record import all_losses, loss_citations, record_own_run_logs, record_own_run_start
from .data import TextDataset
from .model_init import is_sbert_model, put_model

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "training_curve.png"
LABELS_FILE = "label_mapping.json"
EVAL_FILE = "eval_results.json"
# What a run writes in its output_dir, besides checkpoint-<step>/ (and the hidden temporaries of all these).
RUN_FILES = (METRICS_FILE, CURVE_FILE, LABELS_FILE, EVAL_FILE, "best", "final", reporting.FOLDER)
# The arguments that fix the plan of batches and steps: a run resumes only with the values it was saved with.
PLAN_ARGUMENTS = (
    "batch_sampler",
    "multi_dataset_batch_sampler",
    "gradient_accumulation_steps",
    "lr_scheduler_type",
    "optim",
)


@dataclass
class _Run:
    """What one call of :meth:`Trainer.train` works with, besides the trainer's own fields."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: Any  # a GradScaler for fp16, else None
    params: list[torch.nn.Parameter]  # every trained parameter, each once
    clipped: list[torch.nn.Parameter]  # the model's (not the losses' own), whose gradient norm is clipped
    total: int  # the step the run ends at
    callbacks: Callbacks
    tensorboard: reporting.TensorBoardLog | None = None
    # the losses as the run starts (the card's: a schedule, SpladeLoss's warm-up, changes them as it goes)
    losses_described: str = ""
    state: dict[str, Any] = field(  # saved in checkpoints; a resumed run takes the checkpoint's
        default_factory=lambda: {
            "step": 0,
            "epoch": 0,
            "batch_in_epoch": 0,
            "best_metric": None,
            "best_step": None,
            "loss_sum": 0.0,
        }
    )
    window: list[float] = field(default_factory=list)  # the step losses since the last logged mean
    eval_results: dict[str, float] = field(default_factory=dict)  # the latest evaluation's
    eval_metrics: dict[str, float] = field(default_factory=dict)  # the same, as on_evaluate got them
    evaluated_at: int | None = None  # the step of the latest evaluation
    first_step: int = 0  # the step the run starts from (a resumed run's checkpoint's)
    first_loss_sum: float = 0.0  # the losses summed up to first_step (the checkpoint's)
    finished: bool = False  # the steps done: the run's end (best weights, final evaluation) under way
    last_in_step: bool = True  # whether the batch being run is its step's last (accelerate's sync_gradients)
    grad_norm: Any = None  # the model's gradient norm before clipping at the latest step (a 0-d tensor)
    carried: float = 0.0  # the loss of batches whose gradients wait for the next step, for its record
    # the named parts of losses that give them (SpladeLoss: loss_components): this step's (tensors, with the
    # count of batches that gave them), and their sums since the last logged record (with that count)
    step_parts: dict[str, Any] = field(default_factory=dict)
    step_part_batches: int = 0
    parts: dict[str, float] = field(default_factory=dict)
    part_batches: int = 0
    part_names: dict[str, None] = field(default_factory=dict)  # every part seen in the run, in order

    @property
    def on_metric(self) -> bool:
        """Whether the schedule moves on the evaluations' metric (a plateau's), not after each step."""
        return optim.steps_on_metric(self.scheduler)

    def mean_loss_since_start(self) -> float:
        """The mean loss of the steps this ``train()`` took (a resumed run's since its checkpoint): Hugging
        Face's ``train_loss``, which divides by 0.001 where it took none (0.0, unless batches waited for a
        step that never came: see ``_carry``)."""
        steps = self.state["step"] - self.first_step
        return (self.state["loss_sum"] - self.first_loss_sum) / max(steps, 0.001)


@dataclass
class TrainOutput:
    global_step: int
    training_loss: float  # mean loss over the run's steps
    best_metric: float | None
    best_step: int | None
    eval_results: dict[str, float]
    output_dir: Path
    epoch: float = 0.0  # the epochs run, a fraction for a part of one (as the records give it)


class Trainer:
    """Fine-tune ``model`` on datasets with losses; evaluate, checkpoint, resume and record the run.

    Args:
        model: a :class:`sbert.SentenceTransformer` on the torch backend in fp32 (mixed precision is
            ``args.precision``).
        train_data: a :class:`TextDataset` (see :func:`sbert.load_dataset`), or a dict name → dataset.
        loss: a loss, or a dict name → loss with the same names as ``train_data``. A loss may give its parts
            by name (``SpladeLoss``: ``{"base_loss": ..., "document_regularizer_loss": ...}``): they are
            summed, and each part's mean is logged beside ``loss``.
        args: :class:`TrainingArguments`.
        evaluator: run every ``args.eval_steps`` steps and at the end; its primary metric picks the best
            checkpoint.
        callbacks: objects with ``on_step(trainer, step, logs)``, ``on_evaluate(trainer, step, metrics)``
            and/or ``on_save(trainer, step, path)``, or Hugging Face ``TrainerCallback`` s (see
            :mod:`sbert._training.callbacks`).

    Every dataset is checked against its loss here (columns, labels), before any training.

    Example::

        from sbert import (CosineSimilarityLoss, EmbeddingSimilarityEvaluator, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer()
        train = load_dataset(
            "stsb/train.tsv", columns=["sentence1", "sentence2"], label="score", score_range=(0, 5)
        )
        dev = load_dataset("stsb/dev.tsv", columns=["sentence1", "sentence2"], label="score")
        evaluator = EmbeddingSimilarityEvaluator(*dev.columns.values(), dev.labels, name="sts-dev")
        args = TrainingArguments(output_dir="runs/stsb", batch_size=16, learning_rate=2e-5, warmup_ratio=0.1)
        Trainer(model, train, CosineSimilarityLoss(model), args=args, evaluator=evaluator).train()
    """

    # a user's data collator between a batch's rows and its loss (sentence-transformers' data_collator=):
    # collate(dataset, rows, name) -> (inputs, labels); None: the trainer's own batches
    collate: Callable[[TextDataset, np.ndarray, str], tuple[list[Any], Any]] | None = None
    # a loss computed another way than by the trainer's losses (sentence-transformers' compute_loss hook):
    # batch_loss(objective, rows) -> (the loss, its named parts or None); None: the losses on the batches
    batch_loss: Callable[[int, np.ndarray], tuple[torch.Tensor, Mapping[str, Any] | None]] | None = None
    # a batch's whole forward and backward run another way (Hugging Face's training_step hook):
    # batch_step(objective, rows, divisor) back-propagates the loss of rows divided by divisor (the batches
    # in the step, over this process's share of the rows) -> (that loss, its named parts or None)
    batch_step: Callable[[int, np.ndarray, float], tuple[torch.Tensor, Any]] | None = None
    # an optimizer made before train() (Hugging Face's create_optimizer), which it then uses; None: each run
    # makes its own (a schedule made before is not used: Hugging Face's train() makes it anew for the run)
    optimizer: torch.optim.Optimizer | None = None
    lr_scheduler: Any = None
    # the batches of each epoch given collated by a data loader of the user's (Hugging Face's overridden
    # get_train_dataloader): loader_epochs[epoch] is a sequence of (0, batch), each batch run whole by
    # batch_step on every process; None: the planned rows of each epoch
    loader_epochs: Any = None
    current_run: _Run | None = None  # the run train() is in, for what users call during it (log())
    training_refusal: str | None = None  # why train() refuses data it was given to evaluate with only
    log_each_epoch: bool = False  # log the loss at each epoch's end (Hugging Face's logging_strategy="epoch")
    checks_end_after_step: bool = False  # the run's end is checked after each step only (see _at_end)
    # the dense losses keep their length groups with dropout on (faster; a seed's dropout masks then differ
    # from sentence-transformers', whose trainers and fit set this False: losses.base.embed_columns)
    length_groups_with_dropout: bool = True
    # sends the Hugging Face callbacks' events instead of the run (see Callbacks' dispatch); None: the run
    callback_dispatch: Callable[..., Any] | None = None

    def __init__(
        self,
        model: Any,
        train_data: TextDataset | Mapping[str, TextDataset],
        loss: Loss | Mapping[str, Loss],
        *,
        args: TrainingArguments,
        evaluator: Evaluator | None = None,
        callbacks: Sequence[Any] | None = None,
        schedule_steps: int | None = None,
    ) -> None:
        # schedule_steps: the steps the learning-rate schedule spans (default: the run's); sentence-
        # transformers' classic CrossEncoder.fit counts whole batches only
        self.schedule_steps = schedule_steps
        check_trainable(model)
        if not isinstance(args, TrainingArguments):
            raise InputError(f"args must be TrainingArguments, got {type(args).__name__}")
        datasets = dict(train_data) if isinstance(train_data, Mapping) else {train_data.name: train_data}
        losses = dict(loss) if isinstance(loss, Mapping) else dict.fromkeys(datasets, loss)
        losses = {name: as_loss(value, model) for name, value in losses.items()}  # a user's nn.Module too
        if set(datasets) != set(losses):
            raise InputError(
                f"train_data and loss must name the same datasets: {sorted(datasets)} vs {sorted(losses)}"
            )
        for name, dataset in datasets.items():
            if not isinstance(dataset, TextDataset):
                raise InputError(
                    f"{name}: expected a TextDataset (sbert.load_dataset), got {type(dataset).__name__}"
                )
            if not isinstance(losses[name], Loss):
                raise InputError(
                    f"{name}: expected an sbert loss or a torch.nn.Module whose forward(features, labels) "
                    f"returns the loss, got {type(losses[name]).__name__}"
                )
            _check_pairing(model, losses[name], dataset, dataset.source or name, args)
        if args.precision == "fp16" and not str(model.device).startswith("cuda"):
            raise InputError("precision='fp16' needs a GPU; use 'bf16' on the CPU.")
        self.model, self.run_args, self.evaluator = model, args, evaluator
        self.names = list(datasets)
        self.datasets = [datasets[n] for n in self.names]
        self.losses = [losses[n] for n in self.names]
        self.output_dir = Path(args.output_dir)
        self.device = torch.device(model.device)
        # A loss's own weights and buffers (a pos_weight, a head) go to the model's device, as
        # sentence-transformers' trainer puts them.
        for loss_fn in self.losses:
            loss_fn.to(self.device)
        self.plot = args.plot  # turned off, with a warning, when matplotlib is missing
        self.callbacks = list(callbacks or [])
        # the batches of each epoch, made once; building the sampler checks the data fits it (labels for
        # group_by_label) before any training; none without datasets (a trainer made to evaluate only)
        self._plans = (
            EpochPlans(
                self.datasets,
                args.batch_size,
                args.seed,
                args.batch_sampler,
                args.multi_dataset_batch_sampler,
                drop_last=args.drop_last,
                data_seed=args.data_seed,
            )
            if self.datasets
            else None
        )
        # Datasets given by name are told apart by it in args.prompts and args.router_mapping, as
        # sentence-transformers' are.
        named = [
            (name if isinstance(train_data, Mapping) else None, d.column_names)
            for name, d in datasets.items()
        ]
        # a cross-encoder loss's prompt goes before the first text of each pair (its first column's)
        self.prompts = [
            _pair_prompts(args.prompts, name, columns)
            if getattr(loss_fn, "takes_texts", False)
            else self.dataset_prompts(args.prompts, name, columns)
            for (name, columns), loss_fn in zip(named, self.losses)
        ]
        self.tasks = self._column_tasks(args.router_mapping, named)
        self.prompt_lengths = [
            {} if getattr(loss_fn, "takes_texts", False) else self._prompt_lengths(prompts, tasks)
            for prompts, tasks, loss_fn in zip(self.prompts, self.tasks, self.losses)
        ]

    @property
    def args(self) -> Any:
        """The run's :class:`TrainingArguments` (``run_args``; a subclass may show its users others)."""
        return self.run_args

    @args.setter
    def args(self, value: Any) -> None:
        self.run_args = value

    def dataset_prompts(self, prompts: Any, dataset: str | None, columns: list[str]) -> dict[str, str]:
        """The prompt of each column of a training dataset (see :func:`column_prompts`)."""
        return column_prompts(prompts, dataset, columns)

    def _column_tasks(
        self,
        mapping: dict[str, Any] | None,
        datasets: list[tuple[str | None, list[str]]],
        *,
        strict: bool = True,
    ) -> list[dict[str, str]]:
        """Each dataset's column -> task (a Router's route), checked against the model's Routers. A model
        without one takes the mapping unchecked, as sentence-transformers' collator does: its features
        carry the task, which its modules ignore. ``strict``: see :func:`column_tasks` (off for evaluation
        data)."""
        modules = self.model if hasattr(self.model, "__iter__") else []  # a CrossEncoder has no modules
        routers = [(i, m) for i, m in enumerate(modules) if isinstance(m, Router)]
        if not routers:
            return column_tasks(mapping, datasets, strict=False)
        if not mapping:  # sentence-transformers' trainer refuses this too
            raise InputError(
                "You are using a Router module in your model, but you did not provide a `router_mapping` in "
                f"the training arguments. The Router's tasks are {_router_tasks(routers[0][1])}: set "
                "TrainingArguments(router_mapping={column: task}) to send each text column down its route, "
                "e.g. router_mapping={'anchor': 'query', 'positive': 'document'}."
            )
        tasks = column_tasks(mapping, datasets, strict=strict) if datasets else []
        for (name, columns), column_task in zip(datasets, tasks):
            for column in columns:
                for index, router in routers:
                    _check_route(router, index, column_task.get(column), column, name)
        return tasks

    def _prompt_lengths(self, prompts: dict[str, str], tasks: dict[str, str]) -> dict[str, int]:
        """The token count of each column's prompt (on its route's tokenizer), where a Pooling of the model
        leaves prompts out."""
        lengths = {column: self.model.prompt_length(p, tasks.get(column)) for column, p in prompts.items()}
        return {column: n for column, n in lengths.items() if n}

    # ------------------------------------------------------------------ the plan of batches

    def add_callback(self, callback: Any) -> None:
        """Add a callback (see ``callbacks`` of the constructor), as Hugging Face's ``add_callback``."""
        self.callbacks.append(callback)

    def callback_setup(self, total: int) -> tuple[Any, dict[str, Any], Callable[[], dict[str, Any]]]:
        """What Hugging Face callbacks get: the arguments, more fields of the state of a run of ``total``
        steps, and the keywords of each event."""
        args = self.run_args
        numbers = {"logging_steps": args.logging_steps, "train_batch_size": args.batch_size}
        numbers["eval_steps"] = args.eval_steps or args.logging_steps  # Hugging Face's default
        if args.save_steps:  # (else Hugging Face's default, 500)
            numbers["save_steps"] = args.save_steps
        numbers["num_train_epochs"] = (
            math.ceil(total / max(self.steps_per_epoch(), 1)) if args.max_steps else args.epochs
        )
        return args, numbers, self.callback_kwargs

    def callback_kwargs(self) -> dict[str, Any]:
        """The keywords Hugging Face's trainer passes each callback event."""
        run = self.current_run
        return {
            "model": self.model,
            "optimizer": run.optimizer if run is not None else self.optimizer,
            "lr_scheduler": run.scheduler if run is not None else None,
        }

    def epoch_batches(self, epoch: int) -> list[tuple[int, np.ndarray]]:
        """The ``(objective, row indices)`` batches of ``epoch``, in order; depends only on the seed, the
        epoch and the sampler arguments (a sampler of the user's aside), and is sentence-transformers'
        trainer's for the same seed (see :mod:`sbert._training.batch_plan`), so the two trainers see the same
        batches."""
        if self.loader_epochs is not None:
            return self.loader_epochs[epoch]
        if self._plans is None:
            raise InputError(
                "This trainer has no training data: pass train_data, a dataset or a dict of them."
            )
        return self._plans[epoch]

    def check_training_data(self) -> None:
        """Refuse to train on what only evaluates (a dict of datasets with a stream among them), as
        sentence-transformers' trainer refuses it when training starts."""
        refusal = self.training_refusal or (self._plans.refusal if self._plans is not None else None)
        if refusal:
            raise InputError(refusal)

    def batches_per_epoch(self, epoch: int = 0) -> int:
        return len(self.epoch_batches(epoch))

    def planned_batches(self, epoch: int = 0) -> int:
        """The batches ``epoch`` is planned with, which size the run, its schedule and the epochs logged:
        sbert's own Trainer counts those the sampler yields (a no-duplicates sampler may yield fewer than
        its ``len``); the sentence-transformers trainers take the sampler's ``len``, as Hugging Face's."""
        return self.batches_per_epoch(epoch)

    def steps_after(self, epoch: int, batches: int) -> bool:
        """Whether the group of batches that ends ``epoch``'s first ``batches`` ends in an optimizer step:
        always, in sbert's own Trainer (the sentence-transformers trainers: see theirs)."""
        return True

    def steps_per_epoch(self, epoch: int = 0) -> int:
        """Optimizer steps in ``epoch``: a last step of fewer batches ends it, as Hugging Face's trainer."""
        return math.ceil(self.planned_batches(epoch) / self.run_args.gradient_accumulation_steps)

    def total_steps(self) -> int:
        total, limit = 0, self.run_args.max_steps
        for epoch in range(self.run_args.epochs):
            if limit and total >= limit:
                break
            total += self.steps_per_epoch(epoch)
        return min(total, limit) if limit else total

    def epoch_progress(self, state: dict[str, Any]) -> float:
        """The epochs done so far as a fraction (0.75: three quarters of the first), as the records of
        ``metrics.jsonl`` give it (sentence-transformers' trainer logs the same number)."""
        if not state["step"]:  # before the first step, Hugging Face's state holds an int
            return 0
        if self.reads_a_stream():
            return round(self.stream_progress(state["epoch"], state["batch_in_epoch"]), 4)
        if not state["batch_in_epoch"]:  # an epoch's start: no need to plan it (a user's sampler draws)
            return float(state["epoch"])
        return round(state["epoch"] + state["batch_in_epoch"] / self.planned_batches(state["epoch"]), 4)

    def reads_a_stream(self) -> bool:
        return self._plans is not None and self._plans.passes is not None

    def stream_progress(self, epoch: int, batch: int) -> float:
        """:meth:`epoch_progress` on a stream, as Hugging Face's trainer counts it without a length: the
        batches of the epoch over ``max_steps`` steps' batches, and a pass's end not yet the next epoch."""
        if not batch and epoch:
            epoch, batch = epoch - 1, self.batches_per_epoch(epoch - 1)
        per_epoch = self.total_steps() * self.run_args.gradient_accumulation_steps
        return epoch + batch / per_epoch

    # ------------------------------------------------------------------ optimizer and schedule

    def _parameters(self) -> list[torch.nn.Parameter]:
        """The model's parameters, then each loss's own (e.g. a classifier), each once."""
        seen, params = set(), []
        for p in [*self.model.parameters(), *(p for loss in self.losses for p in loss.parameters())]:
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                params.append(p)
        return params

    def _optimizer(self) -> torch.optim.Optimizer:
        named = [([f"model.{n}"], p) for n, p in self.model.named_parameters()]
        for loss in self.losses:
            named += [([n], p) for n, p in loss.named_parameters() if not n.startswith("model.")]
        seen, params = set(), []
        for names, p in named:
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                params.append((optim.sentence_transformers_names(names[0]), p))
        rates = optim.learning_rates(params, self.run_args.learning_rate_mapping, self.run_args.learning_rate)
        groups: dict[tuple[float, bool], list[torch.nn.Parameter]] = {}
        for (names, p), rate in zip(params, rates):
            name = names[0]
            decays = not (name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name)
            groups.setdefault((rate, decays), []).append(p)
        default = self.run_args.learning_rate
        ordered = [(default, True), (default, False), *(k for k in groups if k[0] != default)]
        param_groups = [
            {"params": groups.get(key, []), "weight_decay": self.run_args.weight_decay if key[1] else 0.0}
            | ({} if key[0] == default else {"lr": key[0]})
            for key in dict.fromkeys(ordered)
        ]
        args = self.run_args
        betas = (args.adam_beta1, args.adam_beta2)
        return optim.optimizer(
            args.optim, param_groups, default, betas=betas, eps=args.adam_epsilon, options=args.optim_args
        )

    def run_optimizer(self, total: int) -> tuple[torch.optim.Optimizer, Any]:
        """The optimizer (the one made before :meth:`train`, else a new one) and schedule of a run of
        ``total`` steps."""
        optimizer = self.optimizer if self.optimizer is not None else self._optimizer()
        return optimizer, self._scheduler(optimizer, total)

    def _scheduler(
        self, optimizer: torch.optim.Optimizer, total: int
    ) -> torch.optim.lr_scheduler.LRScheduler:
        warmup = (
            self.run_args.warmup_steps
            if self.run_args.warmup_steps is not None
            else math.ceil(total * self.run_args.warmup_ratio)
        )
        args = self.run_args
        total = self.schedule_steps or total
        return optim.scheduler(optimizer, args.lr_scheduler_type, warmup, total, args.lr_scheduler_kwargs)

    # ------------------------------------------------------------------ what callbacks and logs see

    def logged_learning_rate(self, run: _Run) -> float:
        """The learning rate a loss record gives: the next step's (sentence-transformers' trainers: the one
        the last step ran with)."""
        return run.scheduler.get_last_lr()[0]

    def evaluation_record(
        self, results: dict[str, float], seconds: float
    ) -> tuple[dict[str, float], dict[str, float]]:
        """An evaluation's metrics as logged (and given to the callbacks' ``on_log``), and as the callbacks'
        ``on_evaluate`` gets them (``seconds``: its running time)."""
        return results, results

    def evaluation_records(
        self, where: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[dict[str, float], dict[str, float], dict[str, float]]]:
        """One evaluation's records, each logged and given to the callbacks in turn: its results, and
        :meth:`evaluation_record`'s two forms of them (one record: the evaluator's); ``where``: the
        evaluator's other arguments (:meth:`evaluator_where`)."""
        started = time.perf_counter()
        results = self.evaluator(self.model, **(where or {}))
        yield results, *self.evaluation_record(results, time.perf_counter() - started)

    def evaluator_where(self, step: int, epoch: float) -> dict[str, Any]:
        """The keyword arguments an evaluation during training gives the evaluator besides the model (none:
        sbert's evaluators need no output path, epoch or step)."""
        return {}

    def checkpoint_saving(self, path: Path) -> None:
        """Called on the main process before the checkpoint of ``path`` is written."""

    def write_checkpoint_model(self, folder: Path) -> None:
        """Write the model's files into a checkpoint's ``folder``: its temporary one, or its own path where
        :meth:`checkpoint_model_in_place`."""
        self.model.save(folder)

    def checkpoint_model_in_place(self) -> bool:
        """Whether :meth:`write_checkpoint_model` gets the checkpoint's own path (not made yet), not its
        temporary folder; the rest of the checkpoint is still written aside and renamed into place."""
        return False

    def callback_best(self, state: dict[str, Any]) -> tuple[float | None, int | None]:
        """The best metric and its step as the callbacks' state holds them."""
        return state["best_metric"], state["best_step"]

    def override_model_in_loss(self, loss: Any, model: Any) -> Any:
        """``model`` in place of the model ``loss`` holds as ``model``, and in each module inside it (through
        this method, so a subclass's override sees each), as sentence-transformers' trainer puts a fresh
        model into its losses; returns ``loss``."""
        put_model(loss, model)
        for name, child in list(loss.named_children()):
            # not the model itself, nor the torch modules a loss lists for its model
            if getattr(loss, name, None) is child and not is_sbert_model(child):
                setattr(loss, name, self.override_model_in_loss(child, model))
        return loss

    @property
    def keeps_best_copy(self) -> bool:
        """Whether ``load_best_model_at_end`` keeps the best weights in ``best/`` as they are evaluated (a
        subclass may end with a best checkpoint's instead: :meth:`best_weights`)."""
        return True

    def best_weights(self, run: _Run) -> Path | None:
        """The folder whose weights the run ends with (``load_best_model_at_end``), or None to keep the last
        step's: ``best/`` where another step than the last scored best."""
        state, best = run.state, self.output_dir / "best"
        if self.evaluator is None or not self.run_args.load_best_model_at_end or not best.is_dir():
            return None
        return None if state["best_step"] in (None, state["step"]) else best

    def final_evaluation(self, run: _Run, reloaded: bool) -> dict[str, float]:
        """The evaluation of the weights the run ends with (the last step's where those are the weights, not
        ``reloaded``), recorded in the model card and ``eval_results.json``."""
        last_step = run.evaluated_at == run.state["step"] and not reloaded
        results = run.eval_results if last_step and run.eval_results else self.evaluator(self.model)
        record_results(self.model, results, self.output_dir / EVAL_FILE)
        return results

    def console(self) -> str | None:
        """How each log record is shown on the console (a :mod:`console` mode): not at all, as sbert's own
        records are in ``metrics.jsonl``."""
        return None

    def scheduled_evaluation(self, run: _Run) -> None:
        """The evaluation the control flags ask for after a step (or an epoch): after its loss record,
        before its checkpoint, as Hugging Face's trainer orders them."""
        if run.callbacks.wants("should_evaluate") and self.evaluator is not None:
            run.eval_results, run.evaluated_at = self._evaluate(run), run.state["step"]

    def evaluates_on_start(self, run: _Run) -> bool:
        """Whether ``eval_on_start`` evaluates as this run starts: sbert's own trainer only before the first
        step (a resumed run's starting point was evaluated when it was reached)."""
        return run.state["step"] == 0

    def evaluation_at_start(self, run: _Run) -> None:
        """The evaluation before the first step (``eval_on_start``): the starting point, logged only."""
        if self.evaluator is not None:
            self._evaluate(run, candidate=False)

    def end_of_epoch(self, run: _Run) -> None:
        """Called after the callbacks' ``on_epoch_end``, before the epoch's end is logged, evaluated and
        saved as the flags ask (sentence-transformers' classic fit evaluates here)."""

    def empty_epoch(self, run: _Run) -> None:
        """Called where an epoch has no batch (so the run stops at its end): a run of such epochs has no
        step to take, so sbert's own trainer never starts one (sentence-transformers' warn)."""

    def mode_after_run(self) -> None:
        """The model's mode as the run ends: sbert's own trainer leaves it ready to encode (eval); Hugging
        Face's loop, and sentence-transformers' fit, as the last step or evaluation left it."""
        self.model.eval()

    def end_of_run(self, run: _Run) -> None:
        """Called when the last step is done, before the best weights come back and the callbacks'
        ``on_train_end`` (sentence-transformers' trainers log the run's summary here)."""

    def end_checkpoints(self, run: _Run) -> None:
        """Called after the run's end, before the callbacks' ``on_train_end``: sbert's own trainer keeps the
        checkpoints as rotated (sentence-transformers' trainers keep the best one only with a limit of 1)."""

    def seed_run(self) -> None:
        """Seed the global generators as a run starts: each of sbert's runs starts from ``seed`` (with
        ``full_determinism``, deterministic kernels from here on)."""
        seed_everything(self.run_args.seed)
        if self.run_args.full_determinism:
            run_settings.enable_full_determinism()

    def training_bar(self, total: int, initial: int, enabled: bool) -> Any:
        """The run's progress bar, from step ``initial`` of ``total``: sbert's reads "Training", in steps."""
        return _progress(total, initial, enabled)

    def show_step(self, bar: Any, step: int, loss: float) -> None:
        """Move the bar on to ``step``, just run: sbert's shows its loss."""
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")

    # ------------------------------------------------------------------ the loop

    def train(self) -> TrainOutput:
        """Run the training; returns the step count, mean loss, best metric and final evaluation."""
        self.check_training_data()
        distributed.init_from_environment(str(self.device))
        self.seed_run()
        args = self.run_args
        if args.gradient_checkpointing:
            enable_gradient_checkpointing(self.model, args.gradient_checkpointing_kwargs)
        compiling = run_settings.compiled(self.model, args.torch_compile_backend, args.torch_compile_mode)
        grouping = (
            length_groups_with_dropout() if self.length_groups_with_dropout else contextlib.nullcontext()
        )
        with compiling if args.torch_compile else contextlib.nullcontext(), grouping:
            return self._run()

    def _run(self) -> TrainOutput:
        """The run itself: the steps, evaluations and checkpoints, then the end of the run."""
        main = distributed.rank() == 0
        self.card_run_start()
        run = self.current_run = self._start_run()
        bar = self.training_bar(run.total, run.state["step"], self.run_args.show_progress_bar and main)
        # the model only, as Hugging Face's trainer: what a loss holds besides it (a contrastive-tension copy,
        # a TSDAE decoder, a user loss's teacher) keeps its own mode (a from_pretrained encoder: no dropout)
        self.model.train()
        try:
            run.callbacks.train_begin(run.state["step"], self.epoch_progress(run.state))
            if self.run_args.eval_on_start and self.evaluates_on_start(run):
                self.evaluation_at_start(run)
            # a callback may stop the run, or the epoch (the last one's stop ends the run)
            while (
                not self._at_end(run) and run.state["epoch"] < self.run_args.epochs and not run.callbacks.stop
            ):
                self._train_epoch(run, bar)
            if run.window and main and self.run_args.log_last_steps:
                self._log_loss(run)
            self.end_of_run(run)
            bar.close()  # after the run's summary, which a console shows above the bar
            run.finished = True
            output = self._finish(run)
            if main:
                self.end_checkpoints(run)
            run.callbacks.train_end(run.state["step"], self.epoch_progress(run.state))
            return output
        finally:
            self.current_run = None
            if run.tensorboard is not None:
                run.tensorboard.close()

    def _start_run(self) -> _Run:
        """The optimizer, schedule and state of a new run, or of the checkpoint it resumes; the log begun."""
        params = self._parameters()
        # Clipped: the model's gradients only, as sentence-transformers' (Hugging Face's) trainer: a loss's
        # own head (SoftmaxLoss's classifier) is not. Its gradient is as large as the encoder's at the start
        # of NLI training, so clipping both would shrink the encoder's steps relative to that trainer.
        model_ids = {id(p) for p in self.model.parameters()}
        clipped = [p for p in params if id(p) in model_ids]
        distributed.broadcast_parameters(params)
        total = self.total_steps()
        optimizer, scheduler = self.run_optimizer(total)
        scaler = torch.amp.GradScaler("cuda") if self.run_args.precision == "fp16" else None
        main = distributed.rank() == 0
        args, state, event_kwargs = self.callback_setup(total)
        callbacks = Callbacks(
            self.callbacks,
            args,
            total,
            main=main,
            state=state,
            event_kwargs=event_kwargs,
            console=self.console(),
            dispatch=self.callback_dispatch,
        )
        run = _Run(optimizer, scheduler, scaler, params, clipped, total, callbacks)
        run.losses_described = "; ".join(
            f"{n}: {loss.describe()}" for n, loss in zip(self.names, self.losses)
        )
        if main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.remove_partial(self.output_dir)
            self.plot = self.plot and _can_plot(self.output_dir / CURVE_FILE)
        resumed = self._resume(run)
        run.first_step, run.first_loss_sum = run.state["step"], run.state["loss_sum"]
        if main:
            step = run.state["step"] if resumed else 0
            self._start_log(step, run.callbacks.state.log_history if resumed else [])
            self._write_label_mappings()
            if reporting.wanted(self.run_args.report_to):
                run.tensorboard = reporting.TensorBoardLog(self.output_dir, step)
            elif not step:
                reporting.remove(
                    self.output_dir
                )  # an earlier run's curves beside this run's log would mislead
        distributed.barrier()
        return run

    def _train_epoch(self, run: _Run, bar: Any) -> None:
        """The current epoch's batches not yet run (all, unless resumed mid-epoch), up to the last step or a
        callback's stop; then the epoch's end (also where the run stops inside it, as Hugging Face's)."""
        state, callbacks = run.state, run.callbacks
        epoch = state["epoch"]
        batches = self.epoch_batches(epoch)
        if state["batch_in_epoch"] == 0 and self.loader_epochs is None:  # (a user's loader draws its own)
            draw_loader_seed()  # as the epoch's DataLoader there
        callbacks.epoch_begin()
        if not batches:  # an epoch of no batch: the run stops at its end (logged, evaluated, saved as asked)
            self.empty_epoch(run)
            callbacks.flags(should_training_stop=True)
        accumulate = self.run_args.gradient_accumulation_steps
        # a checkpoint is written after an optimizer step only, so batch_in_epoch starts a group of batches
        for start in range(state["batch_in_epoch"], len(batches), accumulate):
            if self._at_end(run):
                break
            group = batches[start : start + accumulate]
            callbacks.step_begin()
            if not self.steps_after(epoch, start + len(group)):  # the gradients wait for the next step
                self._carry(group, run)
                state["epoch"], state["batch_in_epoch"] = epoch + 1, 0
                break
            value = self._step(group, run)
            state["step"] += 1
            state["batch_in_epoch"] = start + len(group)
            state["loss_sum"] += value
            run.window.append(value + run.carried)
            run.carried = 0.0
            self.show_step(bar, state["step"], value)
            if state["batch_in_epoch"] == len(batches):  # checkpoints of the epoch's end resume at the next
                state["epoch"], state["batch_in_epoch"] = epoch + 1, 0
            callbacks.flags(**self._step_schedule(run))
            if distributed.rank() == 0:
                logs = {"loss": value, "learning_rate": run.scheduler.get_last_lr()[0]}
                callbacks.step(self, state["step"], {**logs, "epoch": self.epoch_progress(state)})
            self._log_evaluate_save(run)
            if callbacks.wants("should_epoch_stop") or callbacks.stop:
                break
        cut_short = callbacks.wants("should_epoch_stop") and state["batch_in_epoch"]
        end_evaluates = self.evaluator is not None and not self.run_args.eval_steps
        callbacks.flags(
            should_log=self.log_each_epoch,
            should_evaluate=end_evaluates and self.run_args.eval_delay <= self.epoch_progress(state),
            should_save=self.run_args.save_steps is None,
        )
        callbacks.epoch_end(state["step"], self.epoch_progress(state))
        self.end_of_epoch(run)
        self._log_evaluate_save(run)
        if cut_short:  # a callback ended the epoch: the next one starts, as in Hugging Face's trainer
            state["epoch"], state["batch_in_epoch"] = epoch + 1, 0

    def _at_end(self, run: _Run) -> bool:
        """Whether the run has taken its steps, asked before each step. A trainer that
        ``checks_end_after_step`` (Hugging Face's) asks only after a step of this ``train()``: one resumed
        from a checkpoint at or past the run's end, inside an epoch, takes one more step there, then stops
        (and saves, as its last)."""
        if self.checks_end_after_step and run.state["step"] == run.first_step:
            return False
        return run.state["step"] >= run.total

    def _step_schedule(self, run: _Run) -> dict[str, bool]:
        """What the arguments ask for after the step just run: the control flags Hugging Face's
        ``DefaultFlowCallback`` raises. With an eval interval, the last step is evaluated too, as there;
        eval_delay counts steps then (else epochs, at the epoch's end)."""
        args, step, last = self.run_args, run.state["step"], run.state["step"] >= run.total
        return {
            "should_log": step % args.logging_steps == 0 or (args.logging_first_step and step == 1),
            "should_evaluate": self.evaluator is not None
            and bool(args.eval_steps)
            and (step % args.eval_steps == 0 or last)
            and args.eval_delay <= step,
            "should_save": bool(args.save_steps) and (step % args.save_steps == 0 or last),
            "should_training_stop": last,
        }

    def _log_evaluate_save(self, run: _Run) -> None:
        """Log, evaluate and checkpoint as the control flags ask (the schedule's, or a callback's), the main
        process's flags on every process."""
        callbacks = run.callbacks
        _share_flags(callbacks)
        if callbacks.wants("should_log") and run.window and distributed.rank() == 0:
            self._log_loss(run)
        self.scheduled_evaluation(run)
        if callbacks.wants("should_save"):
            self._save_checkpoint(run)
        _share_flags(callbacks)  # a stop asked for by on_log, on_evaluate or on_save

    def _log_loss(self, run: _Run) -> None:
        """Log the mean loss of the steps since the last such record (and to TensorBoard, the callbacks)."""
        step = run.state["step"]
        # in Hugging Face's order (the callbacks and the console see it so), the epoch last
        record = {"loss": float(np.mean(run.window))}
        if run.grad_norm is not None:  # the last step's, as Hugging Face's trainer logs it
            record["grad_norm"] = float(run.grad_norm)
        record["learning_rate"] = self.logged_learning_rate(run)
        # each named part's mean over the batches that gave parts, rounded as sentence-transformers logs them;
        # as there, a part seen earlier in the run stays in every record: 0.0 when the batches since the last
        # record gave other parts, nan when none gave parts (a multi-dataset run's other loss)
        for key in run.part_names:
            total = run.parts.get(key, 0.0)
            record[key] = round(total / run.part_batches, 4) if run.part_batches else float("nan")
        run.parts, run.part_batches = {}, 0
        record = self.logged_record(record, self.epoch_progress(run.state))
        first = ("epoch", "loss", "learning_rate")  # metrics.jsonl's order
        self._log({"step": step, **{k: record[k] for k in first if k in record}, **record})
        if run.tensorboard is not None:
            run.tensorboard.scalars("train", record, step)
        run.callbacks.store_flos()
        run.callbacks.log(step, record)
        run.window = []

    def _carry(self, group: list[tuple[int, np.ndarray]], run: _Run) -> None:
        """Back-propagate the batches of ``group`` with no optimizer step: their gradients (and loss, in the
        run's mean and the next record) go into the next step, as a short sampler's last batches there."""
        value = 0.0
        for objective, rows in group:
            run.last_in_step = False
            value += self._backward(objective, rows, run, len(group))
            run.callbacks.substep_end()
        value = distributed.sum_scalar(value)
        run.state["loss_sum"] += value
        if run.window:  # in the record that is open
            run.window[-1] += value
        else:
            run.carried += value

    def _step(self, group: list[tuple[int, np.ndarray]], run: _Run) -> float:
        """One optimizer step over the batches of ``group``; the sum of their losses, each divided by the
        batches in the step, as Hugging Face's trainer does."""
        value = 0.0
        for i, (objective, rows) in enumerate(group):
            run.last_in_step = i == len(group) - 1
            value += self._backward(objective, rows, run, len(group))
            if i < len(group) - 1:
                run.callbacks.substep_end()
        self._collect_parts(run)
        distributed.sum_gradients(run.params)
        if run.scaler:
            run.scaler.unscale_(run.optimizer)
        # the norm before clipping, taken without clipping too (max_norm inf), as transformers 5's trainer
        # logs it; kept as a tensor: read (a device sync) only when a record is logged
        run.grad_norm = torch.nn.utils.clip_grad_norm_(run.clipped, self.run_args.max_grad_norm or math.inf)
        run.callbacks.optimizer_step(before=True)
        if run.scaler:
            run.scaler.step(run.optimizer)
            run.scaler.update()
        else:
            run.optimizer.step()
        run.callbacks.optimizer_step(before=False)
        if not run.on_metric:  # (a plateau schedule moves after evaluations)
            run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)
        return distributed.sum_scalar(value)

    def _backward(self, objective: int, rows: np.ndarray, run: _Run, batches: int) -> float:
        """Back-propagate the loss of one batch of the ``batches`` of a step, divided by them; the divided
        loss of this process's rows."""
        self.model.train()  # each batch, as Hugging Face's training_step (an evaluation leaves it in eval)
        loss_fn = self.losses[objective]
        if self.loader_epochs is not None:  # a collated batch, run whole: the processes' gradients averaged
            local, share = rows, 1 / distributed.world_size()
        else:
            local = rows[distributed.shard(len(rows))]
            share = len(local) / len(rows)  # this process's share of the global batch
        if not (
            self.loader_epochs is not None or len(local) or loss_fn.collective
        ):  # a collective loss runs everywhere, with no rows if need be
            return 0.0
        if self.batch_step is not None:  # a subclass's training_step: its own forward and backward
            step_loss, parts = self.batch_step(objective, local, batches / share if share != 1 else batches)
            self._keep_parts(run, parts, share)
            return float(step_loss.detach().double())
        if self.batch_loss is not None:  # a subclass's compute_loss: its loss, and the parts the loss gave
            with self._autocast():
                out, parts = self.batch_loss(objective, local)
        else:
            inputs, labels = self._batch(objective, local)
            with self._autocast():
                out = call_loss(loss_fn, inputs, labels)
            parts = out if isinstance(out, Mapping) else None
        self._keep_parts(run, parts, share)
        loss = loss_total(out) * (share / batches)
        (run.scaler.scale(loss) if run.scaler else loss).backward()
        return float(loss.detach().double())

    def _keep_parts(self, run: _Run, parts: Mapping[str, Any] | None, share: float) -> None:
        """Keep a batch's named loss parts (SpladeLoss) for the log, this process's ``share`` of each."""
        if parts is not None:
            for key, part in parts.items():
                run.step_parts[key] = run.step_parts.get(key, 0.0) + part.detach().double() * share
            run.step_part_batches += 1

    def _collect_parts(self, run: _Run) -> None:
        """Add this step's named loss parts (summed over the processes) to the log's window."""
        parts, batches = {k: float(v) for k, v in run.step_parts.items()}, run.step_part_batches
        run.step_parts, run.step_part_batches = {}, 0
        if distributed.is_distributed() and any(loss.loss_components for loss in self.losses):
            gathered = distributed.gather_objects((parts, batches))
            parts = {
                k: sum(p.get(k, 0.0) for p, _ in gathered)
                for k in dict.fromkeys(k for p, _ in gathered for k in p)
            }
            batches = max(b for _, b in gathered)  # every process ran the same batches (its share of them)
        for key, value in parts.items():
            run.parts[key] = run.parts.get(key, 0.0) + value
            run.part_names[key] = None
        run.part_batches += batches

    def _batch(self, objective: int, rows: np.ndarray) -> tuple[list[Any], Any]:
        """The loss's inputs and labels for ``rows`` of dataset ``objective``: the trainer's own, or a data
        collator's where one was given (``collate``)."""
        dataset = self.datasets[objective]
        if self.collate is not None:
            return self.collate(dataset, rows, self.names[objective])
        # a cross-encoder's labels as its collator gives them: a row of lists stays one tensor per row
        cross = getattr(self.losses[objective], "takes_texts", False)
        return self._inputs(objective, rows), dataset.label_batch(rows, self.device, stack=not cross)

    def _inputs(self, objective: int, rows: np.ndarray) -> list[Any]:
        """What the loss of ``objective`` takes for ``rows``: each column's texts for a cross-encoder loss
        (it forms the pairs itself), each column tokenized for the others."""
        dataset = self.datasets[objective]
        if getattr(self.losses[objective], "takes_texts", False):
            prompt = self.prompts[objective].get(dataset.column_names[0])
            return prompted_pairs(dataset.texts(rows), prompt)
        prompts, lengths, tasks = (x[objective] for x in (self.prompts, self.prompt_lengths, self.tasks))
        return [
            self._features(texts, prompts.get(column), lengths.get(column), tasks.get(column))
            for column, texts in zip(dataset.column_names, dataset.texts(rows))
        ]

    def _features(
        self, texts: list[str], prompt: str | None, prompt_length: int | None, task: str | None
    ) -> dict[str, Any]:
        """The model inputs of one column's texts, its prompt put before them, tokenized by the route of its
        task."""
        if texts:
            tokens = self.model.tokenize(with_prompt(texts, prompt), task=task)
        else:  # a process's share of a last batch can be empty under DDP; tokenize([]) is {}, as there
            tokens = {
                k: v[:0] if torch.is_tensor(v) else v for k, v in self.model.tokenize([""], task=task).items()
            }
        # the tensors on the device; "modality" kept, as sentence-transformers' collator keeps it
        features: dict[str, Any] = {
            k: v.to(self.device) if torch.is_tensor(v) else v for k, v in tokens.items()
        }
        if prompt_length:  # Pooling with include_prompt=False leaves these tokens out
            features["prompt_length"] = prompt_length  # an int, as sentence-transformers' preprocess gives it
        if task is not None:  # the Router reads it in forward (sentence-transformers' trainer stamps it too)
            features["task"] = task
        return features

    def _autocast(self) -> contextlib.AbstractContextManager:
        """The model's forward under bf16 / fp16 autocast, its outputs and the loss's math in fp32."""
        if self.run_args.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.run_args.precision == "bf16" else torch.float16
        return precision.mixed_precision(self.model, self.device.type, dtype)

    # ------------------------------------------------------------------ evaluation and checkpoints

    def _evaluate(self, run: _Run, candidate: bool = True) -> dict[str, float]:
        """Evaluate, log and report; with ``candidate``, the weights may become the best ones."""
        state = run.state
        results: dict[str, float] = {}
        run.eval_metrics = {}
        if distributed.rank() == 0:
            step, epoch = state["step"], self.epoch_progress(state)
            results = self.logged_evaluation(run, self.evaluation_records(self.evaluator_where(step, epoch)))
            metric = results.get(self.best_metric_key(results)) if candidate else None
            if metric is not None and self._improves(metric, state["best_metric"]):
                state["best_metric"], state["best_step"] = metric, state["step"]
                if self.run_args.load_best_model_at_end and self.keeps_best_copy:
                    self.model.save(self.output_dir / "best")
            run.callbacks.best(*self.callback_best(state))
        else:
            metric = None
        best = distributed.gather_objects((state["best_metric"], state["best_step"], metric))[0]
        state["best_metric"], state["best_step"], metric = best
        if run.on_metric and metric is not None:  # Hugging Face's trainer steps a plateau schedule here
            run.scheduler.step(metric)
        return results  # the model left in eval, as there, until the next batch (_backward)

    def logged_evaluation(
        self, run: _Run, records: Iterable[tuple[dict[str, float], dict[str, float], dict[str, float]]]
    ) -> dict[str, float]:
        """Each of an evaluation's ``records`` (:meth:`evaluation_records`) logged in turn
        (:meth:`log_evaluation_record`); their results together."""
        results: dict[str, float] = {}
        for record in records:
            results.update(self.log_evaluation_record(run, *record))
        return results

    def log_evaluation_record(
        self, run: _Run, part: dict[str, float], logged: dict[str, float], metrics: dict[str, float]
    ) -> dict[str, float]:
        """One evaluation record logged, told to the callbacks and kept in ``run.eval_metrics``; its
        results (``part``)."""
        step, epoch = run.state["step"], self.epoch_progress(run.state)
        logged = self.logged_record(logged, epoch)
        self._log({"step": step, "epoch": epoch, **logged})
        if run.tensorboard is not None:
            run.tensorboard.scalars("eval", part, step)
        record = {**logged, "epoch": epoch}
        run.callbacks.log(step, record)
        # the callbacks see the best metric before this evaluation (Hugging Face's sets it after)
        run.callbacks.evaluate(self, step, epoch, self.told_metrics(metrics, record))
        run.eval_metrics.update(metrics)
        return part

    def told_metrics(self, metrics: dict[str, float], record: dict[str, Any]) -> dict[str, Any]:
        """The metrics ``on_evaluate`` gets of a run's evaluation record (a copy), given the ``record``
        ``on_log`` got (with what its callbacks added)."""
        return dict(metrics)

    def best_metric_key(self, results: Mapping[str, Any]) -> str:
        """The key of ``results`` that picks the best weights: ``metric_for_best_model`` (its ``eval_``
        prefix optional, as in Hugging Face's trainer), else the evaluator's primary metric."""
        key = self._best_name(results)
        if key in results or self.run_args.metric_for_best_model is None:
            return key
        wanted = self.run_args.metric_for_best_model
        raise UnknownMetricError(
            f"metric_for_best_model={wanted!r} is not among the evaluation results {sorted(results)}; "
            "pass one of them (with or without the eval_ prefix), or leave it unset for the evaluator's "
            "primary metric."
        )

    def _best_name(self, keys: Collection[str] = ()) -> str:
        """The name of the best-model metric, as spelled among ``keys`` where it is there."""
        wanted = self.run_args.metric_for_best_model
        if wanted is None:
            return self.evaluator.primary_key
        spellings = (wanted, wanted.removeprefix("eval_"), "eval_" + wanted)
        return next((k for k in spellings if k in keys), wanted)

    def _improves(self, metric: float, best: float | None) -> bool:
        if best is None:
            return True
        higher = self.run_args.best_metric_direction(self.evaluator)
        return metric > best if higher else metric < best

    def _save_checkpoint(self, run: _Run) -> None:
        state = run.state
        rng = distributed.gather_objects(_rng_state())
        if distributed.rank() == 0:
            tensors = {
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "losses": [_own_state(loss) for loss in self.losses],
                "rng": rng,
            }
            if self.run_args.save_only_model:  # the model and the state.json only, as Hugging Face's
                tensors = None
            saved = {
                **state,
                "world_size": distributed.world_size(),
                "seed": self.run_args.seed,
                **self._plan(),
            }
            self.checkpoint_saving(self.output_dir / checkpoint.checkpoint_name(state["step"]))
            run.callbacks.store_flos()
            best_step = run.callbacks.state.best_global_step
            if best_step is not None:  # as Hugging Face's state: once that checkpoint is written
                best = checkpoint.path_of(self.output_dir, best_step)
                if best.is_dir() or best_step == state["step"]:
                    run.callbacks.state.best_model_checkpoint = str(best)
            hf_state = trainer_state.record(run.callbacks.state, run.callbacks.control, run.callbacks.hf)
            path = checkpoint.save(
                self.output_dir,
                state["step"],
                self.model,
                saved,
                tensors,
                self.run_args.save_total_limit,
                hf_state,
                best_checkpoint(run),
                self.write_checkpoint_model,
                self.checkpoint_model_in_place(),
            )
            if run.tensorboard is not None:  # a run killed later keeps its curves up to here
                run.tensorboard.flush()
            run.callbacks.save(self, state["step"], self.epoch_progress(state), path)
        distributed.barrier()

    def _plan(self) -> dict[str, Any]:
        return {name: sampler_name(getattr(self.run_args, name)) for name in PLAN_ARGUMENTS}

    def _resume(self, run: _Run) -> bool:
        """Continue from the checkpoint ``args.resume`` names, if any: weights, optimizer, RNG and state."""
        resume = self.run_args.resume
        if not resume:
            return False
        if resume is True:
            # the newest checkpoint-<step> folder, whoever wrote it, as Hugging Face's trainer picks it: one
            # sbert cannot resume is refused by load, never passed over for an older one or a new run
            latest = checkpoint.latest(self.output_dir)
            if latest is None:
                return self.without_checkpoint()
            path = latest
        else:
            path = Path(resume)
        saved, tensors = checkpoint.load(path)
        if saved.get("world_size", 1) != distributed.world_size():
            raise InputError(f"{path} was written by {saved['world_size']} processes; resume with as many.")
        # the plan of batches and steps must be the one the checkpoint's position points into (a
        # checkpoint sentence-transformers wrote records no plan: placed by its step, as there)
        defaults = TrainingArguments(output_dir=".")
        changed = {
            name: (saved.get(name, getattr(defaults, name)), value)
            for name, value in self._plan().items()
            if saved.get(name, getattr(defaults, name)) != value and "epoch" in saved
        }
        if "epoch" not in saved:
            saved["epoch"], saved["batch_in_epoch"] = self._position(saved["step"])
        if changed:
            raise InputError(
                f"{path} was written with other training arguments ({changed}: saved vs now); resume with "
                "the saved values or start a new run."
            )
        self._load_weights(checkpoint.model_folder(path))
        # the history and the best checkpoint go on from the checkpoint's, as Hugging Face's trainer's (none
        # in an older sbert's): callbacks and load_best_model_at_end see them before the next evaluation
        run.callbacks.state.log_history = trainer_state.log_history(path)
        for name, value in trainer_state.best_fields(path).items():
            setattr(run.callbacks.state, name, value)
        _load_loss_weights(self.losses, tensors["losses"], path)
        run.optimizer.load_state_dict(tensors["optimizer"])
        run.scheduler.load_state_dict(tensors["scheduler"])
        if tensors["rng"]:
            _set_rng_state(tensors["rng"][distributed.rank()])
        else:  # as Hugging Face's trainer goes on without one
            logger.warning(
                f"{path} holds no random state (rng_state.pth): the resumed run's dropout and other random "
                "draws differ from the run that wrote it."
            )
        for key in run.state:
            run.state[key] = saved[key]
        self.resumed(run)
        return True

    def _position(self, step: int) -> tuple[int, int]:
        """The epoch and its batches done after ``step`` optimizer steps, as Hugging Face's trainer places a
        checkpoint it resumes: every epoch of the first's steps (a stream's: the run's)."""
        per_epoch = self.total_steps() if self.reads_a_stream() else self.steps_per_epoch(0)
        per_epoch = max(per_epoch, 1)
        return step // per_epoch, step % per_epoch * self.run_args.gradient_accumulation_steps

    def resumed(self, run: _Run) -> None:
        """``run`` has just taken a checkpoint's weights, optimizer, scheduler, state and history (a hook)."""

    def without_checkpoint(self) -> bool:
        """What ``resume=True`` does where ``output_dir`` holds no checkpoint: sbert's trainer starts a new
        run (returns False, nothing resumed)."""
        return False

    def _load_weights(self, folder: Path) -> None:
        """Load the weights of the model saved in ``folder`` into the model being trained."""
        # the model's own class reads its folder: the trainer never imports the model module
        saved = type(self.model)(folder, backend="torch", device=str(self.device))
        self.model.load_state_dict(saved.state_dict())

    def _finish(self, run: _Run) -> TrainOutput:
        """End the run: the best weights back where asked, their evaluation, the card and ``final/``."""
        main, state = distributed.rank() == 0, run.state
        args = self.run_args
        best = distributed.gather_objects(self.best_weights(run))[0]  # the main process's choice
        if best is not None:
            self._load_weights(best)
        eval_results: dict[str, float] = {}
        if self.evaluator is not None and main:
            eval_results = self.final_evaluation(run, reloaded=best is not None)
        self.mode_after_run()
        if main:
            curve = self._draw_curve()
            self.card_run_logs(state["best_step"] if best is not None else None)
            self._record_card(state, curve, run.losses_described)
            if args.save_final_model:
                final = self.output_dir / "final"
                self.model.save(final)  # keeps what final held besides the model's files, as save does
                if curve:
                    shutil.copyfile(self.output_dir / CURVE_FILE, final / CURVE_FILE)
                else:  # an earlier run's curve would describe another run
                    (final / CURVE_FILE).unlink(missing_ok=True)
        distributed.barrier()
        steps = max(state["step"], 1)
        return TrainOutput(
            state["step"],
            state["loss_sum"] / steps,
            state["best_metric"],
            state["best_step"],
            eval_results,
            self.output_dir,
            self.epoch_progress(state),
        )

    def _draw_curve(self) -> str | None:
        """Draw the training curve; its file name, or None (then no earlier run's picture is left)."""
        path = self.output_dir / CURVE_FILE
        if not self.plot:
            path.unlink(missing_ok=True)  # a previous run's curve beside this run's metrics would mislead
            return None
        records = read_log(self.output_dir / METRICS_FILE)
        evaluated = {key for r in records if "learning_rate" not in r for key in r}  # not a loss record
        training_curve(records, self._best_name(evaluated) if self.evaluator else None, path)
        return CURVE_FILE

    def card_run_start(self) -> None:
        """The model card's records as a run starts: its datasets, losses and arguments, which the card's
        Training Details section shows (the sentence-transformers trainers record theirs as they are made
        and in their ``train()``, as there)."""
        record_own_run_start(self.model, self.names, self.datasets, self.losses, self.run_args)

    def card_run_logs(self, best_step: int | None) -> None:
        """The card's training logs after a run (from ``metrics.jsonl``); ``best_step``: the step whose
        weights were loaded at the end, None where none were."""
        records = read_log(self.output_dir / METRICS_FILE)
        record_own_run_logs(self.model, records, self.evaluator, best_step)

    def _record_card(self, state: dict[str, Any], curve: str | None, losses: str) -> None:
        card = self.model.model_card_data = card_data_for(self.model)
        # a trained model's save writes a new card, not the README.md it was loaded with, as
        # sentence-transformers decides by this tag
        card.add_tags("generated_from_trainer")
        training = card.setdefault("training", {})
        if card.get("base_model"):
            training["Base model"] = card["base_model"]
        training["Losses"] = losses
        card["citations"] = loss_citations(all_losses(dict(zip(self.names, self.losses))))
        training["Datasets"] = ", ".join(
            f"{d.name} ({len(d):,} examples, columns {', '.join(d.column_names)})" for d in self.datasets
        )
        for d in self.datasets:
            if d.label_names:
                training[f"Labels of {d.name}"] = ", ".join(f"{i}: {n}" for i, n in enumerate(d.label_names))
        training["Hyper-parameters"] = ", ".join(
            f"{k}={v}" for k, v in self.run_args.hyperparameters().items()
        )
        training["Steps"] = f"{state['step']} (world size {distributed.world_size()})"
        if self.evaluator is not None:
            training["Evaluator"] = self.evaluator.describe()
            if state["best_step"] is not None:
                training["Best checkpoint"] = (
                    f"step {state['best_step']}, {self._best_name()} = {state['best_metric']:.4f}"
                )
        if curve:
            training["Training curve"] = f"![training curve]({curve})"

    # ------------------------------------------------------------------ the JSON-lines log

    def logged_record(self, record: dict[str, Any], epoch: float) -> dict[str, Any]:
        """A record of the run as it is logged, ``epoch`` added last (a subclass's ``log`` may rename its
        keys)."""
        return {**record, "epoch": epoch}

    def _start_log(self, step: int, history: list[dict[str, Any]]) -> None:
        """Keep the records up to ``step`` (a resumed run continues the log it resumed from); where the log
        holds none of them (a checkpoint sentence-transformers wrote), the checkpoint's ``history``."""
        path = self.output_dir / METRICS_FILE
        kept = [r for r in read_log(path) if r.get("step", 0) <= step] if step else []
        kept = kept or [dict(r) for r in history if r.get("step", 0) <= step]
        atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    def _log(self, record: dict[str, Any]) -> None:
        record = {"time": round(time.time(), 3), **record}
        with open(self.output_dir / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def _write_label_mappings(self) -> None:
        mappings = {d.name: d.label_mapping() for d in self.datasets if d.label_names}
        if mappings:
            atomic_write_bytes(
                self.output_dir / LABELS_FILE, (json.dumps(mappings, indent=2) + "\n").encode()
            )


# ------------------------------------------------------------------ helpers


def _check_pairing(model: Any, loss: Loss, dataset: TextDataset, where: str, args: TrainingArguments) -> None:
    """Raise InputError, naming the fix and ``where`` (the dataset), unless ``loss`` suits ``model`` (a
    cross-encoder loss for a CrossEncoder, an embedding loss for a SentenceTransformer) and ``dataset``."""
    cross_loss = getattr(loss, "takes_texts", False)
    cross_model = hasattr(model, "num_labels") and not hasattr(model, "encode")
    if cross_model and not cross_loss:
        raise InputError(
            f"{type(loss).__name__} trains a SentenceTransformer; for a CrossEncoder use a loss of "
            "sbert.cross_encoder.losses (BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, "
            "MultipleNegativesRankingLoss, LambdaLoss, ListNetLoss and the others of that module)."
        )
    if cross_loss:
        check_pair_prompts(args.prompts)
        if args.router_mapping:
            raise InputError(
                "router_mapping is not supported for cross-encoder training in sbert; train a CrossEncoder "
                "without a Router."
            )
        loss.check_data(len(dataset.column_names), dataset.labels, where, list_columns=dataset.list_columns)
        return
    if dataset.list_columns:
        raise InputError(
            f"{where}: columns {dataset.list_columns} hold lists of texts, which {type(loss).__name__} "
            "cannot embed: give one text per column (lists of documents: a CrossEncoder's LambdaLoss)."
        )
    loss.check_data(len(dataset.column_names), dataset.labels, where)


def enable_gradient_checkpointing(model: Any, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Turn on the transformers models' gradient checkpointing (the encoders of a SentenceTransformer's
    modules, a Router's routes included, or a CrossEncoder's model), as sentence-transformers does;
    ``options`` are transformers' ``gradient_checkpointing_kwargs`` (e.g. ``{"use_reentrant": False}``),
    ``kwargs`` its other options (``every_n_layers``, ...)."""
    if hasattr(model, "__iter__"):
        found = [m for module in model for m in module.modules()]
    else:
        found = [getattr(model, "model", None)]
    encoders = [m for m in found if getattr(m, "supports_gradient_checkpointing", False)]
    if not encoders:  # a static or word-embedding model: nothing to recompute, a no-op as there
        log_once("gradient checkpointing: no module of this model supports it (no transformers encoder).")
    for encoder in encoders:
        # transformers 5's current name where it has it: the older one warns (FutureWarning), not there
        enable = getattr(encoder, "activation_checkpointing_enable", None)
        enable = enable or encoder.gradient_checkpointing_enable
        enable(options, **kwargs)


def _pair_prompts(prompts: Any, dataset: str | None, columns: list[str]) -> dict[str, str]:
    prompt = pair_prompt(prompts, dataset)
    return {columns[0]: prompt} if prompt and columns else {}


def check_trainable(model: Any) -> None:
    """Refuse a model that cannot train: one on another backend than torch, or not in fp32."""
    if getattr(model, "backend", "torch") != "torch" and getattr(model, "precision", "fp32") == "fp32":
        # Training changes the torch modules' weights: a model that backend="auto" put on ONNX moves to
        # them here (parameters() does it) and encodes with them; a backend named at load is refused.
        model.parameters()
    if getattr(model, "backend", "torch") != "torch" or getattr(model, "precision", "fp32") != "fp32":
        raise InputError(
            "Training needs the model on the torch backend in fp32: load it with "
            "SentenceTransformer(name, backend='torch') and set TrainingArguments(precision='bf16') for "
            "mixed precision."
        )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def best_checkpoint(run: _Run) -> Path | None:
    """The best checkpoint's folder, as the callbacks' state names it (once it is written)."""
    best = run.callbacks.state.best_model_checkpoint
    return Path(best) if best is not None else None


def _load_loss_weights(losses: Sequence[Loss], saved: list[dict[str, Any]] | None, path: Path) -> None:
    """The losses' own weights (SoftmaxLoss's classifier) from a checkpoint; one sentence-transformers wrote
    keeps none (``saved`` None): they stay as built, as its trainer resumes them, and a warning says so."""
    if saved is not None:
        for loss, own in zip(losses, saved):
            loss.load_state_dict(own, strict=False)
        return
    held = [type(loss).__name__ for loss in losses if _own_state(loss)]
    if held:
        logger.warning(
            f"{path} was written by sentence-transformers, whose checkpoints keep no weights of a loss's own "
            f"({', '.join(held)}): they resume from their values as built, as sentence-transformers resumes "
            "them, not those of the run that wrote the checkpoint."
        )


def _rng_state() -> dict[str, Any]:
    """This process's random state, as Hugging Face's trainer saves it (``rng_state.pth``)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        several = distributed.world_size() > 1  # Hugging Face's: every device's state under torchrun
        state["cuda"] = torch.cuda.get_rng_state_all() if several else torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"] if "cpu" in state else state["torch"])  # "torch": an older sbert's
    if "python" in state:
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if isinstance(cuda, torch.Tensor):
            torch.cuda.set_rng_state(cuda)
        else:
            torch.cuda.set_rng_state_all(cuda)


def _router_tasks(router: Router) -> list[str]:
    """The tasks ``router`` has a route for (its routes' names and the tasks its route_mappings name)."""
    return sorted(set(router.sub_modules) | {task for task, _ in router.route_mappings if task is not None})


def _check_route(router: Router, index: int, task: str | None, column: str, dataset: str | None) -> None:
    """Raise InputError, naming the fix, unless ``router`` (module ``index`` of the model) has a route for
    ``column``'s ``task`` (``None``: its default route)."""
    where = f"column {column!r}" + (f" of dataset {dataset!r}" if dataset else "")
    try:
        router.route_name(task, TEXT if index == 0 else None)  # as Router.forward resolves it
    except InputError:
        if task is not None:
            raise InputError(
                f"router_mapping sends {where} to task {task!r}, which the Router has no route for; "
                f"use one of {_router_tasks(router)}."
            ) from None
        raise InputError(
            f"router_mapping gives {where} no task and the Router has no default route; map it to one of "
            f"{_router_tasks(router)}."
        ) from None


def _share_flags(callbacks: Callbacks) -> None:
    """The main process's control flags on every process (its callbacks set them), so that all evaluate, save
    and stop together."""
    if distributed.is_distributed():
        flags = distributed.gather_objects(vars(callbacks.control).copy())[0]
        for name, value in flags.items():
            setattr(callbacks.control, name, value)


def _own_state(loss: Loss) -> dict[str, torch.Tensor]:
    """A loss's own weights (e.g. SoftmaxLoss's classifier), without the model's."""
    return {k: v for k, v in loss.state_dict().items() if not k.startswith("model.")}


def _can_plot(path: Path) -> bool:
    """Whether the training curve can be drawn at ``path``; if matplotlib is missing, say so once."""
    try:
        check_plot_path(path)
    except BackendUnavailableError as e:
        print(f"sbert: warning: no training curve ({CURVE_FILE}) will be drawn: {e}", file=sys.stderr)
        return False
    return True


def previous_run(output_dir: Path) -> tuple[list[str], list[str]]:
    """The names in ``output_dir`` that a training run writes (``RUN_FILES``, checkpoints, their hidden
    temporaries), and the others."""
    ours: list[str] = []
    others: list[str] = []
    if output_dir.is_dir():
        for name in sorted(p.name for p in output_dir.iterdir()):
            bare = name.lstrip(".")  # (".." before a checkpoint's model's temporary)
            hidden = bare != name and bare.startswith((*RUN_FILES, "checkpoint-"))
            (ours if name in RUN_FILES or checkpoint.PATTERN.match(name) or hidden else others).append(name)
    return ours, others


def remove_previous_run(output_dir: Path) -> None:
    """Delete what an earlier run wrote in ``output_dir`` (only that: see :func:`previous_run`)."""
    for name in previous_run(output_dir)[0]:
        path = output_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="Training", unit="step", disable=not enabled)
