"""Hugging Face ``Trainer`` hooks that its ``train()`` calls, for subclasses of sentence-transformers'
trainers that override them: ``training_step`` (each batch), ``evaluate`` (each evaluation of the run),
``save_model`` / ``_save`` (each checkpoint's model) and ``log`` (each record, before the epoch is added).

sbert's trainer runs its own loop; only where a subclass overrides one of these does the run call it, where
and as Hugging Face's ``train()`` calls it (the default path stays sbert's). The defaults here are what
``super()`` gives such an override: ``training_step`` runs ``compute_loss`` on the collated batch and
back-propagates it, ``_save`` saves the model, ``evaluate`` (in :mod:`st_compat`) evaluates as the run
does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .hf_accelerator import RunAccelerator

TRAINING_ARGS_FILE = "training_args.bin"  # Hugging Face's TRAINING_ARGS_NAME
# the hooks a subclass overrides to be called by train(); sbert's own classes' methods are not overrides
HOOKS = ("training_step", "prediction_step", "evaluate", "save_model", "_save", "log")
HOOKS += ("get_train_dataloader", "get_eval_dataloader")  # their batches are the ones run (hf_data)


class HuggingFaceHooks:
    """The hooks, mixed into sentence-transformers' trainers (which give ``model``, ``st_args``,
    ``current_run``, ``loss_batches`` / ``hf_collate`` and sbert's :class:`Trainer` underneath)."""

    current_gradient_accumulation_steps: float = 1  # what training_step divides a batch's loss by
    start_time: float | None = None  # when the run began (time.time()), as Hugging Face's log gets it
    _run_evaluation: tuple[Any, bool] | None = None  # (run, candidate): evaluate() is the run's evaluation
    # (run, [the dataset name whose call is awaited], the records, the results): the run evaluates a dict
    _run_parts: tuple[Any, list[str], Any, dict[str, float]] | None = None
    # in the run's evaluation through evaluate(): the ignore_keys it got, and a dict's returned metrics
    _run_returned: dict[str, Any] | None = None
    # what Hugging Face's training_step reads to decide whether to divide the loss by the batches of a step
    # (it does: no batch counts items, no "labels"), so that a training_step copied from there runs
    loss_is_scaled_for_ga: bool | None = None
    model_accepts_loss_kwargs = True  # the models' forward takes **kwargs, as there
    compute_loss_func: Any = None

    @property
    def accelerator(self) -> RunAccelerator:
        """accelerate's ``Accelerator`` as Hugging Face trainer code uses it, on sbert's loop
        (:mod:`sbert._training.hf_accelerator`)."""
        accelerator = self.__dict__.get("_accelerator")
        if accelerator is None:
            accelerator = self.__dict__["_accelerator"] = RunAccelerator(self, self._autocast)
        return accelerator

    def _prepare_context_parallel_inputs(self, model: Any, inputs: Any) -> tuple[Any, Any]:
        """Hugging Face's context parallelism, which sbert has none of: a null context and the inputs."""
        return contextlib.nullcontext, inputs

    def overrides_hook(self, name: str) -> bool:
        """Whether a user's subclass (or a user, on this trainer) replaced the Hugging Face hook ``name``."""
        if name in vars(self):
            return True
        return not (getattr(getattr(type(self), name), "__module__", None) or "").startswith("sbert.")

    def route_training_steps(self) -> None:
        """A subclass's ``training_step`` (``prediction_step``) gets each training (eval) batch, collated as
        sentence-transformers collates it."""
        if self.overrides_hook("training_step") or self.overrides_hook("prediction_step"):
            self.loss_batches = self.hf_collate()
        if self.overrides_hook("training_step"):
            self.batch_step = self._training_step_batch

    def _training_step_batch(self, objective: int, rows: Any, divisor: float) -> tuple[Any, Any]:
        """``training_step`` on ``rows`` of training dataset ``objective`` (or on a collated batch of a
        subclass's data loader), its loss divided by ``divisor`` (Hugging Face's
        ``current_gradient_accumulation_steps``); the loss and the named parts it ran into."""
        if isinstance(rows, Mapping):
            batch = rows
        else:
            batch = self.loss_batches.batch(self.datasets[objective], rows, self.names[objective])
        self.current_gradient_accumulation_steps = divisor
        self._loss_parts = None
        loss = self.training_step(self.model, batch, None)  # Hugging Face counts no items here (no "labels")
        parts, self._loss_parts = self._loss_parts, None
        return loss, parts

    def training_step(self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> Any:
        """Hugging Face's ``training_step``: ``compute_loss`` on the collated batch (the run's precision
        around it), divided by ``current_gradient_accumulation_steps``, back-propagated; the loss,
        detached."""
        model.train()
        inputs = self._prepare_inputs(inputs)
        with self.compute_loss_context_manager(), self._autocast():
            loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        run = self.current_run
        # outside a run (a user's call), the arguments' count of batches a step
        loss = loss / (
            self.current_gradient_accumulation_steps if run else self.st_args.gradient_accumulation_steps
        )
        self.accelerator.backward(loss)
        return loss.detach()

    def predicted_loss(self, dataset: Any, rows: np.ndarray, name: str | None) -> tuple[Any, Any]:
        """The eval loss of ``rows`` of ``dataset`` (named ``name`` in a dict of them), collated as
        sentence-transformers collates it, as Hugging Face's evaluation loop gets it: from
        ``prediction_step(model, inputs, prediction_loss_only=True)`` (where a subclass overrides it), else
        from ``compute_loss``; the loss and the named parts it ran into."""
        if self.__dict__.get("loss_batches") is None:
            self.loss_batches = self.hf_collate()
        batch = self.loss_batches.batch(dataset, rows, name)
        if not self.overrides_hook("prediction_step"):
            return self.call_compute_loss(batch, evaluating=True)
        loss, _, _ = self.prediction_step(self.model, batch, True, ignore_keys=None)
        return loss.mean(), None

    # ------------------------------------------------------------------ checkpoints

    def write_checkpoint_model(self, folder: Path) -> None:
        """A checkpoint's model through ``save_model(folder, _internal_call=True)`` (and so ``_save``) where a
        subclass overrides either, as Hugging Face's checkpoints write it (``folder`` is then the checkpoint's
        own path: :meth:`checkpoint_model_in_place`); else as :meth:`_save` writes it."""
        if self.checkpoint_model_in_place():
            self.save_model(str(folder), _internal_call=True)
        else:
            super().write_checkpoint_model(folder)  # type: ignore[misc]
            self.save_training_args(folder)

    def checkpoint_model_in_place(self) -> bool:
        """A subclass's ``save_model`` / ``_save`` gets ``<output_dir>/checkpoint-<step>``, as there."""
        overridden = self.overrides_hook("save_model") or self.overrides_hook("_save")
        return self.st_args is not None and overridden

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the model (as it is now) to ``output_dir``, default the arguments' ``output_dir``, through
        :meth:`_save`, as Hugging Face's."""
        self._save(output_dir if output_dir is not None else str(self.st_args.output_dir))

    def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
        """The model's files in ``output_dir``, and the arguments beside them (:meth:`save_training_args`);
        ``state_dict`` is accepted as there, and unused: the model's own weights are saved."""
        folder = output_dir if output_dir is not None else str(self.st_args.output_dir)
        self.model.save(folder)
        self.save_training_args(folder)

    def save_training_args(self, folder: str | Path) -> None:
        """The trainer's arguments, pickled by ``torch.save`` into ``training_args.bin``, as Hugging Face's
        ``_save`` keeps them with each saved model (sentence-transformers' trainers only)."""
        if self.st_args is not None:
            import torch

            torch.save(self.st_args, Path(folder) / TRAINING_ARGS_FILE)

    # ------------------------------------------------------------------ evaluation

    def scheduled_evaluation(self, run: Any) -> None:
        """The run's evaluation through a subclass's ``evaluate(ignore_keys=None)``, as Hugging Face's
        ``train()`` evaluates; its ``super().evaluate()`` is the run's own evaluation."""
        if not self.overrides_hook("evaluate") or self.st_args is None:
            super().scheduled_evaluation(run)  # type: ignore[misc]
        elif run.callbacks.wants("should_evaluate") and self.evaluator is not None:
            self._evaluate_through_hook(run, candidate=True)

    def evaluation_at_start(self, run: Any) -> None:
        if not self.overrides_hook("evaluate") or self.st_args is None:
            super().evaluation_at_start(run)  # type: ignore[misc]
        else:
            self._evaluate_through_hook(run, candidate=False)

    def _evaluate_through_hook(self, run: Any, candidate: bool) -> None:
        self._run_evaluation = (run, candidate)
        try:
            self.evaluate(ignore_keys=None)
        finally:
            self._run_evaluation = None

    def run_evaluation(
        self, eval_dataset: Any, metric_key_prefix: str, ignore_keys: list[str] | None = None
    ) -> dict[str, float] | None:
        """Inside a subclass's ``evaluate`` called by the run: the run's own evaluation (logged, told to the
        callbacks, its metric a candidate for the best), its metrics as Hugging Face's ``evaluate`` returns
        them; None elsewhere (``evaluate()`` then runs as called by a user). A dict of eval datasets is
        evaluated as there: ``self.evaluate`` again for each dataset, by name, ``metric_key_prefix``
        ``"eval_<name>"``, each dataset's record logged inside its own call."""
        parts = self._run_parts
        if parts is not None:  # the run's evaluation of a dict: is this the call for its next dataset?
            run, names, records, metrics = parts
            if not names or eval_dataset != names[0] or metric_key_prefix != f"eval_{names[0]}":
                return None
            names.pop(0)
            part, logged, found = next(records)
            metrics.update(self.log_evaluation_record(run, part, logged, found))
            return self._returned_metrics(run, found, metric_key_prefix)
        pending = self._run_evaluation
        if pending is None or eval_dataset is not None or metric_key_prefix != "eval":
            return None
        self._run_evaluation = None  # an evaluate() inside it runs as a user's
        run, candidate = pending
        self._run_returned = returned = {"ignore_keys": ignore_keys}
        try:
            run.eval_results, run.evaluated_at = self._evaluate(run, candidate), run.state["step"]
        finally:
            self._run_returned = None
        if "metrics" in returned:  # a dict's: what each dataset's evaluate() returned, together
            return returned["metrics"]
        return self._returned_metrics(run, run.eval_metrics, metric_key_prefix)

    def _returned_metrics(self, run: Any, metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
        """An evaluation's ``metrics`` as Hugging Face's ``evaluate`` returns them: sentence-transformers'
        ``log()`` adds the epoch to them, unless they hold the loss (it logs a copy then)."""
        metrics = dict(metrics)
        if f"{prefix}_loss" not in metrics:
            metrics["epoch"] = self.epoch_progress(run.state)
        return metrics

    def logged_evaluation(self, run: Any, records: Any) -> dict[str, float]:
        """In a subclass's ``evaluate`` called by the run, with a dict of eval datasets whose records come
        one per dataset: each dataset through ``self.evaluate(name, ignore_keys, "eval_<name>")``, as Hugging
        Face's ``evaluate`` recurses, its record logged there (:meth:`run_evaluation`)."""
        returned = self._run_returned
        if returned is None or not self.per_dataset_records:
            return super().logged_evaluation(run, records)  # type: ignore[misc]
        records = iter(records)
        results: dict[str, float] = {}
        returned["metrics"] = {}
        for name in self.eval_data:
            self._run_parts = parts = (run, [name], records, results)
            try:
                returned["metrics"].update(self.evaluate(name, returned["ignore_keys"], f"eval_{name}"))
            finally:
                self._run_parts = None
            if parts[1]:  # an override that skipped super(): its dataset's record goes unlogged
                next(records)
        return results

    # ------------------------------------------------------------------ logging

    def logged_record(self, record: dict[str, Any], epoch: float) -> dict[str, Any]:
        """A run's record (loss or evaluation) as a subclass's ``log`` passes it on, as Hugging Face's
        trainer logs its records through ``self.log`` (``start_time`` with a loss record; the epoch added by
        the default ``log``, after the override); unchanged without such a subclass. A record the override
        does not pass on is kept as it was."""
        if not self.overrides_hook("log"):
            return super().logged_record(record, epoch)  # type: ignore[misc]
        self.__dict__["_captured"] = captured = []
        self.__dict__["_captured_epoch"] = epoch
        try:
            if "loss" in record and self.start_time is not None:
                self.log(dict(record), self.start_time)
            else:
                self.log(dict(record))
        finally:
            self.__dict__["_captured"] = None
        return captured[-1] if captured else {**record, "epoch": epoch}

    def capture_record(self, logs: dict[str, Any]) -> bool:
        """In :meth:`logged_record`: keep ``logs`` (the epoch added, as Hugging Face's ``log`` adds it) as the
        record the run logs; False elsewhere."""
        captured = self.__dict__.get("_captured")
        if captured is None:
            return False
        logs["epoch"] = self.__dict__["_captured_epoch"]
        captured.append(logs)
        return True

    def begin_run(self) -> None:
        """A run begins: Hugging Face's ``start_time``."""
        self.start_time = time.time()
