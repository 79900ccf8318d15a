"""The evaluations of sentence-transformers' classic ``fit`` (its API before v3/v4), shared by
``SentenceTransformer.fit`` and ``CrossEncoder.fit``.

That fit evaluates every ``evaluation_steps`` steps (and at the last, as Hugging Face's trainer does) and
after each epoch; calls ``callback(score, epoch, steps)`` with the evaluator's primary score; and, with
``save_best_model``, saves the model to ``output_path`` each time that score improves. sbert's trainer runs
it as a callback (``on_step``), so the trainer itself has no evaluator then.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


class ClassicEvaluations:
    """The classic fit's evaluations, a trainer callback: every ``every`` steps (and at the last) and after
    each epoch, with the evaluator's CSV files in ``csv_dir``; ``callback(score, epoch, steps)`` and, when
    ``save_to`` is given, the model saved there each time the primary metric improves."""

    def __init__(self, evaluator: Any, every: int | None, csv_dir: Path, save_to: Path | None, callback: Any):
        self.evaluator, self.every, self.csv_dir = evaluator, every, csv_dir
        self.save_to, self.callback = save_to, callback
        self.best: float | None = None
        self.epochs_done, self.epoch_end = 0, 0  # the step the last finished epoch ended at

    def on_step(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        # Hugging Face's step-based evaluation, which also evaluates the run's last step
        if self.every and (step % self.every == 0 or step == trainer.total_steps()):
            self.evaluate(trainer.model, logs["epoch"], step)
        if step == self.epoch_end + trainer.steps_per_epoch(self.epochs_done):
            self.epochs_done, self.epoch_end = self.epochs_done + 1, step
            self.evaluate(trainer.model, float(self.epochs_done), step)

    def evaluate(self, model: Any, epoch: float, step: int) -> None:
        results = self.evaluator(model, output_path=self.csv_dir, epoch=epoch, steps=step)
        if not isinstance(results, dict):
            results = {"evaluator": results}
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
