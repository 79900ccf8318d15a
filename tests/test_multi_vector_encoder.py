"""MultiVectorEncoder: loads the folders sentence-transformers' MultiVectorEncoder saves (its default pipeline
around a plain encoder, and one with a skiplist, query / document lengths, query expansion, prompts,
meanmaxsim and truncate_dim), encodes queries and documents and scores them with MaxSim as it does (same
numbers within 1e-5, same return types), saves folders it loads with the same outputs, and refuses bad
input with sbert's errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert
from sbert import InputError, ModelLoadError

TOL = 1e-5
QUERIES = ["what is the weather like", "who drove to the stadium?", "a cat"]
DOCUMENTS = [
    "The weather is lovely today. It's so sunny outside!",
    "He drove to the stadium.",
    "The cat sat on the mat, and the dog ran in the house!",
    "a",
]
SKIPLIST = [".", "!", "?", "'"]


def _reference_model(bert, **transformer_options):
    """sentence-transformers' MultiVectorEncoder pipeline around ``bert``, built from its own modules."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    torch.manual_seed(1)
    modules = [
        Transformer(str(bert), **transformer_options),
        Dense(
            32, 16, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings"
        ),
        MultiVectorMask(skiplist_words=SKIPLIST),
        Normalize(module_input_name="token_embeddings"),
    ]
    return MultiVectorEncoder(
        modules=modules,
        device="cpu",
        prompts={"query": "query: ", "document": "passage: "},
        similarity_fn_name="meanmaxsim",
        truncate_dim=12,
    )


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """sentence-transformers' saves: ``plain`` (its default pipeline around a plain BERT folder), ``fixed``
    (ColBERT-style: skiplist, lengths, fixed query expansion, prompts, meanmaxsim, truncate_dim) and ``min``
    (expansion that widens short queries only, attended by the encoder)."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("multi-vector")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "plain"))
    fixed = {"strategy": "fixed", "length": 10}
    _reference_model(bert, query_length=16, document_length=12, query_expansion=fixed).save(
        str(root / "fixed")
    )
    expansion = {"strategy": "min", "length": 8, "attend": True}
    _reference_model(bert, query_expansion=expansion).save(str(root / "min"))
    return {name: root / name for name in ("plain", "fixed", "min")}


def _both(folder):
    from sentence_transformers import MultiVectorEncoder

    return sbert.MultiVectorEncoder(str(folder), device="cpu"), MultiVectorEncoder(str(folder), device="cpu")


def _assert_same(ours, reference):
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference):
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=TOL)


@pytest.mark.parametrize("name", ["plain", "fixed", "min"])
def test_encodes_and_scores_as_sentence_transformers(folders, name):
    ours, reference = _both(folders[name])
    assert ours.similarity_fn_name == reference.similarity_fn_name
    assert ours.get_embedding_dimension() == reference.get_embedding_dimension()
    for method in ("encode_query", "encode_document", "encode"):
        _assert_same(getattr(ours, method)(QUERIES), getattr(reference, method)(QUERIES))
        _assert_same(getattr(ours, method)(DOCUMENTS), getattr(reference, method)(DOCUMENTS))
    queries, documents = ours.encode_query(QUERIES), ours.encode_document(DOCUMENTS)
    expected = reference.similarity(queries, documents)
    torch.testing.assert_close(ours.similarity(queries, documents), expected, atol=TOL, rtol=0)
    pairs = (queries, documents[:3])
    torch.testing.assert_close(
        ours.similarity_pairwise(*pairs), reference.similarity_pairwise(*pairs), atol=TOL, rtol=0
    )


def test_output_options_as_sentence_transformers(folders):
    ours, reference = _both(folders["fixed"])
    options = {"convert_to_numpy": True, "normalize_embeddings": True, "truncate_dim": 8, "batch_size": 2}
    _assert_same(ours.encode_document(DOCUMENTS, **options), reference.encode_document(DOCUMENTS, **options))
    one, expected = ours.encode_query("a cat"), reference.encode_query("a cat")
    assert isinstance(one, torch.Tensor) and one.ndim == 2
    torch.testing.assert_close(one, expected, atol=TOL, rtol=0)
    raw, raw_expected = (
        ours.encode_query(QUERIES, output_value=None),
        reference.encode_query(QUERIES, output_value=None),
    )
    for item, expected_item in zip(raw, raw_expected):
        for key in ("token_embeddings", "attention_mask", "input_ids", "query_expansion_positions"):
            torch.testing.assert_close(item[key], expected_item[key], atol=TOL, rtol=0)


def test_save_loads_both_ways(folders, tmp_path):
    from sentence_transformers import MultiVectorEncoder

    ours = sbert.MultiVectorEncoder(str(folders["fixed"]), device="cpu")
    ours._model_card_text = None  # a new card, not the loaded README.md (untrained: kept)
    ours.save(tmp_path / "sbert")
    reference = MultiVectorEncoder(str(tmp_path / "sbert"), device="cpu")
    again = sbert.MultiVectorEncoder(str(tmp_path / "sbert"), device="cpu")
    for model in (reference, again):
        _assert_same(model.encode_query(QUERIES), ours.encode_query(QUERIES))
        _assert_same(model.encode_document(DOCUMENTS), ours.encode_document(DOCUMENTS))
        assert (model.similarity_fn_name, model.truncate_dim) == ("meanmaxsim", 12)
        assert model.prompts["query"] == "query: "
    assert reference[0].query_expansion == {"strategy": "fixed", "attend": False, "token": None, "length": 10}
    assert (reference[0].query_length, reference[0].document_length) == (16, 12)
    assert reference[2].skiplist_words == SKIPLIST
    types = [entry["type"] for entry in json.loads((tmp_path / "sbert" / "modules.json").read_text())]
    assert types[2] == "sentence_transformers.multi_vector_encoder.modules.multi_vector_mask.MultiVectorMask"
    # a README card, as sentence-transformers writes on every save (and none when asked not to)
    card = (tmp_path / "sbert" / "README.md").read_text()
    assert "library_name: sentence-transformers" in card and "MultiVectorEncoder('sbert')" in card
    assert "from sentence_transformers import MultiVectorEncoder" in card and repr(ours) in card
    ours.save(tmp_path / "bare", create_model_card=False)
    assert not (tmp_path / "bare" / "README.md").exists()


def test_public_paths_as_sentence_transformers():
    from sbert.multi_vector_encoder import MultiVectorEncoder, maxsim, maxsim_pairwise
    from sbert.multi_vector_encoder.modules import MultiVectorMask
    from sbert.multi_vector_encoder.modules.multi_vector_mask import MultiVectorMask as FileMask

    assert MultiVectorEncoder is sbert.MultiVectorEncoder and MultiVectorMask is FileMask
    assert maxsim is sbert.util.maxsim and maxsim_pairwise is sbert.util.maxsim_pairwise


def test_modules_built_in_python(folders):
    """A pipeline of sbert's modules, built as sentence-transformers' user code builds it, encodes as the
    saved one does."""
    from sbert.models import Dense, Normalize, Transformer
    from sbert.multi_vector_encoder.modules import MultiVectorMask

    saved = sbert.MultiVectorEncoder(str(folders["plain"]), device="cpu")
    dense = Dense(
        32, 128, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings"
    )
    dense.load_state_dict(saved[1].state_dict())
    modules = [Transformer(str(folders["plain"])), dense, MultiVectorMask(), Normalize("token_embeddings")]
    built = sbert.MultiVectorEncoder(modules=modules, device="cpu")
    _assert_same(built.encode_document(DOCUMENTS), saved.encode_document(DOCUMENTS))


def test_transformer_takes_the_task_options(folders):
    """Transformer(query_length=, document_length=, query_expansion=), as sentence-transformers' Transformer
    takes them: the same attributes, and a pipeline built with them in Python encodes as the saved
    ColBERT-style one (1e-5); a query_length below the expansion length is a ValueError in both."""
    from sentence_transformers.base.modules import Transformer as Reference

    from sbert.models import Dense, Normalize, Transformer
    from sbert.multi_vector_encoder.modules import MultiVectorMask

    bert = str(folders["plain"].parent / "bert")
    expansion = {"strategy": "fixed", "length": 10}
    options = {"query_length": 16, "document_length": 12, "query_expansion": expansion}
    transformer, reference = Transformer(bert, **options), Reference(bert, **options)
    for key in options:
        assert getattr(transformer, key) == getattr(reference, key), key
    saved = sbert.MultiVectorEncoder(str(folders["fixed"]), device="cpu")
    identity = torch.nn.Identity()
    dense = Dense(32, 16, bias=False, activation_function=identity, module_input_name="token_embeddings")
    dense.load_state_dict(saved[1].state_dict())
    built = sbert.MultiVectorEncoder(
        modules=[transformer, dense, MultiVectorMask(skiplist_words=SKIPLIST), Normalize("token_embeddings")],
        device="cpu",
        prompts={"query": "query: ", "document": "passage: "},
        similarity_fn_name="meanmaxsim",
        truncate_dim=12,
    )
    _assert_same(built.encode_query(QUERIES), saved.encode_query(QUERIES))
    _assert_same(built.encode_document(DOCUMENTS), saved.encode_document(DOCUMENTS))
    too_short = {"query_length": 4, "query_expansion": expansion}
    for cls in (Transformer, Reference):
        with pytest.raises(ValueError, match="query_length"):
            cls(bert, **too_short)


def test_bad_input_raises_sbert_errors(folders, tmp_path):
    model = sbert.MultiVectorEncoder(str(folders["plain"]), device="cpu")
    with pytest.raises(InputError, match="convert_to_tensor"):
        model.encode(QUERIES, convert_to_tensor=True)
    with pytest.raises(InputError, match="output_value"):
        model.encode(QUERIES, output_value="sentence_embedding")
    with pytest.raises(InputError, match="maxsim"):
        model.similarity_fn_name = "cosine"
    with pytest.raises(InputError, match="token pooling"):
        model.encode(QUERIES, token_pooling=object())
    with pytest.raises(InputError, match="batch_size"):
        model.encode(QUERIES, batch_size=0)
    with pytest.raises(TypeError, match=r"inputs\[0\] is int"):  # as sbert's other encode methods
        model.encode([1, 2])
    # converted, as sentence-transformers 6.3 converts it (its encoder, mean pooling): no longer an error
    converted = sbert.SentenceTransformer(str(folders["plain"]), device="cpu")
    assert [type(m).__name__ for m in converted] == ["Transformer", "Pooling"]
    broken = tmp_path / "broken"
    model.save(broken)
    config = json.loads((broken / "sentence_bert_config.json").read_text())
    (broken / "sentence_bert_config.json").write_text(
        json.dumps({**config, "query_expansion": {"length": 4}})
    )
    with pytest.raises(ModelLoadError, match="query_expansion"):
        sbert.MultiVectorEncoder(str(broken), device="cpu")


def test_pipeline_methods_as_sentence_transformers(folders):
    """preprocess, forward, append and the module methods user code calls on sentence-transformers' model."""
    from sbert.multi_vector_encoder.modules import MultiVectorMask

    ours, reference = _both(folders["fixed"])
    features, expected = ours.preprocess(QUERIES, task="query"), reference.preprocess(QUERIES, task="query")
    for key in ("input_ids", "attention_mask", "query_expansion_positions"):
        torch.testing.assert_close(features[key], expected[key])
    with torch.inference_mode():
        out, expected_out = ours(dict(features), task="query"), reference(dict(expected), task="query")
    torch.testing.assert_close(out["token_embeddings"], expected_out["token_embeddings"], atol=TOL, rtol=0)
    assert ours.get_max_seq_length() == reference.get_max_seq_length()
    assert len(ours) == len(reference) == 4 and repr(ours).startswith(
        "MultiVectorEncoder(\n  (0): Transformer("
    )
    shapes = [[(k, tuple(t.shape)) for k, t in m.state_dict().items()] for m in (ours, reference)]
    assert shapes[0] == shapes[1]
    plain = sbert.MultiVectorEncoder(str(folders["plain"]), device="cpu")
    plain.append(MultiVectorMask(skiplist_words=["."]))
    assert plain[4].skiplist_ids.tolist() == [plain.tokenizer.convert_tokens_to_ids(".")]


def test_processing_kwargs_as_sentence_transformers(folders):
    ours, reference = _both(folders["min"])
    options = {"processing_kwargs": {"text": {"max_length": 6}}}
    for method in ("encode_query", "encode_document"):
        _assert_same(
            getattr(ours, method)(DOCUMENTS, **options), getattr(reference, method)(DOCUMENTS, **options)
        )


def test_plain_encoder_folder_gets_the_default_pipeline(folders, tmp_path):
    """As sentence-transformers: a new random 128-wide token projection, the mask and a token Normalize."""
    from sbert.models import Dense, Normalize
    from sbert.multi_vector_encoder.modules import MultiVectorMask

    model = sbert.MultiVectorEncoder(str(build_tiny_bert(tmp_path / "bert")), device="cpu")
    assert [type(m) for m in model][1:] == [Dense, MultiVectorMask, Normalize]
    assert model.get_embedding_dimension() == 128 and model[1].module_input_name == "token_embeddings"
    expected = [e.shape for e in _both(folders["plain"])[1].encode_document(DOCUMENTS)]
    assert [e.shape for e in model.encode_document(DOCUMENTS)] == expected
