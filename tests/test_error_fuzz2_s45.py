"""Error paths a second side-by-side fuzz found apart from sentence-transformers (/tmp/s45/errfuzz2/):
broken model folders fail with sbert's load error that is also the builtin error sentence-transformers
raises there, non-dict ``*_kwargs`` fail as there, and NaN embeddings give NaN-scored hits as there."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_classifier, build_tiny_masked_lm, classic_pooling
from test_error_fuzz_s45 import _raised

import sbert


def _same_kind(reference_call, call) -> BaseException:
    """Both calls fail; ours with sbert's error that is also the builtin class the reference raised."""
    expected, got = _raised(reference_call), _raised(call)
    builtin = next(c for c in type(expected).__mro__ if c.__module__ == "builtins")
    assert isinstance(got, builtin), (type(got).__mro__, expected)
    assert isinstance(got, sbert.SbertError), got
    return got


def _write(relative: str, text: str):
    return lambda folder: (folder / relative).write_text(text)


def _edit_json(relative: str, change):
    def edit(folder):
        path = folder / relative
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return edit


def _remove(relative: str):
    return lambda folder: (folder / relative).unlink()


def _without_type(entries):
    return [entries[0], {k: v for k, v in entries[1].items() if k != "type"}]


DENSE_BREAKS = {
    "tokenizer.json not JSON": _write("tokenizer.json", "{bad"),
    "tokenizer.json empty": _write("tokenizer.json", ""),
    "tokenizer_config.json not JSON": _write("tokenizer_config.json", "{bad"),
    "modules.json a dict": _write("modules.json", "{}"),
    "modules.json empty list": _write("modules.json", "[]"),
    "modules.json entry without type": _edit_json("modules.json", _without_type),
    "config.json a list": _write("config.json", "[]"),
    "config.json missing": _remove("config.json"),
    "unknown pooling mode": _write(
        "1_Pooling/config.json", json.dumps({"word_embedding_dimension": 32, "pooling_mode": "nosuch"})
    ),
    "pooling config without dimension": _write("1_Pooling/config.json", "{}"),
    "pooling config missing": _remove("1_Pooling/config.json"),
    "heads do not divide hidden size": _edit_json("config.json", lambda c: {**c, "num_attention_heads": 5}),
}


def _broken(source, tmp_path, edit):
    folder = tmp_path / "broken"
    shutil.copytree(source, folder)
    edit(folder)
    return str(folder)


@pytest.fixture(scope="module")
def st_folder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.mark.parametrize("name", list(DENSE_BREAKS))
def test_broken_sentence_transformer_folder_fails_as_in_sentence_transformers(st_folder, tmp_path, name):
    folder = _broken(st_folder, tmp_path, DENSE_BREAKS[name])
    got = _same_kind(
        lambda: st.SentenceTransformer(folder, device="cpu"), lambda: sbert.SentenceTransformer(folder)
    )
    assert isinstance(got, sbert.ModelLoadError) and folder in str(got)  # still a load error naming the file


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_heads_that_do_not_divide_the_hidden_size_fail_before_the_graph_runs(st_folder, tmp_path, backend):
    folder = _broken(st_folder, tmp_path, DENSE_BREAKS["heads do not divide hidden size"])
    got = _same_kind(
        lambda: st.SentenceTransformer(folder, device="cpu"),
        lambda: sbert.SentenceTransformer(folder, backend=backend),
    )
    assert "CheckAttentionWeights" not in str(got)


@pytest.fixture(scope="module")
def cross_folder(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce") / "ce")


@pytest.mark.parametrize(
    "name", ["tokenizer.json not JSON", "config.json a list", "heads do not divide hidden size"]
)
def test_broken_cross_encoder_folder_fails_as_in_sentence_transformers(cross_folder, tmp_path, name):
    folder = _broken(cross_folder, tmp_path, DENSE_BREAKS[name])
    _same_kind(lambda: st.CrossEncoder(folder, device="cpu"), lambda: sbert.CrossEncoder(folder))


@pytest.fixture(scope="module")
def sparse_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("sparse")
    folder = root / "sparse"
    st.SparseEncoder(str(build_tiny_masked_lm(root / "mlm")), device="cpu").save(str(folder))
    return folder


SPARSE_BREAKS = {
    "modules.json a dict": DENSE_BREAKS["modules.json a dict"],
    "modules.json entry without type": DENSE_BREAKS["modules.json entry without type"],
    "unknown SPLADE mode": _write("1_SpladePooling/config.json", json.dumps({"pooling_strategy": "nosuch"})),
    "tokenizer.json not JSON": DENSE_BREAKS["tokenizer.json not JSON"],
    "heads do not divide hidden size": DENSE_BREAKS["heads do not divide hidden size"],
}


@pytest.mark.parametrize("name", list(SPARSE_BREAKS))
def test_broken_sparse_encoder_folder_fails_as_in_sentence_transformers(sparse_folder, tmp_path, name):
    folder = _broken(sparse_folder, tmp_path, SPARSE_BREAKS[name])
    _same_kind(lambda: st.SparseEncoder(folder, device="cpu"), lambda: sbert.SparseEncoder(folder))


@pytest.mark.parametrize(
    ("cls", "option"),
    [
        ("SentenceTransformer", "tokenizer_kwargs"),
        ("SentenceTransformer", "config_kwargs"),
        ("SentenceTransformer", "processor_kwargs"),
        ("CrossEncoder", "config_kwargs"),
        ("CrossEncoder", "tokenizer_kwargs"),
        ("SparseEncoder", "config_kwargs"),
        ("SparseEncoder", "tokenizer_kwargs"),
    ],
)
def test_an_options_argument_that_is_no_dict_fails_as_in_sentence_transformers(
    st_folder, cross_folder, sparse_folder, cls, option
):
    folder = str({"SentenceTransformer": st_folder, "CrossEncoder": cross_folder}.get(cls, sparse_folder))
    got = _same_kind(
        lambda: getattr(st, cls)(folder, device="cpu", **{option: "x"}),
        lambda: getattr(sbert, cls)(folder, **{option: "x"}),
    )
    assert option in str(got)


def _hit_sets(results):
    """Each query's hits as a set of (corpus id, score rounded, or "nan"): sentence-transformers' order
    among NaN scores is Python's sort of NaN keys, which has none."""
    return [{(h["corpus_id"], _score(h["score"])) for h in hits} for hits in results]


def _score(value: float) -> float | str:
    return "nan" if math.isnan(value) else round(value, 5)


@pytest.mark.parametrize("top_k", [3, 10])
def test_semantic_search_of_nan_embeddings_finds_nan_scored_hits(top_k):
    """NaN ranks above every number, as torch.topk ranks it; compared as sets where the reference's choice
    is determined (no more NaN scores in a query's row than top_k)."""
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((4, 8)).astype(np.float32)
    corpus = rng.standard_normal((7, 8)).astype(np.float32)
    corpus[[2, 5]] = np.nan
    if top_k >= len(corpus):
        queries[1, 0] = np.nan  # a whole row of NaN scores
    expected = st.util.semantic_search(torch.from_numpy(queries), torch.from_numpy(corpus), top_k=top_k)
    got = sbert.util.semantic_search(queries, corpus, top_k=top_k)
    assert _hit_sets(got) == _hit_sets(expected)
    assert [h["corpus_id"] for h in got[0]][:2] == [2, 5]  # NaN first, by id


def test_paraphrase_mining_of_nan_embeddings_finds_nan_scored_pairs():
    embeddings = np.random.default_rng(1).standard_normal((9, 8)).astype(np.float32)
    embeddings[[1, 6]] = np.nan
    expected = st.util.paraphrase_mining_embeddings(torch.from_numpy(embeddings), top_k=20)
    got = sbert.util.paraphrase_mining_embeddings(embeddings, top_k=20)

    def pairs(result):
        return {(i, j, _score(s)) for s, i, j in result}

    assert len(got) == len(expected) and pairs(got) == pairs(expected)
