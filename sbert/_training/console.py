"""The log records sentence-transformers' trainers show on the console, as Hugging Face's trainer shows them.

There, ``PrinterCallback`` prints each record (``disable_tqdm=True``); otherwise ``ProgressCallback`` writes
it above the training bar while the run's bar is up (``tqdm.write``: to stdout). sbert's own Trainer shows
none: its records are in ``metrics.jsonl``. The training bar itself is ``ProgressCallback``'s too.
"""

from __future__ import annotations

from typing import Any

BAR = "bar"  # written above the training bar, during a run only
PRINT = "print"  # printed, in a run and outside one (trainer.evaluate())
MAX_STR_LEN = 100  # ProgressCallback's default: longer strings are elided above the bar


def training_bar(total: int, enabled: bool) -> Any:
    """``ProgressCallback``'s training bar: no description, tqdm's unit (it/s), no postfix (the records are
    written above it); it starts at 0, and a resumed run's first step moves it to that step."""
    from tqdm.auto import tqdm

    return tqdm(total=total, dynamic_ncols=True, disable=not enabled)


class HuggingFaceBar:
    """A Trainer's bar as Hugging Face's ``ProgressCallback`` draws it (:func:`training_bar`), in place of
    sbert's: for the trainers that show what sentence-transformers' show (its trainer, the classic fit)."""

    def training_bar(self, total: int, initial: int, enabled: bool) -> Any:
        return training_bar(total, enabled)

    def show_step(self, bar: Any, step: int, loss: float) -> None:
        bar.update(step - bar.n)  # as ProgressCallback's on_step_end: from 0 to a resumed run's step at once


def show_record(logs: dict[str, Any], mode: str) -> None:
    """Show ``logs`` in ``mode`` (:data:`BAR` or :data:`PRINT`): floats to 4 significant digits, without
    ``total_flos``. Printed, the record itself loses ``total_flos`` as there (``train()``'s metrics too)."""
    if mode == BAR:
        from tqdm.auto import tqdm

        shown = {k: _bar_value(v) for k, v in logs.items() if k != "total_flos"}
        tqdm.write(str(shown))
        return
    logs.pop("total_flos", None)
    print({k: f"{v:.4g}" if isinstance(v, float) else v for k, v in logs.items()})


def _bar_value(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STR_LEN:
        return (
            f"[String too long to display, length: {len(value)} > {MAX_STR_LEN}. "
            "Consider increasing `max_str_len` if needed.]"
        )
    return f"{value:.4g}" if isinstance(value, float) else value
