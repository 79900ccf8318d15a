"""Client-library probes of session 41 (third batch): what they call, run alike in sbert and
sentence-transformers.

setfit 0.7's ``DistillationSetFitTrainer`` labels each student pair with the teacher's ``util.cos_sim``, which
float32 rounding puts above 1 (a text with itself, or two near-duplicates), and trains them with the classic
``fit`` and ``CosineSimilarityLoss``; sentence-transformers trains on those labels (cross-encoder scores made
from a cosine reach just above 1 the same way)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, without_dropout

import sbert

TEXTS = ["good movie", "great film", "bad movie", "awful film", "nice plot", "terrible plot", "lovely"]


def _rounded_up_cosine() -> float:
    """One float32 step above 1: what ``util.cos_sim`` of a vector with itself gives when its rounding goes
    up. Whether it does depends on the CPU's matmul kernels (above 1 on one, exactly 1 on another), so the
    value is built here rather than computed."""
    return float(np.nextafter(np.float32(1.0), np.float32(2.0)))  # 1.0000001192092896


def _fit_on_cosine_labels(library, folder, cross: bool) -> np.ndarray:
    from torch.utils.data import DataLoader

    top = _rounded_up_cosine()
    labels = [top, 0.3, top, 0.9, 0.1, top, 0.5, 0.7] if cross else [top, 0.2, top, -0.4, 0.9, top, 0.0, 0.6]
    pairs = [[TEXTS[i % 7], TEXTS[(i * 3 + 1) % 7]] for i in range(8)]
    examples = [library.InputExample(texts=pair, label=label) for pair, label in zip(pairs, labels)]
    torch.manual_seed(0)
    loader = DataLoader(examples, shuffle=True, batch_size=4)
    if cross:
        model = library.CrossEncoder(str(folder), device="cpu")
        model.fit(loader, epochs=1, warmup_steps=1, optimizer_params={"lr": 1e-3}, show_progress_bar=False)
        return model.predict(pairs)
    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    model = library.SentenceTransformer(str(folder), device="cpu")
    model.fit(
        train_objectives=[(loader, losses.CosineSimilarityLoss(model))],
        epochs=1,
        warmup_steps=1,
        optimizer_params={"lr": 1e-3},
        show_progress_bar=False,
    )
    return model.encode(TEXTS)


@pytest.mark.parametrize("cross", [False, True], ids=["CosineSimilarityLoss", "CrossEncoder-BCE"])
def test_fit_takes_cosine_labels_rounded_past_the_range(dropout_free_st, tmp_path, cross):
    import sentence_transformers

    folder = without_dropout(build_tiny_classifier(tmp_path / "ce")) if cross else dropout_free_st
    theirs = _fit_on_cosine_labels(sentence_transformers, folder, cross)
    ours = _fit_on_cosine_labels(sbert, folder, cross)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def test_labels_far_outside_the_range_are_still_refused():
    from sbert._errors import InputError
    from sbert._losses.base import check_range

    check_range(np.array([-1.0, 1.0000001, 1.005]), "data", "CosineSimilarityLoss", -1.0, 1.0)
    with pytest.raises(InputError, match=r"row 1 has label 1.05, outside \[0, 1\]"):
        check_range(np.array([1.0, 1.05]), "data", "BinaryCrossEntropyLoss", 0.0, 1.0)
    with pytest.raises(InputError, match=r"row 0 has label 4.2, outside \[-1, 1\]"):
        check_range(np.array([4.2]), "data", "CosineSimilarityLoss", -1.0, 1.0)
