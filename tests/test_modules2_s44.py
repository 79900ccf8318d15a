"""Modules side by side with sentence-transformers 6.3 (Dense, Normalize, Pooling, Router, ...): the class
attributes a subclass builds on, as ST's own module tests and third-party subclasses use them."""

from __future__ import annotations

import pytest
import sentence_transformers.base.modules as st_base
import sentence_transformers.sentence_transformer.modules as st_models
import sentence_transformers.sparse_encoder.modules as st_sparse

import sbert.models as sb_models
import sbert.sparse_encoder.models as sb_sparse

_DENSE_NAMES = [n for n in sb_models.__all__ if hasattr(getattr(sb_models, n), "config_keys")]


def _pairs():
    for name in _DENSE_NAMES:
        st = getattr(st_models, name, None) or getattr(st_base, name)
        yield name, st, getattr(sb_models, name)
    for name in ("SpladePooling", "SparseAutoEncoder"):
        yield name, getattr(st_sparse, name), getattr(sb_sparse, name)


_PAIRS = list(_pairs())


@pytest.mark.parametrize(("name", "st_cls", "sb_cls"), _PAIRS, ids=[p[0] for p in _PAIRS])
def test_config_keys_are_lists_a_subclass_can_extend_as_in_sentence_transformers(name, st_cls, sb_cls):
    # e.g. `class MyDense(Dense): config_keys = Dense.config_keys + ["scale"]`
    assert type(sb_cls.config_keys) is type(st_cls.config_keys) is list, name
    assert sb_cls.config_keys == st_cls.config_keys
    assert sb_cls.config_keys + ["extra"] == st_cls.config_keys + ["extra"]
