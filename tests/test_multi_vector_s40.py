"""MultiVectorEncoder parity found by a seeded differential fuzzer (session 40): the same outputs as
sentence-transformers' MultiVectorEncoder on the same folder, where the fuzzer found them apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert

TOL = 1e-5
# texts of different lengths, so a batch pads its shorter texts
TEXTS = ["sunny stadium", "", "! . on mat house dog berlin , the cat sat on the mat"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """sentence-transformers' default MultiVectorEncoder pipeline around a tiny BERT, as it saves it."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("multi-vector-s40")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "model"))
    return root / "model"


@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_feature_dicts_hold_the_padded_positions_as_sentence_transformers(folder, method):
    """``output_value=None``: each text's features padded as its batch, the padded positions' token vectors
    computed by the encoder (not left out), as sentence-transformers returns them."""
    from sentence_transformers import MultiVectorEncoder

    ours = getattr(sbert.MultiVectorEncoder(str(folder), device="cpu"), method)(TEXTS, output_value=None)
    reference = getattr(MultiVectorEncoder(str(folder), device="cpu"), method)(TEXTS, output_value=None)
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference):
        assert list(mine) == list(theirs)
        for name, value in theirs.items():
            if isinstance(value, torch.Tensor):
                assert mine[name].shape == value.shape and mine[name].dtype == value.dtype, name
                np.testing.assert_allclose(mine[name].float(), value.float(), atol=TOL, err_msg=name)
            else:
                assert mine[name] == value, name
