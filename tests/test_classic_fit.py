"""sentence-transformers' classic ``model.fit(train_objectives=[(DataLoader, loss)], ...)`` gives its weights:
its defaults (seed 42, 10000 warm-up steps), its schedule length and schedulers, and the order a shuffling
DataLoader yields the examples in."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


@pytest.fixture
def folder(dropout_free_st):
    return dropout_free_st


def fitted(library, folder, tmp_path, **options):
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    model = library.SentenceTransformer(str(folder), device="cpu")
    examples = [library.InputExample(texts=[WORDS[i], WORDS[(i + 3) % 12]]) for i in range(12)]
    scored = [library.InputExample(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
    torch.manual_seed(0)  # the shuffling loaders draw their order from torch's global generator
    objectives = [
        (
            DataLoader(examples, shuffle=True, batch_size=4),
            losses.MultipleNegativesRankingLoss(model),
        ),
        (DataLoader(scored, shuffle=True, batch_size=4), losses.CosineSimilarityLoss(model)),
    ]
    model.fit(train_objectives=objectives, epochs=2, show_progress_bar=False, **options)
    return model.encode(WORDS)


@pytest.mark.parametrize(
    "options",
    [
        {"optimizer_params": {"lr": 1e-3}},  # the default warm-up: 10000 steps
        {"optimizer_params": {"lr": 1e-3}, "warmup_steps": 2},
        {"optimizer_params": {"lr": 1e-3}, "warmup_steps": 2, "scheduler": "WarmupCosine"},
    ],
    ids=["defaults", "warmup", "cosine"],
)
def test_classic_fit_gives_sentence_transformers_weights(folder, tmp_path, options, recwarn):
    import sentence_transformers

    before = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(WORDS)
    theirs = fitted(sentence_transformers, folder, tmp_path, **options)
    ours = fitted(sbert, folder, tmp_path, **options)
    assert np.abs(theirs - before).max() > (1e-4 if "warmup_steps" not in options else 1e-2)  # it trained
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
