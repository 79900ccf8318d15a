"""Cases from the side-by-side fuzz of the torch-free graph builder against sentence-transformers on torch
(session 45): random tiny encoders of each family the builder writes, with the config.json fields, weight
layouts and pipelines real checkpoints use, encoded by both with ``backend="auto"`` and ``"onnx"``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import build_tiny_encoder, classic_pooling, write_st_folder

import sbert
from sbert._backends.graph_builder import position_limit

# the families whose encoder numbers positions from the input ids (transformers'
# create_position_ids_from_input_ids): a text past the table is an IndexError in torch's lookup
PADDED_POSITION_FAMILIES = ["roberta", "xlm-roberta", "camembert", "mpnet"]


@pytest.mark.parametrize("kind", PADDED_POSITION_FAMILIES)
def test_text_past_the_positions_raises_the_error_class_torch_raises(kind, tiny_bert, tmp_path):
    """With max_seq_length above the positions, sentence-transformers fails in the position lookup with an
    IndexError; sbert's graph refused the batch with a SequenceTooLongError that was a RuntimeError only,
    so ``except IndexError`` code written for sentence-transformers did not catch it."""
    from sentence_transformers import SentenceTransformer as Reference

    encoder = build_tiny_encoder(kind, tiny_bert, tmp_path / "encoder")
    folder = write_st_folder(encoder, tmp_path / "st", classic_pooling(32, "mean"))
    text = " ".join(["a"] * (position_limit(folder) + 4))
    reference = Reference(str(folder), device="cpu")
    reference.max_seq_length = 200
    with pytest.raises(Exception) as expected:
        reference.encode([text])
    for backend in ("auto", "onnx"):
        ours = sbert.SentenceTransformer(str(folder), backend=backend)
        assert ours.backend == "onnx"
        ours.max_seq_length = 200
        with pytest.raises(sbert.SequenceTooLongError) as raised:
            ours.encode([text])
        assert isinstance(raised.value, type(expected.value)), (type(expected.value), raised.value)


def test_changed_config_rebuilds_the_cached_graph(tiny_bert, tmp_path):
    """A graph cached for one config.json is not reused after the config changes (layer_norm_eps and
    hidden_act here): the numbers follow sentence-transformers' after each change."""
    from sentence_transformers import SentenceTransformer as Reference

    encoder = build_tiny_encoder("roberta", tiny_bert, tmp_path / "encoder")
    folder = write_st_folder(encoder, tmp_path / "st", classic_pooling(32, "max", "cls"), normalize=True)
    texts = ["", "a", "the cat sat on the mat", "dog " * 30]
    for change in ({}, {"layer_norm_eps": 0.5}, {"hidden_act": "relu"}):
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, **change}))
        expected = Reference(str(folder), device="cpu").encode(texts)
        ours = sbert.SentenceTransformer(str(folder))
        assert ours.backend == "onnx"
        np.testing.assert_allclose(ours.encode(texts), expected, atol=1e-5, rtol=0)
