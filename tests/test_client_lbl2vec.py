"""Call patterns of lbl2vec's ``Lbl2TransformerVec``, written out without the library.

It hands the model to Ray workers (``ray.put``: cloudpickle) and there tests
``type(model) == type(SentenceTransformer())``; cloudpickle copies a class by value, so that the copy is not
the worker's class, unless the module the class names as its own is in ``sys.modules``. Its ``clean_outliers``
path scores a 0-d label vector with ``util.cos_sim``, which raises a ``RuntimeError`` under
sentence-transformers (torch's).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sentence_transformers as st
import torch

import sbert

_PICKLE_BY_REFERENCE = """
import sys
try:
    import cloudpickle
except ImportError:
    from ray import cloudpickle
import {package} as pkg
from {package}.util import cos_sim  # a script's imports; the model classes load on first access
names = ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]
classes = [getattr(pkg, name) for name in names]
sys.stdout.write(repr([cloudpickle.cloudpickle._should_pickle_by_reference(c) for c in classes]))
"""


def test_model_classes_pickle_by_reference_in_a_fresh_interpreter():
    """What Ray and joblib's loky do with a model: its class travels as a reference, as sentence-transformers'
    does (its classes live in modules its import loads; checked with this probe when written: importing
    sentence-transformers in a fresh interpreter costs the suite 8 s), so a worker's ``type(model)`` is its
    own ``SentenceTransformer``."""
    out = subprocess.run(
        [sys.executable, "-c", _PICKLE_BY_REFERENCE.format(package="sbert")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "[True, True, True, True]"


def test_tokenizer_class_pickles_by_reference(tiny_st_factory, classic_pooling_mean):
    try:
        import cloudpickle
    except ImportError:
        from ray import cloudpickle
    model = sbert.SentenceTransformer(str(tiny_st_factory(classic_pooling_mean)), backend="torch")
    assert cloudpickle.cloudpickle._should_pickle_by_reference(type(model.tokenizer))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.float32(0.5), np.ones((3, 4), np.float32)),  # lbl2vec's centroid of a centroid
        (np.ones(4, np.float32), np.ones((3, 5), np.float32)),
        (torch.ones(2, 4), torch.ones(2, 3)),
    ],
    ids=["0-d", "width", "tensors"],
)
@pytest.mark.parametrize("function", ["cos_sim", "dot_score", "euclidean_sim", "manhattan_sim"])
def test_unscorable_embeddings_raise_a_runtime_error(a, b, function):
    with pytest.raises(RuntimeError):
        getattr(st.util, function)(a, b)
    with pytest.raises(sbert.EmbeddingShapeError) as raised:
        getattr(sbert.util, function)(a, b)
    assert isinstance(raised.value, RuntimeError) and isinstance(raised.value, ValueError)


@pytest.fixture
def classic_pooling_mean():
    from conftest import classic_pooling

    return classic_pooling(32, "mean")
