"""Callbacks: users' own code called by the Trainer after each step, evaluation and checkpoint.

A callback is any object with some of these methods (all optional), called on the main process only
(unless it sets ``every_process = True``: then on every process, each of which runs it on its own):

- ``on_step(trainer, step, logs)``: after each optimizer step; ``logs`` holds that step's ``loss``,
  ``learning_rate`` (the next step's, as ``metrics.jsonl``) and ``epoch`` (epochs done, a fraction).
- ``on_evaluate(trainer, step, metrics)``: after each evaluation, with the evaluator's results.
- ``on_save(trainer, step, path)``: after a checkpoint is written to ``path``.

A Hugging Face ``transformers.TrainerCallback`` gets the events of Hugging Face's trainer, in its order
(``on_init_end`` from sentence-transformers' trainers, ``on_train_begin``, ``on_epoch_begin``,
``on_step_begin``, ``on_substep_end``, ``on_pre_optimizer_step``, ``on_optimizer_step``, ``on_step_end``,
``on_log``, ``on_prediction_step``, ``on_evaluate``, ``on_save``, ``on_epoch_end``, ``on_train_end``) with
``(args, state, control, **kwargs)``, as its ``CallbackHandler`` calls them: ``state`` is a ``TrainerState``,
``control`` a ``TrainerControl`` whose flags hold what the trainer's schedule asks for at each step (as
``DefaultFlowCallback`` sets them) and are reset where that handler resets them; what a callback sets in
them is done (``should_training_stop``, ``should_epoch_stop``, ``should_log``, ``should_evaluate``,
``should_save``), and a callback's returned control replaces it, as there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .console import show_record

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
FLAGS = ("should_training_stop", "should_epoch_stop", "should_save", "should_evaluate", "should_log")
# the flags Hugging Face's CallbackHandler clears before each event's callbacks run
RESETS = {
    "on_train_begin": ("should_training_stop",),
    "on_epoch_begin": ("should_epoch_stop",),
    "on_step_begin": ("should_log", "should_evaluate", "should_save"),
    "on_evaluate": ("should_evaluate",),
    "on_save": ("should_save",),
    "on_log": ("should_log",),
}


def is_hf_callback(callback: Any) -> bool:
    """Whether ``callback`` is a transformers ``TrainerCallback`` (told apart without importing
    transformers)."""
    return any(
        c.__name__ == "TrainerCallback" and c.__module__.startswith("transformers")
        for c in type(callback).__mro__
    )


def hf_state_and_control(callbacks: list[Any], fields: dict[str, Any]) -> tuple[Any, Any]:
    """Hugging Face's ``TrainerState`` (with ``fields``) and ``TrainerControl``, as its trainer makes them:
    the state keeps the stateful callbacks' and the control's settings."""
    from transformers import TrainerControl, TrainerState
    from transformers.trainer_callback import ExportableState

    control = TrainerControl()
    stateful = [*callbacks, control]
    state = TrainerState(stateful_callbacks=[c for c in stateful if isinstance(c, ExportableState)])
    for name, value in fields.items():
        setattr(state, name, value)
    return state, control


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
        console: str | None = None,
        dispatch: Callable[..., Any] | None = None,
    ) -> None:
        """``state``: more fields of Hugging Face's ``TrainerState``; ``event_kwargs``: the keywords
        Hugging Face's trainer passes each event (``model``, ``optimizer``, ...); ``console``: how each log
        record is shown after the callbacks' ``on_log`` (a :mod:`console` mode; None: not at all);
        ``dispatch``: ``(event, args, state, control, **event's own keywords) -> control``, which sends the
        Hugging Face events instead (a trainer's ``callback_handler``, whose ``call_event`` a user may
        replace, as setfit does), on the main process (the others run their ``every_process`` ones)."""
        self.dispatch = dispatch if main else None
        self.console = console if main else None
        if not main:  # another process than the main one: only the callbacks that run on every process
            callbacks = [c for c in callbacks if getattr(c, "every_process", False)]
        self.own = [c for c in callbacks if not is_hf_callback(c)]
        self.hf = [c for c in callbacks if is_hf_callback(c)]
        self.args, self.event_kwargs = args, event_kwargs
        self.main = main
        fields = {**HF_STATE, "is_world_process_zero": main, **(state or {})}
        fields.update(global_step=0, epoch=0, max_steps=max_steps, best_metric=None, log_history=[])
        if self.hf:
            self.state, self.control = hf_state_and_control(self.hf, fields)
        else:  # no Hugging Face callback: the same fields, without importing transformers
            self.state = SimpleNamespace(**fields)
            self.control = SimpleNamespace(**dict.fromkeys(FLAGS, False))

    def follow(self, callbacks: list[Any]) -> None:
        """Send later events to ``callbacks`` (the trainer's list, which a user may add to or remove from
        between runs, as Hugging Face's one callback handler follows it)."""
        if not self.main:
            callbacks = [c for c in callbacks if getattr(c, "every_process", False)]
        hf = [c for c in callbacks if is_hf_callback(c)]
        if hf and not self.hf:  # the first Hugging Face callback: its state and control, same fields
            self.state, self.control = hf_state_and_control(hf, vars(self.state))
        self.own, self.hf = [c for c in callbacks if not is_hf_callback(c)], hf

    def _hf(self, event: str, step: int | None = None, epoch: float | None = None, **extra: Any) -> None:
        """Send ``event`` to the Hugging Face callbacks as its ``CallbackHandler`` does."""
        if step is not None:  # (epoch 0 as the int Hugging Face's state starts with)
            self.state.global_step, self.state.epoch = step, epoch or 0
        for flag in RESETS.get(event, ()):
            setattr(self.control, flag, False)
        if self.dispatch is not None:
            self.control = self.dispatch(event, self.args, self.state, self.control, **extra)
            return
        if self.hf and self.event_kwargs is not None:
            extra = {**self.event_kwargs(), **extra}
        for callback in self.hf:
            method = getattr(callback, event, None)
            if method is not None:
                result = method(self.args, self.state, self.control, **extra)
                if result is not None:  # a callback may return the control it changed, as there
                    self.control = result

    def flags(self, **asked: bool) -> None:
        """Raise the control flags the trainer's schedule asks for (as ``DefaultFlowCallback`` does) before
        the callbacks of a step's or an epoch's end see them."""
        for flag, value in asked.items():
            if value:
                setattr(self.control, flag, True)

    def wants(self, flag: str) -> bool:
        return bool(getattr(self.control, flag))

    @property
    def stop(self) -> bool:
        """Whether a callback (or the end of the run) stopped the training."""
        return self.wants("should_training_stop")

    def init_end(self) -> None:
        self._hf("on_init_end")

    def train_begin(self, step: int, epoch: float) -> None:
        self._hf("on_train_begin", step, epoch)

    def train_end(self, step: int, epoch: float) -> None:
        self._hf("on_train_end", step, epoch)

    def epoch_begin(self) -> None:
        self._hf("on_epoch_begin")

    def epoch_end(self, step: int, epoch: float) -> None:
        self._hf("on_epoch_end", step, epoch)

    def step_begin(self, step: int | None = None, epoch: float | None = None) -> None:
        """Before the batches of step ``step + 1`` (``state.global_step`` is the steps done); the state keeps
        the last step's end's numbers where none are given, as Hugging Face's (an epoch cut short ends at
        its last step's fraction)."""
        self._hf("on_step_begin", step, epoch)

    def substep_end(self) -> None:
        """After a batch of a step whose gradients are accumulated, before the step's last batch."""
        self._hf("on_substep_end")

    def optimizer_step(self, before: bool) -> None:
        """``on_pre_optimizer_step`` / ``on_optimizer_step``, around the optimizer step (after clipping)."""
        self._hf("on_pre_optimizer_step" if before else "on_optimizer_step")

    def prediction_step(self) -> None:
        """After each batch of the evaluation loss."""
        self._hf("on_prediction_step")

    def predict(self, metrics: dict[str, float]) -> None:
        """After ``trainer.predict()``, with its metrics."""
        self._hf("on_predict", metrics=metrics)

    def step(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        for callback in self.own:
            if hasattr(callback, "on_step"):
                callback.on_step(trainer, step, logs)
        self._hf("on_step_end", step, logs["epoch"])

    def log(self, step: int, logs: dict[str, Any]) -> None:
        """A record of ``metrics.jsonl`` (loss or evaluation): Hugging Face callbacks' ``on_log``."""
        self.state.log_history.append({**logs, "step": step})
        self._hf("on_log", step, logs.get("epoch", self.state.epoch), logs=logs)
        if self.console is not None:  # last, as Hugging Face's printer or progress callback is added last
            show_record(logs, self.console)

    def store_flos(self) -> None:
        """The FLOs counted so far into the state (sbert counts none, but the count becomes a float), where
        Hugging Face's trainer stores them: at loss records, checkpoints and the run's end (an int 0 before
        the first step, as there)."""
        if self.state.global_step:
            self.state.total_flos = float(self.state.total_flos)

    def evaluate(self, trainer: Any, step: int, epoch: float, metrics: dict[str, float]) -> None:
        for callback in self.own:
            if hasattr(callback, "on_evaluate"):
                callback.on_evaluate(trainer, step, metrics)
        self._hf("on_evaluate", step, epoch, metrics=metrics)

    def best(self, metric: Any, step: int | None) -> None:
        """The best metric so far and its step, set after ``on_evaluate`` as Hugging Face's trainer sets
        them (callbacks such as ``EarlyStoppingCallback`` compare an evaluation with the best before it)."""
        self.state.best_metric, self.state.best_global_step = metric, step

    def save(self, trainer: Any, step: int, epoch: float, path: Path) -> None:
        for callback in self.own:
            if hasattr(callback, "on_save"):
                callback.on_save(trainer, step, path)
        self._hf("on_save", step, epoch)
