"""Training with dropout on draws sentence-transformers' masks for a seed where its losses run their forwards
in other shapes than the plain losses (tests/test_dropout_s42.py): AdaptiveLayerLoss and Matryoshka2dLoss
(one forward a column), the cached losses (mini-batches in input order, each cut to its longest row, their
random states replayed) and the cross-encoder losses (a batch whose pairs fall into several length groups in
one forward; MultipleNegativesRankingLoss one forward a column, the in-batch negatives drawn after the
positives')."""

from __future__ import annotations

import importlib

import pytest
from conftest import build_tiny_classifier, classic_pooling
from test_dropout_s42 import ARGUMENTS, A, B, C

import sbert

# pairs long (~50 tokens) and short (5) by turns: a batch of 8 falls into two length groups in sbert's own
# forwards
TEXT = (
    "the man who plays guitar on a sunny day outside the house sat on the mat with the dog and the cat while "
    "it is sunny and the weather is nice today"
)
QUERIES = ["ok" if i % 2 else TEXT[: 100 + 3 * i] for i in range(16)]
DOCUMENTS = ["yes" if i % 2 else TEXT[: 90 + 5 * i] for i in range(16)]


def logged_losses(trainer) -> list[float]:
    trainer.train()
    return [record["loss"] for record in trainer.state.log_history if "loss" in record]


def dense_losses(lib, folder, out, make_loss, columns):
    from datasets import Dataset

    losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
    model = lib.SentenceTransformer(str(folder), device="cpu")
    args = lib.SentenceTransformerTrainingArguments(output_dir=str(out), **ARGUMENTS)
    data = Dataset.from_dict(dict(zip(["anchor", "positive", "negative"], [A, B, C][:columns])))
    loss = make_loss(lib, losses, model, folder)
    return logged_losses(
        lib.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
    )


DENSE_LOSSES = {
    "adaptive-layer": (
        lambda lib, L, m, folder: L.AdaptiveLayerLoss(m, L.MultipleNegativesRankingLoss(m)),
        3,
    ),
    "matryoshka-2d": (
        lambda lib, L, m, folder: L.Matryoshka2dLoss(m, L.MultipleNegativesRankingLoss(m), [32, 16]),
        3,
    ),
    "cached-mnrl": (lambda lib, L, m, folder: L.CachedMultipleNegativesRankingLoss(m, mini_batch_size=2), 3),
    "cached-symmetric": (
        lambda lib, L, m, folder: L.CachedMultipleNegativesSymmetricRankingLoss(m, mini_batch_size=2),
        2,
    ),
    # the guide, freshly loaded, runs in eval mode (its encoder's dropout off) in both libraries
    "cached-gist": (
        lambda lib, L, m, folder: L.CachedGISTEmbedLoss(
            m, lib.SentenceTransformer(str(folder)), mini_batch_size=2
        ),
        3,
    ),
}


@pytest.mark.parametrize("name", list(DENSE_LOSSES))
def test_dense_losses_with_dropout_draw_sentence_transformers_masks(tiny_st_factory, tmp_path, name):
    import sentence_transformers

    make_loss, columns = DENSE_LOSSES[name]
    folder = tiny_st_factory(classic_pooling(32, "mean"))  # the tiny BERT's dropout: 0.1
    theirs = dense_losses(sentence_transformers, folder, tmp_path / "st", make_loss, columns)
    ours = dense_losses(sbert, folder, tmp_path / "sbert", make_loss, columns)
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, abs=2e-4)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("dropout-ce") / "ce")


def cross_losses(lib, folder, out, loss_name):
    from datasets import Dataset

    cross = importlib.import_module(f"{lib.__name__}.cross_encoder")
    model = cross.CrossEncoder(str(folder), device="cpu")
    args = cross.CrossEncoderTrainingArguments(
        output_dir=str(out), **{**ARGUMENTS, "per_device_train_batch_size": 8}
    )
    columns = {"query": QUERIES, "document": DOCUMENTS}
    if loss_name == "BinaryCrossEntropyLoss":
        columns["label"] = [float(i % 3 == 0) for i in range(16)]
    loss = getattr(cross.losses, loss_name)(model)
    trainer = cross.CrossEncoderTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict(columns), loss=loss
    )
    return logged_losses(trainer)


@pytest.mark.parametrize("loss_name", ["BinaryCrossEntropyLoss", "MultipleNegativesRankingLoss"])
def test_cross_encoder_losses_with_dropout_draw_sentence_transformers_masks(classifier, tmp_path, loss_name):
    import sentence_transformers

    theirs = cross_losses(sentence_transformers, classifier, tmp_path / "st", loss_name)
    ours = cross_losses(sbert, classifier, tmp_path / "sbert", loss_name)
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, abs=2e-4)


def fit_losses(lib, folder):
    """The loss of each step of the cross-encoder's classic ``fit``, recorded by its ``loss_fct``."""
    import torch
    from torch.utils.data import DataLoader

    seen = []

    class Recorded(torch.nn.BCEWithLogitsLoss):
        def forward(self, logits, labels):
            loss = super().forward(logits, labels)
            seen.append(loss.item())
            return loss

    cross = importlib.import_module(f"{lib.__name__}.cross_encoder")
    model = cross.CrossEncoder(str(folder), device="cpu")
    rows = [
        lib.InputExample(texts=[q, d], label=float(i % 3 == 0))
        for i, (q, d) in enumerate(zip(QUERIES, DOCUMENTS))
    ]
    torch.manual_seed(1)
    loader = DataLoader(rows, batch_size=8, shuffle=False)
    model.fit(train_dataloader=loader, epochs=1, loss_fct=Recorded(), show_progress_bar=False)
    return seen


def test_cross_encoder_fit_with_dropout_draws_sentence_transformers_masks(classifier):
    import sentence_transformers

    theirs = fit_losses(sentence_transformers, classifier)
    ours = fit_losses(sbert, classifier)
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, abs=2e-4)


def test_sbert_trainer_keeps_length_groups_for_every_loss(classifier):
    """The one decision every loss reads: sentence-transformers' forwards only where a model draws dropout
    masks, and never inside sbert's own Trainer (its length groups, its speed)."""
    from sbert._losses.base import forwards_as_sentence_transformers
    from sbert._losses.column_merge import length_groups_with_dropout

    model = sbert.CrossEncoder(str(classifier), device="cpu", backend="torch")
    model.train()
    assert forwards_as_sentence_transformers(model)
    with length_groups_with_dropout():
        assert not forwards_as_sentence_transformers(model)
    model.eval()
    assert not forwards_as_sentence_transformers(model)
