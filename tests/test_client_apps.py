"""Call patterns of applications that embed sentence-transformers (written out here without the application),
against sentence-transformers 6.3 itself."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sentence_transformers as st
from conftest import build_tiny_classifier, classic_pooling

import sbert

PAIRS = [["what is python", "Python is a language"], ["what is python", "a snake"], ["capital", "Paris"]]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("apps") / "ce")


def pop_params(func, kwargs: dict) -> dict:
    """AutoRAG's ``autorag.utils.util.pop_params``: the keywords ``func``'s signature names, taken out."""
    names = [name for name in inspect.signature(func).parameters if name not in ("self", "cls")]
    return {key: kwargs.pop(key) for key in list(kwargs) if key in names}


def autorag_reranker(cls, path):
    """AutoRAG's SentenceTransformerReranker: a node's options split by ``CrossEncoder.__init__``'s signature,
    then ``predict(sentences=..., apply_softmax=True)``."""
    options = {
        "max_length": 32,
        "use_kernels": False,
        "kernel_config": None,
        "keep_in_fp32_modules": [],
        "top_k": 2,  # the node's own options stay behind
        "batch": 2,
    }
    model = cls(str(path), device="cpu", **pop_params(cls.__init__, options))
    scores = model.predict(sentences=PAIRS, apply_softmax=True)
    return model, scores, sorted(options)


def test_autorag_reranker_takes_sentence_transformers_init_options(classifier):
    ours, ours_scores, ours_rest = autorag_reranker(sbert.CrossEncoder, classifier)
    theirs, theirs_scores, theirs_rest = autorag_reranker(st.CrossEncoder, classifier)
    assert ours_rest == theirs_rest == ["batch", "top_k"]
    np.testing.assert_allclose(ours_scores, theirs_scores, atol=1e-6)
    for name in ("use_kernels", "kernel_config", "keep_in_fp32_modules"):
        assert getattr(ours, name) == getattr(theirs, name)


MODEL_CLASSES = ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]


@pytest.mark.parametrize("name", MODEL_CLASSES)
def test_init_signature_names_every_sentence_transformers_option(name):
    """Applications filter their settings by the constructor's signature: each option 6.3 takes is named."""
    theirs = set(inspect.signature(getattr(st, name).__init__).parameters)
    ours = set(inspect.signature(getattr(sbert, name).__init__).parameters)
    assert theirs - ours == set()


def test_kernel_options_at_defaults_load_and_requests_are_refused(tiny_st_factory):
    path = str(tiny_st_factory(classic_pooling(32, "mean")))
    ours = sbert.SentenceTransformer(path, device="cpu", use_kernels=False, kernel_config=None)
    theirs = st.SentenceTransformer(path, device="cpu", use_kernels=False, kernel_config=None)
    assert (ours.use_kernels, ours.kernel_config) == (theirs.use_kernels, theirs.kernel_config)
    assert ours.kernel_config is None and ours.use_kernels is False
    np.testing.assert_allclose(ours.encode(["a cat"]), theirs.encode(["a cat"]), atol=1e-6)
    with pytest.raises(ValueError, match="use_kernels"):
        sbert.SentenceTransformer(path, device="cpu", use_kernels=True)
