"""TensorBoard event files of a run, written with ``torch.utils.tensorboard`` beside ``metrics.jsonl``.

Scalars take Hugging Face's tags: ``train/loss``, ``train/learning_rate``, ``train/epoch`` at each logging
step and ``eval/<metric>`` at each evaluation, so dashboards built for its trainer read them as they are.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from .._errors import missing_extra

FOLDER = "runs"  # in output_dir, as Hugging Face's default logging_dir (output_dir/runs/...)


def wanted(report_to: list[str] | None) -> bool:
    """Whether a run writes event files: asked for (and then the package must be there), or by default
    when the ``tensorboard`` package is installed."""
    installed = importlib.util.find_spec("tensorboard") is not None
    if report_to is None:
        return installed
    if "tensorboard" in report_to and not installed:
        raise missing_extra("tensorboard", "train")
    return "tensorboard" in report_to


class TensorBoardLog:
    """One run's event files in ``output_dir/runs``; a resumed run (``resume_step``) continues them, and
    TensorBoard drops the earlier run's events from that step on."""

    def __init__(self, output_dir: Path, resume_step: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        folder = Path(output_dir) / FOLDER
        if not resume_step:  # a fresh run: an earlier run's curves would mix with this one's
            remove(output_dir)
        # TensorBoard drops the killed run's events from the first step this run logs again
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=resume_step + 1 if resume_step else None)

    def scalars(self, prefix: str, values: dict[str, Any], step: int) -> None:
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "step":
                self.writer.add_scalar(f"{prefix}/{key}", value, step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def remove(output_dir: Path) -> None:
    """Remove an earlier run's event files."""
    folder = Path(output_dir) / FOLDER
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
