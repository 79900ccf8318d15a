"""Input modules as sentence-transformers 6.3 saves and reports them: the first module's files at the model's
root where its class says ``save_in_root`` (StaticEmbedding, WordEmbeddings, Router, SparseStaticEmbedding;
not BoW), and ``max_seq_length`` read off the first module (``math.inf``, read-only, for a StaticEmbedding;
``None`` for BoW). Each case is built by both packages and compared file by file."""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import sentence_transformers
import torch
from conftest import SENTENCES
from sentence_transformers.sentence_transformer import modules as st_modules
from sentence_transformers.sparse_encoder import modules as st_sparse
from tokenizers import Tokenizer
from transformers import AutoTokenizer

import sbert
from sbert import models
from sbert.sparse_encoder import models as sparse_models

TEXTS = [*SENTENCES, "the cat sat on the mat " * 200]  # 1200 tokens: static models read whole texts


def _model2vec_folder(tiny_bert: Path, folder: Path) -> Path:
    """A folder model2vec itself writes (what ``StaticEmbedding.from_model2vec`` reads)."""
    from model2vec import StaticModel

    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    vectors = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 8)).astype(np.float32)
    StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True).save_pretrained(folder)
    return folder


def _static(pkg, bert: Path):
    torch.manual_seed(0)
    return pkg.StaticEmbedding(Tokenizer.from_file(str(bert / "tokenizer.json")), embedding_dim=8)


# name -> (model class name, builder of its modules from a package's modules, the tiny BERT, the MLM)
CASES = {
    "static": ("SentenceTransformer", lambda m, bert, mlm: [_static(m, bert), m.Normalize()]),
    "static_model2vec": (
        "SentenceTransformer",
        lambda m, bert, mlm: [m.StaticEmbedding.from_model2vec(str(bert.parent / "m2v"))],
    ),
    "router_of_statics": (
        "SentenceTransformer",
        lambda m, bert, mlm: [m.Router.for_query_document([_static(m, bert)], [_static(m, bert)])],
    ),
    "bow": ("SentenceTransformer", lambda m, bert, mlm: [m.BoW(["a", "cat", "dog"])]),
    "sparse_static": (
        "SparseEncoder",
        lambda m, bert, mlm: [m.SparseStaticEmbedding(AutoTokenizer.from_pretrained(mlm))],
    ),
}


@pytest.fixture(scope="module")
def inputs(tiny_bert, masked_lm):
    if not (tiny_bert.parent / "m2v").is_dir():
        _model2vec_folder(tiny_bert, tiny_bert.parent / "m2v")
    return tiny_bert, masked_lm


def _build(pkg, case: str, bert: Path, mlm: Path):
    kind, modules = CASES[case]
    package_modules = {
        (sentence_transformers, "SparseEncoder"): st_sparse,
        (sentence_transformers, "SentenceTransformer"): st_modules,
        (sbert, "SparseEncoder"): sparse_models,
        (sbert, "SentenceTransformer"): models,
    }[(pkg, kind)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sentence-transformers' deprecation notices
        return getattr(pkg, kind)(modules=modules(package_modules, bert, mlm), device="cpu")


def _files(folder: Path) -> list[str]:
    """The saved folders and files; README.md aside (sbert writes its own card)."""
    found = []
    for root, dirs, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, d), folder) + "/" for d in dirs]
        found += [os.path.relpath(os.path.join(root, f), folder) for f in names]
    return sorted(f for f in found if f != "README.md")


def _paths(folder: Path) -> list[str]:
    return [entry["path"] for entry in json.loads((folder / "modules.json").read_text())]


def _limit_of(get):
    try:
        return get()
    except AttributeError as e:
        return ("AttributeError", str(e))


def _set_limit(model):
    try:
        model.max_seq_length = 7
    except AttributeError as e:
        return ("AttributeError", str(e))
    return model.max_seq_length, _limit_of(lambda: model[0].max_seq_length)


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_layout_and_max_seq_length_as_sentence_transformers(case, inputs, tmp_path):
    ours, theirs = (_build(pkg, case, *inputs) for pkg in (sbert, sentence_transformers))
    assert ours.max_seq_length == theirs.max_seq_length
    assert _limit_of(lambda: ours[0].max_seq_length) == _limit_of(lambda: theirs[0].max_seq_length)
    ours.save(str(tmp_path / "ours"))
    theirs.save(str(tmp_path / "theirs"))
    assert _files(tmp_path / "ours") == _files(tmp_path / "theirs")
    assert _paths(tmp_path / "ours") == _paths(tmp_path / "theirs")
    # each package loads the other's folder, with the limit it reports for its own
    for pkg, other in ((sbert, "theirs"), (sentence_transformers, "ours")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = getattr(pkg, type(theirs).__name__)(str(tmp_path / other), device="cpu")
        assert loaded.max_seq_length == theirs.max_seq_length, (pkg.__name__, other)
    assert _set_limit(ours) == _set_limit(theirs)


def test_static_root_folder_encodes_equal_in_sentence_transformers_and_model2vec(inputs, tmp_path):
    from model2vec import StaticModel

    model = _build(sbert, "static_model2vec", *inputs)
    model.save(tmp_path / "saved")
    assert model.max_seq_length == math.inf and model[0].max_seq_length == math.inf
    expected = model.encode(TEXTS)
    reference = sentence_transformers.SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(reference.encode(TEXTS), expected, atol=1e-6)
    for backend in ("static", "torch"):  # the static backend reads the saved kind, not the module
        loaded = sbert.SentenceTransformer(tmp_path / "saved", backend=backend)
        assert loaded.max_seq_length == math.inf
        np.testing.assert_allclose(loaded.encode(TEXTS), expected, atol=1e-6)
        with pytest.raises(
            AttributeError, match="'max_seq_length' of 'StaticEmbedding' object has no setter"
        ):
            loaded.max_seq_length = 128
    # model2vec's own loader reads the root files (model2vec averages without [UNK]: known words only)
    known = ["the cat sat on the mat", "a man plays guitar"]
    np.testing.assert_allclose(
        StaticModel.from_pretrained(tmp_path / "saved").encode(known), model.encode(known), atol=1e-6
    )


def test_folder_saved_in_a_subfolder_by_older_sbert_still_loads(inputs, tmp_path):
    model = _build(sbert, "static", *inputs)
    model.save(tmp_path / "root")
    old = tmp_path / "old"  # the layout sbert wrote before: the module in 0_StaticEmbedding/
    (old / "0_StaticEmbedding").mkdir(parents=True)
    for name in ("model.safetensors", "tokenizer.json"):
        (old / "0_StaticEmbedding" / name).write_bytes((tmp_path / "root" / name).read_bytes())
    for name in ("1_Normalize", "config_sentence_transformers.json"):
        source = tmp_path / "root" / name
        if source.is_dir():
            (old / name).mkdir()
            for file in source.iterdir():
                (old / name / file.name).write_bytes(file.read_bytes())
        else:
            (old / name).write_bytes(source.read_bytes())
    entries = json.loads((tmp_path / "root" / "modules.json").read_text())
    entries[0]["path"] = "0_StaticEmbedding"
    (old / "modules.json").write_text(json.dumps(entries))
    expected = model.encode(TEXTS)
    for backend in ("static", "torch"):
        np.testing.assert_allclose(
            sbert.SentenceTransformer(old, backend=backend).encode(TEXTS), expected, atol=1e-6
        )
    static = sbert.StaticEmbedding.from_model2vec(old)
    np.testing.assert_allclose(
        static.embedding.weight.detach().numpy(), model[0].embedding.weight.detach().numpy()
    )


def test_server_card_and_prompts_keep_an_int_limit_for_static_models(inputs, tmp_path):
    from fastapi.testclient import TestClient

    model = _build(sbert, "static", *inputs)
    model.save(tmp_path / "saved")
    card = (tmp_path / "saved" / "README.md").read_text()
    assert "Its max_seq_length is inf" in card and "longer than inf" not in card
    theirs = _build(sentence_transformers, "static", *inputs)
    np.testing.assert_allclose(
        model.encode(TEXTS, prompt="query: "), theirs.encode(TEXTS, prompt="query: "), atol=1e-6
    )
    with TestClient(sbert.create_app(sbert.SentenceTransformer(tmp_path / "saved"))) as client:
        info = client.get("/info").json()
        assert info["max_input_length"] == model.tokenizer.max_length  # the tokenizer's own (no) limit
        response = client.post("/embed", json={"inputs": [TEXTS[-1]]})
        assert response.status_code == 200
        np.testing.assert_allclose(response.json()[0], model.encode(TEXTS[-1:])[0], atol=1e-5)
