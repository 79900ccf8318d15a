"""Training with dropout on (every real model's ``hidden_dropout_prob`` is 0.1): the masks are drawn per
forward over its ``(B, T, H)`` inputs, so the same seed gives sentence-transformers' masks, and its losses,
only where the columns run in its forwards: the first column alone, the others merged into one batch, column
after column.
"""

from __future__ import annotations

import importlib

import pytest
from conftest import classic_pooling

import sbert

A = [
    "a sunny day outside",
    "the cat sat on the mat",
    "a man plays guitar",
    "the dog runs fast",
    "one two",
    "ok",
]
B = [
    "it is sunny",
    "a cat on a mat",
    "someone plays music",
    "a slow dog",
    "three",
    "the weather is nice today",
]
C = ["a cat", "the guitar is loud today", "sunny", "dogs", "the mat", "a man runs"]
# both libraries' trainers: a step per 3 rows, every loss logged, nothing saved
ARGUMENTS = {
    "per_device_train_batch_size": 3,
    "num_train_epochs": 1,
    "logging_steps": 1,
    "save_strategy": "no",
    "report_to": "none",
    "disable_tqdm": True,
    "seed": 1,
}


def losses_of(lib, folder, out, columns):
    from datasets import Dataset

    losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
    model = lib.SentenceTransformer(str(folder), device="cpu")
    args = lib.SentenceTransformerTrainingArguments(output_dir=str(out), **ARGUMENTS)
    data = Dataset.from_dict(dict(zip(["anchor", "positive", "negative"], [A, B, C][:columns])))
    trainer = lib.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model)
    )
    trainer.train()
    return [record["loss"] for record in trainer.state.log_history if "loss" in record]


@pytest.mark.parametrize("columns", [2, 3])
def test_dense_training_with_dropout_draws_sentence_transformers_masks(tiny_st_factory, tmp_path, columns):
    import sentence_transformers

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    theirs = losses_of(sentence_transformers, folder, tmp_path / "st", columns)
    ours = losses_of(sbert, folder, tmp_path / "sbert", columns)
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, abs=2e-4)


def splade_losses_of(lib, folder, out, documents_only):
    from datasets import Dataset

    sparse = importlib.import_module(f"{lib.__name__}.sparse_encoder")
    model = sparse.SparseEncoder(str(folder), device="cpu")
    loss = sparse.losses.SpladeLoss(
        model,
        sparse.losses.SparseMultipleNegativesRankingLoss(model),
        document_regularizer_weight=3e-5,
        query_regularizer_weight=None if documents_only else 5e-5,
        use_document_regularizer_only=documents_only,
    )
    args = sparse.SparseEncoderTrainingArguments(output_dir=str(out), **ARGUMENTS)
    data = Dataset.from_dict({"anchor": A, "positive": B})
    trainer = sparse.SparseEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss)
    trainer.train()
    return [record["loss"] for record in trainer.state.log_history if "loss" in record]


@pytest.mark.parametrize("documents_only", [False, True])
def test_splade_training_with_dropout_draws_sentence_transformers_masks(masked_lm, tmp_path, documents_only):
    """With ``use_document_regularizer_only`` every column is a document: sentence-transformers merges them
    all, the first included."""
    import sentence_transformers

    theirs = splade_losses_of(sentence_transformers, masked_lm, tmp_path / "st", documents_only)
    ours = splade_losses_of(sbert, masked_lm, tmp_path / "sbert", documents_only)
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, abs=2e-5)


def test_sbert_trainer_keeps_its_length_groups_with_dropout(tiny_st_factory, tmp_path, monkeypatch):
    """sbert's own Trainer groups rows by length with dropout on too (its speed over sentence-transformers'
    trainer; its masks its own), where sentence-transformers' trainer runs its forwards (above)."""
    from conftest import train_args

    from sbert._losses import base

    plans = []
    original = base._embed_as_sentence_transformers
    monkeypatch.setattr(
        base, "_embed_as_sentence_transformers", lambda *a: plans.append("st") or original(*a)
    )
    folder = tiny_st_factory(classic_pooling(32, "mean"))  # the tiny BERT's dropout 0.1
    model = sbert.SentenceTransformer(str(folder), backend="torch")
    data = sbert.load_dataset({"anchor": A, "positive": B}, label="")
    loss = sbert.MultipleNegativesRankingLoss(model)
    sbert.Trainer(model, data, loss, args=train_args(tmp_path / "own", max_steps=2)).train()
    assert plans == []
    losses_of(sbert, folder, tmp_path / "st", 2)
    assert plans  # the sentence-transformers trainer: its forwards
