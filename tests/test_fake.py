"""The fake encoder: deterministic vectors from token ids, for testing the server, CLI and search."""

from __future__ import annotations

import numpy as np
import pytest

from sbert import FakeEncoder, InputError


def test_vectors_are_deterministic_and_independent_of_the_batch():
    model = FakeEncoder(8)
    texts = ["a cat sat on the mat", "dogs", "", "a cat sat on the mat"]
    together = model.encode(texts)
    alone = np.stack([model.encode(t) for t in texts])
    assert together.shape == (4, 8) and together.dtype == np.float32
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together[0], together[3])
    np.testing.assert_array_equal(FakeEncoder(8).encode(texts), together)
    assert not np.allclose(FakeEncoder(8, seed=1).encode(texts), together)


def test_shared_words_make_similar_vectors():
    model = FakeEncoder(64)
    a, b, c = model.encode(["the cat sat on the mat", "the cat sat on a mat", "stocks fell sharply today"])
    scores = model.similarity(np.stack([a]), np.stack([b, c]))[0]
    assert scores[0] > 0.8 > scores[1]


def test_truncation_on_either_side():
    model = FakeEncoder(8, max_seq_length=4)
    (right,) = model.tokenizer.encode_texts(["one two three four"])
    assert right.tokens == ["[CLS]", "one", "two", "[SEP]"] and right.overflowing
    (left,) = model.tokenizer.with_truncation_side("left").encode_texts(["one two three four"])
    assert left.tokens == ["[CLS]", "three", "four", "[SEP]"]
    (short,) = model.tokenizer.encode_texts(["one"])
    assert short.ids[0] == 2 and short.ids[-1] == 3 and not short.overflowing
    np.testing.assert_array_equal(model.encode("one two three four"), model.encode("one two"))


def test_delay_and_bad_arguments(monkeypatch):
    import sbert._fake

    slept = []
    monkeypatch.setattr(sbert._fake.time, "sleep", slept.append)
    FakeEncoder(4, delay=0.05).encode(["a", "b"])  # one batch
    assert slept and sum(slept) >= 0.05
    with pytest.raises(InputError, match="dimension"):
        FakeEncoder(0)
    with pytest.raises(InputError, match="max_seq_length"):
        FakeEncoder(4, max_seq_length=1)
    with pytest.raises(TypeError):
        FakeEncoder(4).encode(None)
