"""Prompts and task routing against sentence-transformers (differences a side-by-side fuzz found).

Each model is built and saved with sentence-transformers itself; sbert loads the folder and must give what
sentence-transformers gives for the same calls: embeddings within 1e-5, the same errors and modes.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_tiny_bert

import sbert

TOL = 1e-5
TEXTS = ["a b", "the cat sat on the mat " * 3, "It's so sunny outside!"]


def st_modules():
    from sentence_transformers.sentence_transformer import modules

    return modules


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


def save_st(modules, folder, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    ReferenceModel(modules=modules, device="cpu", **kwargs).save(str(folder))
    return folder


def as_array(value):
    return np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=np.float32)


def assert_close(ours, ref):
    ours, ref = as_array(ours), as_array(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


@pytest.fixture(scope="module")
def berts(tmp_path_factory):
    base = tmp_path_factory.mktemp("prompt-fuzz-berts")
    return build_tiny_bert(base / "a", seed=0), build_tiny_bert(base / "b", seed=1)


@pytest.fixture(scope="module")
def two_encoders(berts, tmp_path_factory):
    """Router(query: BERT A (8 tokens) + mean without the prompt, document: BERT B (64 tokens) + mean)."""
    m = st_modules()
    router = m.Router.for_query_document(
        query_modules=[
            m.Transformer(str(berts[0]), max_seq_length=8),
            m.Pooling(32, "mean", include_prompt=False),
        ],
        document_modules=[m.Transformer(str(berts[1])), m.Pooling(32, "mean")],
    )
    return save_st([router], tmp_path_factory.mktemp("prompt-fuzz-router") / "model")


@pytest.fixture(scope="module")
def later_router(berts, tmp_path_factory):
    """Transformer, then Router(query: mean + Dense, document: cls), no default route."""
    import torch

    m = st_modules()
    torch.manual_seed(0)
    router = m.Router.for_query_document(
        query_modules=[m.Pooling(32, "mean"), m.Dense(32, 32)],
        document_modules=[m.Pooling(32, "cls")],
        default_route=None,
        allow_empty_key=False,
    )
    return save_st(
        [m.Transformer(str(berts[0])), router], tmp_path_factory.mktemp("prompt-fuzz-later") / "model"
    )


def test_set_pooling_include_prompt_leaves_a_routes_pooling_alone(two_encoders):
    """sentence-transformers changes a Pooling of the pipeline itself, not one inside a Router's route."""
    model, ref = sbert.SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    for m in (model, ref):
        m.set_pooling_include_prompt(True)
    assert model[0].sub_modules["query"][1].include_prompt is ref[0].sub_modules["query"][1].include_prompt
    assert_close(model.encode_query(TEXTS, prompt="passage: "), ref.encode_query(TEXTS, prompt="passage: "))


@pytest.mark.parametrize("call", ["encode", "encode_query", "encode_document"])
def test_token_embeddings_take_the_route_of_the_task(two_encoders, call):
    model, ref = sbert.SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    ours = getattr(model, call)(TEXTS, output_value="token_embeddings")
    theirs = getattr(ref, call)(TEXTS, output_value="token_embeddings")
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert_close(a, b)


@pytest.mark.parametrize("call", ["encode", "encode_query", "encode_document"])
def test_feature_dicts_name_the_task_as_sentence_transformers(two_encoders, call):
    model, ref = sbert.SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    ours, theirs = (
        getattr(model, call)(TEXTS, output_value=None),
        getattr(ref, call)(TEXTS, output_value=None),
    )
    for a, b in zip(ours, theirs):
        assert sorted(a) == sorted(b)
        assert a["task"] == b["task"]
        assert_close(a["sentence_embedding"], b["sentence_embedding"])


@pytest.mark.parametrize("call", ["encode_query", "encode_document"])
def test_a_later_router_gets_the_task_of_feature_dicts(later_router, call):
    model, ref = sbert.SentenceTransformer(later_router, device="cpu"), reference(later_router)
    ours, theirs = (
        getattr(model, call)(TEXTS, output_value=None),
        getattr(ref, call)(TEXTS, output_value=None),
    )
    for a, b in zip(ours, theirs):
        assert_close(a["sentence_embedding"], b["sentence_embedding"])


def test_a_later_router_routes_texts_by_their_modality(berts, tmp_path):
    m = st_modules()
    router = m.Router(
        {"mean": [m.Pooling(32, "mean")], "cls": [m.Pooling(32, "cls")]},
        default_route="cls",
        route_mappings={(None, "text"): "mean"},
    )
    path = save_st([m.Transformer(str(berts[0])), router], tmp_path / "model")
    ref = reference(path)
    for backend in ("torch", "auto"):
        model = sbert.SentenceTransformer(path, device="cpu", backend=backend)
        assert_close(model.encode(TEXTS), ref.encode(TEXTS))
    with pytest.raises(ValueError) as theirs:
        reference(later_router_path := _no_default_later(berts, tmp_path)).encode(TEXTS)
    with pytest.raises(ValueError) as ours:
        sbert.SentenceTransformer(later_router_path, device="cpu").encode(TEXTS)
    assert str(ours.value).startswith(str(theirs.value))  # modality='text' in both


def _no_default_later(berts, tmp_path):
    m = st_modules()
    router = m.Router.for_query_document(
        query_modules=[m.Pooling(32, "mean")],
        document_modules=[m.Pooling(32, "cls")],
        default_route=None,
        allow_empty_key=False,
    )
    return save_st([m.Transformer(str(berts[0])), router], tmp_path / "no-default")


def test_an_empty_default_prompt_name_given_is_kept_over_the_saved_one(berts, tmp_path):
    m = st_modules()
    prompts = {"query": "query: ", "classification": "classify: "}
    path = save_st(
        [m.Transformer(str(berts[0])), m.Pooling(32, "mean")],
        tmp_path / "model",
        prompts=prompts,
        default_prompt_name="classification",
    )
    given = {"prompts": {"": "empty name: "}, "default_prompt_name": ""}
    model, ref = sbert.SentenceTransformer(path, device="cpu", **given), reference(path, **given)
    assert model.default_prompt_name == ref.default_prompt_name == ""
    assert_close(model.encode(TEXTS), ref.encode(TEXTS))


def test_a_refused_encode_leaves_the_mode_as_sentence_transformers(two_encoders):
    model, ref = sbert.SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    for m in (model, ref):
        with pytest.raises(ValueError, match="Prompt name 'nope' not found"):
            m.encode(TEXTS, prompt_name="nope")
    assert model.training is ref.training


def test_dict_inputs_are_refused_in_sentence_transformers_words_after_the_prompt(berts, tmp_path):
    m = st_modules()
    path = save_st([m.Transformer(str(berts[0])), m.Pooling(32, "mean")], tmp_path / "model")
    model, ref = sbert.SentenceTransformer(path, device="cpu"), reference(path)
    items = [{"query": text} for text in TEXTS]
    for kwargs in ({}, {"prompt_name": "nope"}):
        with pytest.raises(ValueError) as theirs:
            ref.encode(items, **kwargs)
        with pytest.raises(ValueError) as ours:
            model.encode(items, **kwargs)
        assert str(ours.value).startswith(str(theirs.value))


def test_tokenize_reads_a_routers_task_items(two_encoders):
    model, ref = sbert.SentenceTransformer(two_encoders, device="cpu"), reference(two_encoders)
    items = [{"query": text} for text in TEXTS]
    ours, theirs = model.tokenize(items), ref.tokenize(items)
    assert ours["task"] == theirs["task"] == "query"
    assert_close(ours["input_ids"], theirs["input_ids"])
