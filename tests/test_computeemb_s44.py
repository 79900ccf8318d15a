"""sentence-transformers' classic ``fit`` on old-style DataLoaders of InputExamples, side by side: the same
loss at every step for several losses (dropout off, same seed), and a few STSb rows trained on the default
model give the same EmbeddingSimilarityEvaluator Spearman."""

from __future__ import annotations

import csv
import importlib

import pytest
import torch
from conftest import DATA

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def examples(library, loss_name):
    make = library.InputExample
    if loss_name == "SoftmaxLoss":
        return [make(texts=[WORDS[i], WORDS[-i - 1]], label=i % 3) for i in range(12)]
    if loss_name == "CoSENTLoss":
        return [make(texts=[WORDS[i], WORDS[-i - 1]], label=i / 11) for i in range(12)]
    return [make(texts=[WORDS[i]], label=i % 3) for i in range(12)]  # a batch triplet loss: one text, a class


def step_losses(library, folder, loss_name):
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    model = library.SentenceTransformer(str(folder), device="cpu")
    options = {"embedding_dimension": 32, "num_labels": 3} if loss_name == "SoftmaxLoss" else {}
    torch.manual_seed(1)  # SoftmaxLoss's classifier
    loss = getattr(losses, loss_name)(model, **options)
    seen: list = []
    loss.register_forward_hook(lambda module, inputs, output: seen.append(float(output.detach())))
    torch.manual_seed(0)  # the loader's shuffling
    loader = DataLoader(examples(library, loss_name), shuffle=True, batch_size=4)
    model.fit(
        train_objectives=[(loader, loss)], epochs=2, warmup_steps=1, optimizer_params={"lr": 1e-3},
        show_progress_bar=False,
    )  # fmt: skip
    return seen


@pytest.mark.parametrize("loss_name", ["SoftmaxLoss", "CoSENTLoss", "BatchHardTripletLoss"])
def test_fit_gives_sentence_transformers_loss_at_every_step(dropout_free_st, loss_name):
    import sentence_transformers

    theirs = step_losses(sentence_transformers, dropout_free_st, loss_name)
    ours = step_losses(sbert, dropout_free_st, loss_name)
    assert len(ours) == len(theirs) == 6
    assert ours == pytest.approx(theirs, abs=1e-5)


def stsb(library, split: str, n: int) -> list:
    with open(DATA / "stsb" / f"{split}.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    make = library.InputExample
    return [make(texts=[r["sentence1"], r["sentence2"]], label=float(r["score"]) / 5) for r in rows]


def tiny_stsb_run(library, folder) -> dict:
    """16 STSb train rows, one epoch of CosineSimilarityLoss, then the evaluator on 40 test rows."""
    from torch.utils.data import DataLoader

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
    model = library.SentenceTransformer(str(folder), device="cpu")
    test = stsb(library, "test", 40)
    evaluator = evaluation.EmbeddingSimilarityEvaluator(
        [e.texts[0] for e in test], [e.texts[1] for e in test], [e.label for e in test], name="sts-test"
    )
    torch.manual_seed(0)  # the loader's order and the dropout masks
    loader = DataLoader(stsb(library, "train", 16), shuffle=True, batch_size=8)
    model.fit(
        train_objectives=[(loader, losses.CosineSimilarityLoss(model))], epochs=1, warmup_steps=1,
        optimizer_params={"lr": 1e-4}, show_progress_bar=False,
    )  # fmt: skip
    return evaluator(model)


def test_tiny_stsb_training_gives_sentence_transformers_spearman(default_model_path):
    """The default model (a real vocabulary: the tiny BERT's cosines on STSb tie near 1, so its ranks are
    noise) trained on a few rows, dropout on: the same Spearman as sentence-transformers' to 1e-6."""
    import sentence_transformers

    theirs = tiny_stsb_run(sentence_transformers, default_model_path)
    ours = tiny_stsb_run(sbert, default_model_path)
    assert sorted(ours) == sorted(theirs) == ["sts-test_pearson_cosine", "sts-test_spearman_cosine"]
    assert ours["sts-test_spearman_cosine"] == pytest.approx(theirs["sts-test_spearman_cosine"], abs=1e-6)
    assert ours["sts-test_pearson_cosine"] == pytest.approx(theirs["sts-test_pearson_cosine"], abs=1e-6)
