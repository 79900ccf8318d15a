"""MultiVectorEncoder parity with sentence-transformers on its less common options (session 44): the notices
it logs, compared against sentence-transformers run on the same saved folder."""

from __future__ import annotations

import logging

import pytest
import torch
from conftest import build_tiny_bert

import sbert

QUERIES = ["who drove to the stadium on a sunny day with the cat and the dog?", "a cat"]


@pytest.fixture(scope="module")
def fixed_folder(tmp_path_factory):
    """A ColBERT-style save with a fixed query expansion (32 tokens; the tests narrow it after loading, as
    saving encodes the card's example queries and would spend the once-per-process notice)."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    root = tmp_path_factory.mktemp("mvtests-s44")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(1)
    modules = [
        Transformer(str(bert), query_expansion={"strategy": "fixed", "length": 32}),
        Dense(
            32, 8, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings"
        ),
        MultiVectorMask(),
        Normalize(module_input_name="token_embeddings"),
    ]
    MultiVectorEncoder(modules=modules, device="cpu").save(str(root / "model"))
    return root / "model"


def _truncation_notices(model, queries, caplog) -> list[tuple[str, str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        model.encode_query(queries)
    return [(r.name, r.getMessage()) for r in caplog.records if "query_expansion length" in r.getMessage()]


def test_fixed_expansion_filled_by_a_query_is_logged_as_sentence_transformers(fixed_folder, caplog):
    """A query that fills a fixed expansion's whole width loses what is beyond it: both log it, on the same
    logger and in the same words; a batch of short queries logs nothing."""
    from sentence_transformers import MultiVectorEncoder

    ours = sbert.MultiVectorEncoder(str(fixed_folder), device="cpu")
    reference = MultiVectorEncoder(str(fixed_folder), device="cpu")
    for model in (ours, reference):
        model[0].query_expansion = {"strategy": "fixed", "length": 6}
    short = ["a cat"]
    assert _truncation_notices(ours, short, caplog) == _truncation_notices(reference, short, caplog) == []
    expected = _truncation_notices(reference, QUERIES, caplog)
    assert expected
    assert _truncation_notices(ours, QUERIES, caplog) == expected


@pytest.fixture(scope="module")
def plain_folder(tmp_path_factory):
    """sentence-transformers' default MultiVectorEncoder pipeline around a tiny BERT, as it saves it."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("mvtests-s44-plain")
    torch.manual_seed(0)
    MultiVectorEncoder(str(build_tiny_bert(root / "bert")), device="cpu").save(str(root / "model"))
    return root / "model"


def test_similarity_fn_name_reset_to_none_as_sentence_transformers(plain_folder):
    """``model.similarity_fn_name = None`` resets it: the next read gives the default, MaxSim, and scoring
    goes on, where a name outside MaxSim's family is refused by both."""
    from sentence_transformers import MultiVectorEncoder

    torch.manual_seed(3)
    queries, documents = [torch.randn(n, 8) for n in (3, 1)], [torch.randn(n, 8) for n in (4, 2)]
    results = []
    both = (sbert.MultiVectorEncoder(str(plain_folder), device="cpu"), MultiVectorEncoder(str(plain_folder)))
    for model in both:
        model.similarity_fn_name = "meanmaxsim"
        model.similarity_fn_name = None
        results.append((model.similarity_fn_name, model.similarity(queries, documents)))
        with pytest.raises(ValueError):
            model.similarity_fn_name = "cosine"
    (ours_name, ours), (reference_name, reference) = results
    assert ours_name == reference_name == "maxsim"
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=0)


def _empty_document_notices(score, caplog) -> list[tuple[str, str]]:
    torch.manual_seed(4)
    queries = [torch.randn(3, 8), torch.randn(2, 8)]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        score(queries, [torch.randn(4, 8), torch.randn(2, 8)])
        assert not caplog.records  # documents with tokens: nothing to say
        score(queries, [torch.zeros(0, 8), torch.randn(2, 8)])
    return [(r.name, r.getMessage()) for r in caplog.records]


@pytest.mark.parametrize("name", ["maxsim", "maxsim_pairwise"])
def test_document_without_tokens_is_logged_as_sentence_transformers(name, caplog, monkeypatch):
    """A document with no token to score (all masked, or none given) scores about -1e9 in both, which both
    log on sentence-transformers' similarity logger (once per process: each library's record is reset)."""
    import sentence_transformers.util.similarity as st_similarity
    from transformers.utils import logging as hf_logging

    from sbert import _errors

    monkeypatch.setattr(_errors, "_LOGGED", set())
    hf_logging.warning_once.cache_clear()  # sentence-transformers' once-per-process record
    expected = _empty_document_notices(getattr(st_similarity, name), caplog)
    assert expected
    assert _empty_document_notices(getattr(sbert.multi_vector_encoder, name), caplog) == expected
