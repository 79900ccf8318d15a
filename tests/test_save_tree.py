"""``model.save(path)`` writes the same folders and files as sentence-transformers 6.3 for the usual
pipelines (README.md aside: sbert writes its own card), every folder modules.json names exists, and the
default Normalize's config.json holds what sentence-transformers writes there."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import sentence_transformers
import torch
from conftest import build_tiny_classifier
from sentence_transformers.sentence_transformer import modules as st_modules
from sentence_transformers.sparse_encoder import modules as st_sparse
from transformers import AutoTokenizer

import sbert
from sbert import models
from sbert.sparse_encoder import models as sparse_models


def _branch(m, bert: Path, dense: bool = False) -> list:
    torch.manual_seed(0)
    encoder = m.Transformer(str(bert))
    modules = [encoder, m.Pooling(encoder.get_embedding_dimension(), "mean")]
    return [*modules, m.Dense(encoder.get_embedding_dimension(), 8)] if dense else modules


# name -> builder of the model from (package, its dense modules, its sparse modules, the tiny BERT, the MLM)
CASES = {
    "transformer_dense_normalize": lambda pkg, m, s, bert, mlm: pkg.SentenceTransformer(
        modules=[*_branch(m, bert, dense=True), m.Normalize()], device="cpu"
    ),
    "router_normalize": lambda pkg, m, s, bert, mlm: pkg.SentenceTransformer(
        modules=[m.Router.for_query_document(_branch(m, bert), _branch(m, bert)), m.Normalize()], device="cpu"
    ),
    "inference_free_sparse": lambda pkg, m, s, bert, mlm: pkg.SparseEncoder(
        modules=[
            s.Router.for_query_document(
                [s.SparseStaticEmbedding(AutoTokenizer.from_pretrained(str(mlm)))],
                [s.MLMTransformer(str(mlm)), s.SpladePooling("max")],
            )
        ],
        device="cpu",
    ),
    "cross_encoder": lambda pkg, m, s, bert, mlm: pkg.CrossEncoder(
        str(bert.parent / "classifier"), device="cpu"
    ),
}


def _tree(folder: Path) -> list[str]:
    found = []
    for root, dirs, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, d), folder) + "/" for d in dirs]
        found += [os.path.relpath(os.path.join(root, f), folder) for f in names]
    return sorted(f for f in found if f != "README.md")


@pytest.mark.parametrize("case", sorted(CASES))
def test_saved_tree_is_sentence_transformers_one(case, tiny_bert, masked_lm, tmp_path):
    if not (tiny_bert.parent / "classifier").is_dir():
        build_tiny_classifier(tiny_bert.parent / "classifier")
    saved = {}
    for name, pkg, m, s in (
        ("ours", sbert, models, sparse_models),
        ("theirs", sentence_transformers, st_modules, st_sparse),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sentence-transformers' deprecation notices (MLMTransformer)
            model = CASES[case](pkg, m, s, tiny_bert, masked_lm)
        model.save(str(tmp_path / name))
        saved[name] = tmp_path / name
    assert _tree(saved["ours"]) == _tree(saved["theirs"])
    modules_json = saved["ours"] / "modules.json"
    if modules_json.is_file():  # a CrossEncoder saves a plain transformers folder
        assert all((saved["ours"] / e["path"]).is_dir() for e in json.loads(modules_json.read_text()))
    for config in saved["theirs"].glob("*_Normalize/config.json"):
        ours = saved["ours"] / config.relative_to(saved["theirs"])
        assert json.loads(ours.read_text()) == json.loads(config.read_text())
