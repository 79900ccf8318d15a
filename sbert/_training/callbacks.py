"""Callbacks: users' own code called by the Trainer after each step, evaluation and checkpoint.

A callback is any object with some of these methods (all optional), called on the main process only
(unless it sets ``every_process = True``: then on every process, each of which runs it on its own):

- ``on_step(trainer, step, logs)``: after each optimizer step; ``logs`` holds that step's ``loss``,
  ``learning_rate`` (the next step's, as ``metrics.jsonl``) and ``epoch`` (epochs done, a fraction).
- ``on_evaluate(trainer, step, metrics)``: after each evaluation, with the evaluator's results.
- ``on_save(trainer, step, path)``: after a checkpoint is written to ``path``.

A Hugging Face ``transformers.TrainerCallback`` works too: its ``on_step_begin`` (before each optimizer
step's batches), ``on_step_end``, ``on_log``, ``on_evaluate``, ``on_save``, ``on_train_begin`` and
``on_train_end`` are called with ``(args, state, control, ...)``, where
``args`` is sbert's TrainingArguments, ``state`` has ``global_step``, ``epoch``, ``max_steps``,
``best_metric`` and ``log_history``, and ``control`` is ignored (such callbacks cannot stop the run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Hugging Face's TrainerState fields that Hugging Face's own callbacks (TensorBoard, W&B, MLflow, ...) read,
# at the values a run without hyperparameter search or FLOs counting has
HF_STATE = {
    "is_local_process_zero": True,
    "is_hyper_param_search": False,
    "trial_name": None,
    "trial_params": None,
    "total_flos": 0,
    "num_input_tokens_seen": 0,
    "best_model_checkpoint": None,
    "best_global_step": None,
    "logging_steps": 500,
    "eval_steps": 500,
    "save_steps": 500,
    "train_batch_size": None,
    "num_train_epochs": 0,
}


def is_hf_callback(callback: Any) -> bool:
    """Whether ``callback`` is a transformers ``TrainerCallback`` (told apart without importing
    transformers)."""
    return any(
        c.__name__ == "TrainerCallback" and c.__module__.startswith("transformers")
        for c in type(callback).__mro__
    )


class Callbacks:
    """The trainer's callbacks, each event sent to those that handle it."""

    def __init__(
        self,
        callbacks: list[Any],
        args: Any,
        max_steps: int,
        *,
        main: bool = True,
        state: dict[str, Any] | None = None,
        event_kwargs: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """``state``: more fields of Hugging Face's ``TrainerState``; ``event_kwargs``: the keywords
        Hugging Face's trainer passes each event (``model``, ``optimizer``, ...)."""
        if not main:  # another process than the main one: only the callbacks that run on every process
            callbacks = [c for c in callbacks if getattr(c, "every_process", False)]
        self.own = [c for c in callbacks if not is_hf_callback(c)]
        self.hf = [c for c in callbacks if is_hf_callback(c)]
        self.args, self.event_kwargs = args, event_kwargs
        fields = {**HF_STATE, "is_world_process_zero": main, **(state or {})}
        self.state = SimpleNamespace(
            **fields, global_step=0, epoch=0.0, max_steps=max_steps, best_metric=None, log_history=[]
        )
        self.control = SimpleNamespace(
            should_training_stop=False, should_epoch_stop=False, should_save=False, should_evaluate=False,
            should_log=False,
        )  # fmt: skip

    def _hf(self, event: str, step: int, epoch: float, **extra: Any) -> None:
        self.state.global_step, self.state.epoch = step, epoch
        if self.hf and self.event_kwargs is not None:
            extra = {**self.event_kwargs(), **extra}
        for callback in self.hf:
            method = getattr(callback, event, None)
            if method is not None:
                method(self.args, self.state, self.control, **extra)

    def train_begin(self, step: int, epoch: float) -> None:
        self._hf("on_train_begin", step, epoch)

    def train_end(self, step: int, epoch: float) -> None:
        self._hf("on_train_end", step, epoch)

    def step_begin(self, step: int, epoch: float) -> None:
        """Before the batches of step ``step + 1`` (``state.global_step`` is the steps done)."""
        self._hf("on_step_begin", step, epoch)

    def step(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        for callback in self.own:
            if hasattr(callback, "on_step"):
                callback.on_step(trainer, step, logs)
        self._hf("on_step_end", step, logs["epoch"])

    def log(self, step: int, logs: dict[str, Any]) -> None:
        """A record of ``metrics.jsonl`` (loss or evaluation): Hugging Face callbacks' ``on_log``."""
        self.state.log_history.append(dict(logs))
        self._hf("on_log", step, logs.get("epoch", self.state.epoch), logs=dict(logs))

    def evaluate(self, trainer: Any, step: int, epoch: float, metrics: dict[str, float], best: Any) -> None:
        for callback in self.own:
            if hasattr(callback, "on_evaluate"):
                callback.on_evaluate(trainer, step, metrics)
        self.state.best_metric = best
        self._hf("on_evaluate", step, epoch, metrics=dict(metrics))

    def save(self, trainer: Any, step: int, epoch: float, path: Path) -> None:
        for callback in self.own:
            if hasattr(callback, "on_save"):
                callback.on_save(trainer, step, path)
        self._hf("on_save", step, epoch)
