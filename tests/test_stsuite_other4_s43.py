"""Scenarios of sentence-transformers' own test suite (cross-encoder, sparse and multi-vector trainers and
model cards), run on sbert and on sentence-transformers 6.3 with the same tiny models.

A model card written after a trainer was made but before it trained: sentence-transformers' card already
has its "Training Details" with the datasets the trainer was given (size, columns, statistics, samples,
loss), and its framework versions, as its own tests expect ("#### Unnamed Dataset", "#### train_0", ...)."""

from __future__ import annotations

import importlib
import re
import warnings

import pytest
from conftest import build_tiny_bert, build_tiny_classifier, build_tiny_masked_lm
from datasets import Dataset, DatasetDict

LIBRARIES = {"st": "sentence_transformers", "sbert": "sbert"}
PAIRS = {
    "anchor": [f"anchor {i}" for i in range(1, 11)],
    "positive": [f"positive {i} text" * (1 + i % 3) for i in range(1, 11)],
    "label": [float(i % 2) for i in range(10)],
}
TRIPLETS = {k: [f"{k} {i}" for i in range(1, 11)] for k in ("anchor", "positive", "negative")}


def _cross(ns, model):
    return ns.losses.BinaryCrossEntropyLoss(model), PAIRS


def _cross_classes(ns, model):
    return ns.losses.CrossEntropyLoss(model), {**PAIRS, "label": [i % 3 for i in range(10)]}


def _sparse(ns, model):
    losses = ns.losses
    loss = losses.SpladeLoss(
        model,
        losses.SparseMultipleNegativesRankingLoss(model),
        document_regularizer_weight=3e-5,
        query_regularizer_weight=5e-5,
    )
    return loss, TRIPLETS


def _multi_vector(ns, model):
    return ns.losses.MultiVectorMultipleNegativesRankingLoss(model=model), TRIPLETS


def _dense(ns, model):
    return ns.losses.MultipleNegativesRankingLoss(model), TRIPLETS


KINDS = {  # kind -> (namespace, model class, trainer prefix, loss and data)
    "cross": ("cross_encoder", "CrossEncoder", "CrossEncoder", _cross),
    "cross_classes": ("cross_encoder", "CrossEncoder", "CrossEncoder", _cross_classes),
    "sparse": ("sparse_encoder", "SparseEncoder", "SparseEncoder", _sparse),
    "multi_vector": ("multi_vector_encoder", "MultiVectorEncoder", "MultiVectorEncoder", _multi_vector),
    "dense": ("sentence_transformer", "SentenceTransformer", "SentenceTransformer", _dense),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory, dropout_free_st) -> dict:
    root = tmp_path_factory.mktemp("stsuite-other4")
    bert = build_tiny_bert(root / "bert")
    return {
        "cross": build_tiny_classifier(root / "ce"),
        "cross_classes": build_tiny_classifier(root / "ce3", num_labels=3),
        "sparse": build_tiny_masked_lm(root / "mlm"),
        "multi_vector": bert,
        "dense": dropout_free_st,
    }


def _card_after_init(library: str, kind: str, folder, out, datasets: int) -> str:
    space, model_class, prefix, loss_and_data = KINDS[kind]
    ns = importlib.import_module(f"{LIBRARIES[library]}.{space}")
    importlib.import_module(f"{ns.__name__}.losses")
    card = importlib.import_module(f"{LIBRARIES[library]}.base.model_card")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(ns, model_class)(str(folder), device="cpu")
        model.model_card_data.local_files_only = True
        loss, data = loss_and_data(ns, model)
        train = Dataset.from_dict(data)
        if datasets:
            train = DatasetDict({f"train_{i}": train for i in range(datasets)})
            loss = {f"train_{i}": loss for i in range(datasets)}
        args = getattr(ns, f"{prefix}TrainingArguments")(output_dir=str(out), report_to="none")
        getattr(ns, f"{prefix}Trainer")(model=model, args=args, train_dataset=train, loss=loss)
        return card.generate_model_card(model)


def _training_details(card: str) -> str:
    """From "## Training Details" up to the next second-level heading, with sbert's name beside the
    sentence-transformers version (the one line that says which library wrote the card) left out."""
    assert "## Training Details\n" in card, "no Training Details section"
    after = card.split("## Training Details\n", 1)[1]
    part = "## Training Details\n" + re.split(r"^## ", after, flags=re.M)[0]
    return "\n".join(line for line in part.splitlines() if not line.startswith("- Sentence Transformers:"))


@pytest.mark.parametrize("datasets", [0, 1, 10])
@pytest.mark.parametrize("kind", list(KINDS))
def test_training_details_after_trainer_init_as_sentence_transformers(folders, tmp_path, kind, datasets):
    st, ours = (
        _card_after_init(lib, kind, folders[kind], tmp_path / lib, datasets) for lib in ("st", "sbert")
    )
    details = _training_details(ours)
    assert details == _training_details(st)
    if datasets == 0:
        assert "#### Unnamed Dataset" in ours
    else:
        assert "#### train_0" in ours and ("<details><summary>train_9</summary>" in ours) == (datasets == 10)
    assert "\n\n\n" not in details
