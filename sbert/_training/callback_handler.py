"""Hugging Face's ``trainer.callback_handler`` on sentence-transformers' trainers: the object that holds the
callbacks and sends each event to them.

Code written for sentence-transformers reads and replaces parts of it (setfit's trainer replaces
``call_event`` to hand its callbacks its own arguments and model, calls ``on_init_end`` and sets attributes
on it); sbert's runs send every Hugging Face event through :meth:`CallbackHandler.dispatch`, which calls the
``call_event`` the handler has then, so such a replacement is honoured.
"""

from __future__ import annotations

import functools
from typing import Any

from .callbacks import is_hf_callback


class CallbackHandler:
    """The handler of ``trainer``'s callbacks (a sentence-transformers trainer of sbert's).

    ``callbacks`` lists, as Hugging Face's handler, its default callbacks first (``DefaultFlowCallback`` and
    ``ProgressCallback``, or ``PrinterCallback`` with ``disable_tqdm``: stand-ins of those classes whose
    events do nothing, as sbert's run does their work itself), then the trainer's callbacks (a new list each
    time: add and remove callbacks with the trainer's ``add_callback`` / ``remove_callback``); ``model``,
    ``processing_class``, ``optimizer``, ``lr_scheduler``, ``train_dataloader`` and ``eval_dataloader`` are
    what the trainer passes each event, as Hugging Face's handler holds them;
    ``on_<event>(args, state, control, **kwargs)`` calls that event."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.defaults = _default_callbacks(trainer.args)

    @property
    def callbacks(self) -> list[Any]:
        return [*self.defaults, *self.trainer.callbacks]

    def _event_kwargs(self) -> dict[str, Any]:
        return self.trainer.callback_kwargs()

    @property
    def model(self) -> Any:
        return self.trainer.model

    @property
    def processing_class(self) -> Any:
        return getattr(self.trainer.model, "tokenizer", None)

    tokenizer = processing_class

    @property
    def optimizer(self) -> Any:
        return self._event_kwargs().get("optimizer")

    @property
    def lr_scheduler(self) -> Any:
        return self._event_kwargs().get("lr_scheduler")

    @property
    def train_dataloader(self) -> Any:
        return self.trainer.loaders.get("train")

    @property
    def eval_dataloader(self) -> Any:
        return self.trainer.loaders.get("eval")

    def add_callback(self, callback: Any) -> None:
        self.trainer.add_callback(callback)

    def pop_callback(self, callback: Any) -> Any:
        return self.trainer.pop_callback(callback)

    def remove_callback(self, callback: Any) -> None:
        self.trainer.remove_callback(callback)

    @property
    def callback_list(self) -> str:
        return "\n".join(type(c).__name__ for c in self.callbacks)

    def call_event(self, event: str, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        """``event`` to each Hugging Face callback with the trainer's keywords, as Hugging Face's handler;
        a callback's returned control replaces ``control``."""
        callbacks = [c for c in self.trainer.callbacks if is_hf_callback(c)]  # (the stand-ins do nothing)
        if callbacks:
            kwargs = {**self._event_kwargs(), **kwargs}
        for callback in callbacks:
            method = getattr(callback, event, None)
            if method is None:
                continue
            result = method(args, state, control, **kwargs)
            if result is not None:
                control = result
        return control

    def dispatch(self, event: str, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        """How the trainer's runs send an event: through this handler's ``call_event`` as it is now. A log
        record gets the learning rate its step ran with, as Hugging Face's trainer logs it (sbert's records
        hold the next step's; the trainer's own records already have it, so what a callback adds to them is
        logged too)."""
        logs = kwargs.get("logs")
        if event == "on_log" and logs and "learning_rate" in logs:
            applied = self.trainer.applied_learning_rate(state.global_step)
            if logs["learning_rate"] != applied:
                kwargs["logs"] = {**logs, "learning_rate": applied}
        return self.call_event(event, args, state, control, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):  # on_init_end(args, state, control), ... as Hugging Face's handler
            return lambda args, state, control, **kwargs: self.call_event(
                name, args, state, control, **kwargs
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _default_callbacks(args: Any) -> list[Any]:
    """Stand-ins of Hugging Face's default callbacks for ``args`` (its trainer's flow and progress ones)."""
    from transformers import DefaultFlowCallback, PrinterCallback, ProgressCallback

    progress = PrinterCallback if getattr(args, "disable_tqdm", False) else ProgressCallback
    return [_stand_in(DefaultFlowCallback)(), _stand_in(progress)()]


@functools.cache  # one stand-in class per Hugging Face class, not one per trainer
def _stand_in(cls: type) -> type:
    """A subclass of ``cls`` by its name whose events do nothing (sbert's run does that callback's work)."""

    def ignored(self: Any, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        return None

    events = {name: ignored for name in dir(cls) if name.startswith("on_")}
    return type(cls.__name__, (cls,), {**events, "__init__": lambda self: None, "__module__": __name__})
