"""A text longer than the encoder's learned positions (``max_seq_length`` set above them):
sentence-transformers fails inside torch with a RuntimeError; sbert's ONNX graphs would fail inside ONNX
Runtime with a message about a graph node. sbert says what is wrong before running: SequenceTooLongError
(also a RuntimeError), naming the limit. A text of exactly the limit runs, as there, with the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    ENCODER_FAMILIES,
    PADDED_TRACED_FAMILIES,
    build_tiny_encoder,
    classic_pooling,
    write_st_folder,
)

import sbert
from sbert import SequenceTooLongError
from sbert._backends.graph_builder import position_limit


def _texts_of(tokens: int) -> list[str]:
    """One text of ``tokens`` tokens with [CLS] and [SEP] (each "a" is one token of the tiny vocabulary)."""
    return [" ".join(["a"] * (tokens - 2))]


@pytest.fixture(scope="module")
def folders(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("positions")
    built = {}
    for kind in ENCODER_FAMILIES:
        encoder = build_tiny_encoder(kind, tiny_bert, root / f"{kind}-encoder")
        built[kind] = write_st_folder(encoder, root / kind, classic_pooling(32, "mean"))
    return built


@pytest.mark.parametrize("kind", list(ENCODER_FAMILIES))
def test_longest_text_runs_and_one_more_token_is_refused_as_sentence_transformers(folders, kind):
    """At the limit both encode, equal (1e-5); one token more, sentence-transformers fails in torch and
    sbert raises SequenceTooLongError naming the limit (RoBERTa-family tables lose pad_token_id + 1 rows,
    71 of 72 here with pad_token_id 0, MPNet's 2; BERT and DistilBERT use all 72)."""
    from sentence_transformers import SentenceTransformer as Reference

    limit = position_limit(folders[kind])
    assert limit == {"roberta": 71, "xlm-roberta": 71, "camembert": 71, "mpnet": 70}.get(kind, 72)
    reference = Reference(str(folders[kind]), device="cpu")
    ours = sbert.SentenceTransformer(str(folders[kind]), backend="onnx")
    reference.max_seq_length = ours.max_seq_length = 200
    np.testing.assert_allclose(
        ours.encode(_texts_of(limit)), reference.encode(_texts_of(limit)), atol=1e-5, rtol=0
    )
    with pytest.raises((RuntimeError, IndexError)):
        reference.encode(_texts_of(limit + 1))
    with pytest.raises(SequenceTooLongError, match=f"{limit + 1} tokens.*{limit} positions") as raised:
        ours.encode(_texts_of(limit + 1))
    assert isinstance(raised.value, RuntimeError)


def test_cross_encoder_on_onnx_refuses_a_pair_past_the_positions(tiny_bert, tmp_path):
    """The cross-encoder's ONNX scorer checks its pairs the same way."""
    folder = build_tiny_encoder("bert", tiny_bert, tmp_path / "ce", num_labels=1)
    model = sbert.CrossEncoder(str(folder), backend="onnx", max_length=200)
    words = " ".join(["a"] * 40)
    assert np.isfinite(model.predict([("a", "a")])).all()
    with pytest.raises(SequenceTooLongError, match="72 positions"):
        model.predict([(words, words)])


def test_unknown_families_are_not_checked(tmp_path):
    """No config.json, or a model_type the graph builder does not build: no limit (the runtime's own error
    stands)."""
    assert position_limit(tmp_path) is None
    (tmp_path / "config.json").write_text('{"model_type": "llama", "max_position_embeddings": 8}')
    assert position_limit(tmp_path) is None


@pytest.mark.parametrize("kind", list(PADDED_TRACED_FAMILIES))
def test_traced_families_counting_positions_from_the_padding_id(tiny_bert, tmp_path, kind):
    """Families the graph builder does not write (their graphs traced from torch) that number positions
    from pad_token_id + 1, as RoBERTa: the limit leaves those rows out (71 of 72 here), so one token past it
    is sbert's SequenceTooLongError, not ONNX Runtime's message from inside the graph."""
    from sentence_transformers import SentenceTransformer as Reference

    encoder = build_tiny_encoder(kind, tiny_bert, tmp_path / "encoder")
    folder = write_st_folder(encoder, tmp_path / "st", classic_pooling(32, "mean"))
    limit = position_limit(folder)
    assert limit == 71
    reference = Reference(str(folder), device="cpu")
    ours = sbert.SentenceTransformer(str(folder), backend="onnx")
    reference.max_seq_length = ours.max_seq_length = 200
    np.testing.assert_allclose(
        ours.encode(_texts_of(limit)), reference.encode(_texts_of(limit)), atol=1e-5, rtol=0
    )
    with pytest.raises((RuntimeError, IndexError)):
        reference.encode(_texts_of(limit + 1))
    with pytest.raises(SequenceTooLongError, match=f"{limit + 1} tokens.*{limit} positions"):
        ours.encode(_texts_of(limit + 1))
