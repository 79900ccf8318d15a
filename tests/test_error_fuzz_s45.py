"""Error paths a side-by-side fuzz of bad arguments and broken model folders found apart from
sentence-transformers (/tmp/s45/errfuzz/): sbert's error must be an instance of the builtin class
sentence-transformers raises, and never a raw AttributeError."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert


def _raised(call) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def _same_kind(reference_call, call) -> BaseException:
    """Both calls fail; ours with an error of the builtin class the reference raised."""
    expected, got = _raised(reference_call), _raised(call)
    assert type(expected).__module__ == "builtins", expected
    assert isinstance(got, type(expected)), (type(got).__mro__, expected)
    assert isinstance(got, sbert.SbertError), got
    return got


@pytest.fixture(scope="module")
def st_folder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def dense(st_folder):
    return st.SentenceTransformer(str(st_folder), device="cpu"), sbert.SentenceTransformer(
        st_folder, device="cpu"
    )


@pytest.fixture(scope="module")
def cross(tmp_path_factory):
    folder = build_tiny_classifier(tmp_path_factory.mktemp("ce") / "ce")
    return folder, st.CrossEncoder(str(folder), device="cpu"), sbert.CrossEncoder(folder, device="cpu")


def test_semantic_search_with_a_top_k_past_the_corpus_finds_the_corpus():
    """top_k far past the corpus: sbert allocated a (queries, top_k) table (a MemoryError or worse)."""
    rng = np.random.default_rng(0)
    queries, corpus = torch.tensor(rng.standard_normal((3, 8))), torch.tensor(rng.standard_normal((5, 8)))
    expected = st.util.semantic_search(queries, corpus, top_k=10**18)
    got = sbert.util.semantic_search(queries, corpus, top_k=10**18)
    assert [[h["corpus_id"] for h in q] for q in got] == [[h["corpus_id"] for h in q] for q in expected]
    for ours, theirs in zip(got, expected):
        assert [h["score"] for h in ours] == pytest.approx([h["score"] for h in theirs], abs=1e-5)


PAIRWISE = ["pairwise_cos_sim", "pairwise_dot_score", "pairwise_manhattan_sim", "pairwise_euclidean_sim"]


@pytest.mark.parametrize("name", [*PAIRWISE, "pairwise_angle_sim"])
@pytest.mark.parametrize("shapes", [((3, 16), (3, 8)), ((3, 16), (0, 16)), ((3, 16), (16,))])
def test_pairwise_scores_of_unmatched_shapes_fail_as_in_sentence_transformers(name, shapes):
    """torch's RuntimeError (sizes) or IndexError (a vector where rows are read); sbert's was a ValueError."""
    a, b = (np.ones(shape, dtype=np.float32) for shape in shapes)
    if shapes[1] == (16,) and name != "pairwise_angle_sim":
        return  # one vector against rows broadcasts in both
    _same_kind(lambda: getattr(st.util, name)(a, b), lambda: getattr(sbert.util, name)(a, b))


@pytest.mark.parametrize("function", ["cosine", "dot"])
def test_model_similarity_pairwise_of_unmatched_widths_is_a_runtime_error(dense, function):
    reference, model = dense
    a, b = np.ones((3, 32), np.float32), np.ones((3, 8), np.float32)
    reference.similarity_fn_name = model.similarity_fn_name = function
    try:
        _same_kind(lambda: reference.similarity_pairwise(a, b), lambda: model.similarity_pairwise(a, b))
    finally:
        reference.similarity_fn_name = model.similarity_fn_name = "cosine"


@pytest.mark.parametrize("batch_size", [1.5, "4", float("nan")])
@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_a_batch_size_that_is_no_integer_is_a_type_error(dense, method, batch_size):
    reference, model = dense
    _same_kind(
        lambda: getattr(reference, method)(["a b", "c"], batch_size=batch_size),
        lambda: getattr(model, method)(["a b", "c"], batch_size=batch_size),
    )


@pytest.mark.parametrize("batch_size", [1.5, None])
def test_cross_encoder_batch_size_that_is_no_integer_is_a_type_error(cross, batch_size):
    _, reference, model = cross
    pairs = [("a b", "c"), ("d", "e f")]
    _same_kind(
        lambda: reference.predict(pairs, batch_size=batch_size),
        lambda: model.predict(pairs, batch_size=batch_size),
    )


@pytest.mark.parametrize("value", ["x", 1.5, None])
def test_max_seq_length_that_is_no_integer_is_a_type_error(st_folder, value):
    """sentence-transformers takes the value and fails at encode (a TypeError); sbert refuses it when set."""
    reference, model = (
        st.SentenceTransformer(str(st_folder), device="cpu"),
        sbert.SentenceTransformer(st_folder),
    )

    def set_and_encode(m):
        m.max_seq_length = value
        m.encode(["a b"])

    _same_kind(lambda: set_and_encode(reference), lambda: set_and_encode(model))
    assert model.max_seq_length == 48  # the refused value left nothing behind


@pytest.mark.parametrize("value", ["x", 1.5])
def test_truncate_dim_that_is_no_integer_is_a_type_error(st_folder, value):
    _same_kind(
        lambda: st.SentenceTransformer(str(st_folder), truncate_dim=value).encode(["a b"]),
        lambda: sbert.SentenceTransformer(st_folder, truncate_dim=value).encode(["a b"]),
    )


def _edited_copy(folder, out, **config):
    shutil.copytree(folder, out)
    values = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**values, **config}))
    return out


@pytest.mark.parametrize(
    "config",
    [{"hidden_size": 16, "intermediate_size": 32}, {"vocab_size": 8}, {"max_position_embeddings": 4}],
    ids=["hidden", "vocab", "positions"],
)
@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_weights_that_do_not_fit_config_json_fail_as_a_runtime_error(
    st_folder, cross, tmp_path, kind, config
):
    """transformers' size mismatch is a RuntimeError under sentence-transformers; sbert's a plain OSError."""
    folder = _edited_copy(st_folder if kind == "SentenceTransformer" else cross[0], tmp_path / "m", **config)
    run = (
        (lambda m: m.encode(["a b"]))
        if kind == "SentenceTransformer"
        else (lambda m: m.predict([("a", "b")]))
    )
    got = _same_kind(lambda: run(getattr(st, kind)(str(folder))), lambda: run(getattr(sbert, kind)(folder)))
    assert isinstance(got, OSError)  # still one of sbert's load errors


def test_sparse_weights_that_do_not_fit_config_json_fail_as_a_runtime_error(masked_lm, tmp_path):
    folder = _edited_copy(masked_lm, tmp_path / "m", hidden_size=16, intermediate_size=32)
    _same_kind(lambda: st.SparseEncoder(str(folder)), lambda: sbert.SparseEncoder(folder))


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_prompts_that_are_no_dict_fail_as_in_sentence_transformers(st_folder, cross, kind):
    folder = st_folder if kind == "SentenceTransformer" else cross[0]
    _same_kind(
        lambda: getattr(st, kind)(str(folder), prompts="x"), lambda: getattr(sbert, kind)(folder, prompts="x")
    )


def test_saved_prompts_that_are_no_dict_are_a_load_error_not_an_attribute_error(cross, tmp_path):
    folder = tmp_path / "ce"  # a CrossEncoder's own save: a plain folder's settings file is not read
    cross[2].save(str(folder))
    settings = json.loads((folder / "config_sentence_transformers.json").read_text())
    (folder / "config_sentence_transformers.json").write_text(json.dumps({**settings, "prompts": "x"}))
    with pytest.raises(AttributeError):  # sentence-transformers: 'str' object has no attribute 'items'
        st.CrossEncoder(str(folder), device="cpu")
    with pytest.raises(sbert.ModelLoadError, match="prompts must map"):
        sbert.CrossEncoder(folder)


def test_sparse_intersection_of_a_non_tensor_names_the_fix(masked_lm):
    model = sbert.SparseEncoder(masked_lm)
    with pytest.raises(TypeError, match="two embedding tensors"):
        model.intersection(model.encode("a b", convert_to_tensor=True), None)


@pytest.mark.parametrize("order", ["queries_narrower", "corpus_narrower"])
def test_semantic_search_of_unmatched_widths_is_a_runtime_error(order):
    queries, corpus = torch.ones(3, 8), torch.ones(4, 16)
    if order == "corpus_narrower":
        queries, corpus = corpus, queries
    _same_kind(
        lambda: st.util.semantic_search(queries, corpus), lambda: sbert.util.semantic_search(queries, corpus)
    )
