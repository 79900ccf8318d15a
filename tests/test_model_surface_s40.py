"""The models' container surface and the private helpers user code and client libraries call on them,
compared with sentence-transformers 6.3 on the same tiny folders: ``_first_module()`` / ``_last_module()`` and
the ``_input_length`` sort key on every model class, ``del model[i]``, and a CrossEncoder's module 0 as an
``InputModule`` (the base classes ``isinstance`` checks name)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import (
    build_tiny_bert,
    build_tiny_classifier,
    build_tiny_masked_lm,
    classic_pooling,
    write_st_folder,
)

import sbert

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

KINDS = ["SentenceTransformer", "SparseEncoder", "CrossEncoder"]
TEXTS = ["a man plays a guitar", "hello", "a dog runs in the park today"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("surface-s40")
    bert = build_tiny_bert(root / "bert")
    return {
        "SentenceTransformer": write_st_folder(
            bert, root / "dense", classic_pooling(32, "mean"), normalize=True
        ),
        "SparseEncoder": build_tiny_masked_lm(root / "mlm"),
        "CrossEncoder": build_tiny_classifier(root / "ce1"),
    }


def _load(library, kind: str, folder, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(library, kind)(str(folder), device="cpu", **options)


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("kind", KINDS)
def test_first_and_last_module_as_sentence_transformers(folders, kind, backend):
    import sentence_transformers as st

    theirs = _load(st, kind, folders[kind])
    ours = _load(sbert, kind, folders[kind], **({} if backend == "auto" else {"backend": "torch"}))
    assert type(ours._first_module()).__name__ == type(theirs._first_module()).__name__
    assert type(ours._last_module()).__name__ == type(theirs._last_module()).__name__
    assert ours._first_module() is ours[0]
    assert ours._last_module() is ours[len(ours) - 1]


SAMPLES = [
    "a text",
    "",
    ("a query", "a longer document"),
    ["a", "b", "c"],
    [],
    {"role": "user", "content": "hi there"},
    {"role": "user", "content": [{"type": "text", "text": "abc"}, {"type": "image"}]},
    [{"role": "system", "content": "be brief"}, {"role": "user", "content": "why"}],
    {"text": "abcd", "other": "xy"},
    np.zeros((2, 3)),
    torch.zeros(4, 5),
    None,
    7,
]


@pytest.mark.parametrize("kind", KINDS)
def test_input_length_as_sentence_transformers(folders, kind):
    """``_input_length``: the sort key of sentence-transformers 6.3's batches, a static method that
    subclasses and client code overriding inference call."""
    import sentence_transformers as st

    theirs = getattr(st, kind)
    ours = getattr(sbert, kind)
    assert [ours._input_length(s) for s in SAMPLES] == [theirs._input_length(s) for s in SAMPLES]
    model = _load(sbert, kind, folders[kind])
    assert [model._input_length(s) for s in SAMPLES] == [theirs._input_length(s) for s in SAMPLES]


def test_del_item_as_sentence_transformers(folders):
    import sentence_transformers as st

    theirs = _load(st, "SentenceTransformer", folders["SentenceTransformer"])
    ours = _load(sbert, "SentenceTransformer", folders["SentenceTransformer"])
    del theirs[-1]
    del ours[-1]
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    expected = theirs.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=1e-4)
    assert abs(float(np.linalg.norm(expected[0])) - 1.0) > 1e-3  # the Normalize is gone


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("kind", KINDS)
def test_modules_are_instances_of_the_base_classes_as_in_sentence_transformers(folders, kind, backend):
    """``isinstance(model[0], InputModule)``, ``isinstance(module, Module)``: sentence-transformers' base
    classes against sbert's (``sbert.base.modules``, the same as ``sbert.models``' and
    ``sbert.cross_encoder.modules``')."""
    import sentence_transformers as st
    from sentence_transformers.base import modules as st_modules

    from sbert.base import modules as sbert_modules
    from sbert.cross_encoder import modules as cross_modules

    theirs = _load(st, kind, folders[kind])
    ours = _load(sbert, kind, folders[kind], **({} if backend == "auto" else {"backend": "torch"}))
    for name in ("InputModule", "Module"):
        expected = [isinstance(module, getattr(st_modules, name)) for module in theirs]
        assert [isinstance(module, getattr(sbert_modules, name)) for module in ours] == expected, name
        assert [isinstance(module, getattr(cross_modules, name)) for module in ours] == expected, name
    assert ours[0].modalities == theirs[0].modalities == ["text"]
