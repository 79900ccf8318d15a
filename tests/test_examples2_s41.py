"""Call patterns of sentence-transformers' example scripts (examples/sentence_transformer/training/matryoshka,
adaptive_layer, ..., cross_encoder/training, sparse_encoder/training) that the earlier example tests do not
cover: the same script, the same results."""

from __future__ import annotations

import random

import pytest
import torch

TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
TEXTS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _pairs():
    from datasets import Dataset

    return Dataset.from_dict(
        {"sentence1": TEXTS[:8], "sentence2": TEXTS[4:], "score": [i / 8 for i in range(8)]}
    )


def _triplets():
    from datasets import Dataset

    return Dataset.from_dict({"anchor": TEXTS[:4], "positive": TEXTS[4:8], "negative": TEXTS[8:]})


def _state_after_trainer(package: str, kind: str, folder, out) -> tuple:
    """The Python generator's state just after a trainer on the example scripts' data is made."""
    import importlib

    library = importlib.import_module(package)
    if kind == "sparse":
        losses = importlib.import_module(f"{package}.sparse_encoder.losses")
        model = library.SparseEncoder(str(folder), device="cpu")
        loss = losses.SpladeLoss(model, losses.SparseMultipleNegativesRankingLoss(model), 1e-3, 1e-3)
        args = library.SparseEncoderTrainingArguments(output_dir=str(out), seed=12, report_to="none")
        library.SparseEncoderTrainer(model=model, args=args, train_dataset=_triplets(), loss=loss)
        return random.getstate()
    losses = importlib.import_module(f"{package}.sentence_transformer").losses
    model = library.SentenceTransformer(str(folder), device="cpu")
    args = library.SentenceTransformerTrainingArguments(output_dir=str(out), seed=12, report_to="none")
    data = {
        "pairs": {"train_dataset": _pairs()},
        "eval": {"train_dataset": _pairs(), "eval_dataset": _triplets()},
    }
    loss = losses.CoSENTLoss(model) if kind == "pairs" else losses.MultipleNegativesRankingLoss(model)
    library.SentenceTransformerTrainer(model=model, args=args, loss=loss, **data[kind])
    first = random.getstate()
    # a second trainer on the same model: its card has its examples already, nothing more is drawn
    library.SentenceTransformerTrainer(model=model, args=args, loss=loss, **data[kind])
    return first, random.getstate()


@pytest.mark.parametrize("kind", ["pairs", "eval", "sparse"])
def test_a_trainer_draws_from_random_as_sentence_transformers_as_it_is_made(
    kind, dropout_free_st, masked_lm, tmp_path
):
    # sentence-transformers' model-card callback picks widget examples with `random` right after seeding
    folder = masked_lm if kind == "sparse" else dropout_free_st
    states = {
        name: _state_after_trainer(name, kind, folder, tmp_path / name)
        for name in ("sentence_transformers", "sbert")
    }
    assert states["sbert"] == states["sentence_transformers"]


def _train_2d(package: str, folder, out) -> torch.Tensor:
    import importlib

    library = importlib.import_module(package)
    losses = importlib.import_module(f"{package}.sentence_transformer").losses
    model = library.SentenceTransformer(str(folder), device="cpu")
    # training/matryoshka/2d_matryoshka_sts.py: one random layer and one random size per step
    loss = losses.Matryoshka2dLoss(model, losses.CoSENTLoss(model), [32, 16, 8])
    args = library.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        num_train_epochs=2,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        seed=12,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    library.SentenceTransformerTrainer(model=model, args=args, train_dataset=_pairs(), loss=loss).train()
    return model.encode(TEXTS[:4], convert_to_tensor=True)


def test_matryoshka_2d_picks_the_same_layers_and_sizes_for_a_seed(dropout_free_st, tmp_path):
    theirs = _train_2d("sentence_transformers", dropout_free_st, tmp_path / "st")
    ours = _train_2d("sbert", dropout_free_st, tmp_path / "ours")
    torch.testing.assert_close(torch.as_tensor(ours), theirs, atol=1e-5, rtol=0)
