"""The classic ``model.fit(..., resume_from_checkpoint=True)``: sentence-transformers 6.3's fit runs Hugging
Face's trainer, whose summary's ``train_loss`` is the mean loss of the steps the resumed call ran (from the
checkpoint on), not of the whole run. A first fit of one epoch saves its checkpoints; a second of two epochs
resumes from the last one, on both libraries, and the dicts each shows are compared."""

from __future__ import annotations

import ast
import importlib
import math
from pathlib import Path

import pytest

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _fit(library, folder, checkpoints: Path, epochs: int, resume: bool) -> None:
    import torch
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    model = library.SentenceTransformer(str(folder), device="cpu")
    examples = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
    torch.manual_seed(0)
    loader = DataLoader(examples, shuffle=True, batch_size=4)
    model.fit(
        train_objectives=[(loader, losses.CosineSimilarityLoss(model))],
        epochs=epochs, warmup_steps=1, optimizer_params={"lr": 1e-3}, checkpoint_path=str(checkpoints),
        checkpoint_save_steps=3, resume_from_checkpoint=resume, show_progress_bar=False,
    )  # fmt: skip


def _summaries(library, folder, out: Path, capsys) -> tuple[dict, dict]:
    """The summary the first fit (1 epoch, 3 steps) shows, and the resumed one's (epoch 2: steps 4 to 6)."""
    shown = []
    for epochs, resume in ((1, False), (2, True)):
        _fit(library, folder, out / "checkpoints", epochs, resume)
        lines = capsys.readouterr().out.splitlines()
        shown.append([ast.literal_eval(line) for line in lines if line.startswith("{'train_runtime'")][-1])
    return shown[0], shown[1]


def test_a_resumed_fit_reports_the_mean_loss_of_its_own_steps(dropout_free_st, tmp_path, capsys):
    import sentence_transformers

    theirs = _summaries(sentence_transformers, dropout_free_st, tmp_path / "st", capsys)
    ours = _summaries(sbert, dropout_free_st, tmp_path / "sbert", capsys)
    for mine, ref in zip(ours, theirs):
        assert list(mine) == list(ref)
        for key in ("train_loss", "epoch"):
            assert math.isclose(float(mine[key]), float(ref[key]), rel_tol=1e-4, abs_tol=1e-6), key
    # the resumed run's mean is its own steps' (not the same as the whole run's)
    assert float(theirs[1]["train_loss"]) != pytest.approx(float(theirs[0]["train_loss"]), abs=1e-3)
