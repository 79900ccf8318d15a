"""Training with dropout on (the tiny models' 0.1 hidden and attention dropout) logs sentence-transformers
6.3's per-step losses for a seed, beyond tests/test_dropout_s42.py and tests/test_dropout_s43.py: the sparse
trainer (SpladeLoss, CachedSpladeLoss, CSRLoss), the multi-vector trainer's cached loss, TSDAE, the
cross-encoder's CrossEntropyLoss on three labels, its listwise losses and MarginMSELoss (one forward a
column, as there), and GISTEmbedLoss with a guide that draws dropout masks of its own, alone and inside
MatryoshkaLoss, AdaptiveLayerLoss and Matryoshka2dLoss (the guide runs after the model, once for each call
of the inner loss, as there)."""

from __future__ import annotations

import importlib
import shutil

import pytest
from conftest import build_tiny_classifier, build_tiny_masked_lm, classic_pooling
from test_dropout_s42 import ARGUMENTS as S42_ARGUMENTS
from test_dropout_s43 import DOCUMENTS, QUERIES, logged_losses

import sbert

ARGUMENTS = {**S42_ARGUMENTS, "per_device_train_batch_size": 8}
# a third column, long and short by other turns than the first two: batches in several length groups
NEGATIVES = ["a cat" if i % 3 else (QUERIES[0] + " again")[: 60 + 4 * i] for i in range(16)]
MARGINS = [0.5 + 0.1 * i for i in range(16)]
TEACHER_SCORES = [[0.9 - 0.05 * i, 0.2 + 0.03 * i] for i in range(16)]
DOCUMENT_LISTS = [[d, n, q, "ok"] for q, d, n in zip(QUERIES, DOCUMENTS, NEGATIVES)]
RELEVANCE = [[1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 0, 0], [2, 0, 1, 0]] * 4


def data(**columns):
    from datasets import Dataset

    return Dataset.from_dict(columns)


TRIPLETS = {"query": QUERIES, "positive": DOCUMENTS, "negative": NEGATIVES}


def assert_same_losses(run, tmp_path):
    import sentence_transformers

    theirs = run(sentence_transformers, tmp_path / "st")
    ours = run(sbert, tmp_path / "sbert")
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, abs=2e-4)


# ------------------------------------------------------------------ the dense trainer


def trained_guide(lib, folder):
    """A guide whose dropout is on (a model trained earlier in the script, or put in train mode)."""
    guide = lib.SentenceTransformer(str(folder), device="cpu")
    guide.train()
    return guide


DENSE = {
    "gist": lambda lib, L, m, f: L.GISTEmbedLoss(m, trained_guide(lib, f)),
    "matryoshka-gist": lambda lib, L, m, f: L.MatryoshkaLoss(
        m, L.GISTEmbedLoss(m, trained_guide(lib, f)), [32, 16]
    ),
    "adaptive-layer-gist": lambda lib, L, m, f: L.AdaptiveLayerLoss(
        m, L.GISTEmbedLoss(m, trained_guide(lib, f))
    ),
    "matryoshka-2d-gist": lambda lib, L, m, f: L.Matryoshka2dLoss(
        m, L.GISTEmbedLoss(m, trained_guide(lib, f)), [32, 16]
    ),
    # the guide loaded as the model is: its transformer in eval mode, no masks of its own
    "adaptive-layer-gist-eval-guide": lambda lib, L, m, f: L.AdaptiveLayerLoss(
        m, L.GISTEmbedLoss(m, lib.SentenceTransformer(str(f), device="cpu"))
    ),
    "tsdae": lambda lib, L, m, f: L.DenoisingAutoEncoderLoss(m),
}


@pytest.mark.parametrize("name", list(DENSE))
def test_dense_losses_with_dropout_log_sentence_transformers_losses(tiny_st_factory, tmp_path, name):
    import torch

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    columns = {"damaged": NEGATIVES, "original": QUERIES} if name == "tsdae" else TRIPLETS

    def run(lib, out):
        losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
        torch.manual_seed(0)  # TSDAE's decoder draws its new weights as the loss is made
        model = lib.SentenceTransformer(str(folder), device="cpu")
        loss = DENSE[name](lib, losses, model, folder)
        args = lib.SentenceTransformerTrainingArguments(output_dir=str(out), **ARGUMENTS)
        return logged_losses(
            lib.SentenceTransformerTrainer(model=model, args=args, train_dataset=data(**columns), loss=loss)
        )

    assert_same_losses(run, tmp_path)


# ------------------------------------------------------------------ the cross-encoder trainer


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    root = tmp_path_factory.mktemp("dropout3-ce")
    return {1: build_tiny_classifier(root / "one"), 3: build_tiny_classifier(root / "three", num_labels=3)}


CROSS = {
    "MarginMSELoss": (1, lambda L, m: L.MarginMSELoss(m), {**TRIPLETS, "label": MARGINS}),
    "MarginMSELoss-scores": (1, lambda L, m: L.MarginMSELoss(m), {**TRIPLETS, "label": TEACHER_SCORES}),
    "CrossEntropyLoss": (
        3,
        lambda L, m: L.CrossEntropyLoss(m),
        {"q": QUERIES, "d": NEGATIVES, "label": [0, 1, 2, 1] * 4},
    ),
    "ListNetLoss": (
        1,
        lambda L, m: L.ListNetLoss(m),
        {"q": QUERIES, "docs": DOCUMENT_LISTS, "labels": RELEVANCE},
    ),
    "LambdaLoss": (
        1,
        lambda L, m: L.LambdaLoss(m, mini_batch_size=5),
        {"q": QUERIES, "docs": DOCUMENT_LISTS, "labels": RELEVANCE},
    ),
}


@pytest.mark.parametrize("name", list(CROSS))
def test_cross_encoder_losses_with_dropout_log_sentence_transformers_losses(classifiers, tmp_path, name):
    labels, make_loss, columns = CROSS[name]

    def run(lib, out):
        cross = importlib.import_module(f"{lib.__name__}.cross_encoder")
        model = cross.CrossEncoder(str(classifiers[labels]), device="cpu")
        args = cross.CrossEncoderTrainingArguments(output_dir=str(out), **ARGUMENTS)
        loss = make_loss(cross.losses, model)
        return logged_losses(
            cross.CrossEncoderTrainer(model=model, args=args, train_dataset=data(**columns), loss=loss)
        )

    assert_same_losses(run, tmp_path)


# ------------------------------------------------------------------ the sparse and multi-vector trainers


@pytest.fixture(scope="module")
def sparse_folders(tiny_bert, tmp_path_factory):
    """A SPLADE masked LM and a CSR model (transformer, mean pooling, SparseAutoEncoder), dropout on."""
    import torch
    from sentence_transformers import MultiVectorEncoder, SparseEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder.modules import SparseAutoEncoder

    root = tmp_path_factory.mktemp("dropout3-sparse")
    bert = shutil.copytree(tiny_bert, root / "bert")
    torch.manual_seed(0)
    csr = SparseAutoEncoder(32, hidden_dim=64, k=4, k_aux=8)
    SparseEncoder(modules=[Transformer(str(bert)), Pooling(32, "mean"), csr], device="cpu").save(
        str(root / "csr")
    )
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "multi-vector"))
    return {
        "splade": build_tiny_masked_lm(root / "mlm"),
        "csr": root / "csr",
        "multi-vector": root / "multi-vector",
    }


def splade(L, m, cached=False):
    inner = L.SparseMultipleNegativesRankingLoss(m)
    weights = {"document_regularizer_weight": 3e-3, "query_regularizer_weight": 5e-3}
    return (
        L.CachedSpladeLoss(m, inner, mini_batch_size=3, **weights)
        if cached
        else L.SpladeLoss(m, inner, **weights)
    )


SPARSE = {
    "SpladeLoss": ("splade", lambda L, m: splade(L, m)),
    "CachedSpladeLoss": ("splade", lambda L, m: splade(L, m, cached=True)),
    "CSRLoss": ("csr", lambda L, m: L.CSRLoss(m)),
}


@pytest.mark.parametrize("name", [*SPARSE, "CachedMultiVectorMultipleNegativesRankingLoss"])
def test_sparse_and_multi_vector_losses_with_dropout_log_sentence_transformers_losses(
    sparse_folders, tmp_path, name
):
    def run(lib, out):
        if name in SPARSE:
            kind, make_loss = SPARSE[name]
            family = importlib.import_module(f"{lib.__name__}.sparse_encoder")
            model = family.SparseEncoder(str(sparse_folders[kind]), device="cpu")
            args = family.SparseEncoderTrainingArguments(output_dir=str(out), **ARGUMENTS)
            trainer = family.SparseEncoderTrainer
            loss = make_loss(family.losses, model)
        else:
            family = importlib.import_module(f"{lib.__name__}.multi_vector_encoder")
            losses = importlib.import_module(f"{lib.__name__}.multi_vector_encoder.losses")
            model = family.MultiVectorEncoder(str(sparse_folders["multi-vector"]), device="cpu")
            args = family.MultiVectorEncoderTrainingArguments(output_dir=str(out), **ARGUMENTS)
            trainer = family.MultiVectorEncoderTrainer
            loss = losses.CachedMultiVectorMultipleNegativesRankingLoss(model, mini_batch_size=3)
        return logged_losses(trainer(model=model, args=args, train_dataset=data(**TRIPLETS), loss=loss))

    assert_same_losses(run, tmp_path)
