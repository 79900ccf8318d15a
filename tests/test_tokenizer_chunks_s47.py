"""encode tokenizes ahead of the model in chunks bounded by texts and by characters: a tokenizer's encodings
keep every token of a text, the part past the length limit too, so 8,192 long documents at once took
gigabytes where sentence-transformers tokenizes 32 texts at a time."""

from __future__ import annotations

import numpy as np
import pytest

from sbert._tokens import batching


def _characters(texts, chunk) -> int:
    return sum(len(texts[i]) for i in chunk)


def test_chunks_cover_the_texts_in_order_within_both_limits(monkeypatch):
    monkeypatch.setattr(batching, "FIRST_CHUNK_SIZE", 3)
    monkeypatch.setattr(batching, "CHUNK_SIZE", 5)
    monkeypatch.setattr(batching, "CHUNK_CHARACTERS", 100)
    rng = np.random.default_rng(0)
    texts = ["x" * int(n) for n in rng.integers(0, 60, size=200)] + ["y" * 250, "", "z" * 101, "w"]
    chunks = batching.tokenizer_chunks(texts)
    assert [i for chunk in chunks for i in chunk] == list(range(len(texts)))
    assert len(chunks[0]) <= 3 and all(len(chunk) <= 5 for chunk in chunks)
    for chunk in chunks:
        assert len(chunk) >= 1
        if len(chunk) > 1:  # only a text over the budget makes a chunk of its own larger than the budget
            assert _characters(texts, chunk) <= 100
        if chunk.stop < len(texts) and len(chunk) < (3 if chunk.start == 0 else 5):
            assert _characters(texts, chunk) + len(texts[chunk.stop]) > 100  # cut only where needed
    assert range(200, 201) in chunks and range(202, 203) in chunks  # 250 and 101 characters: alone


def test_short_texts_keep_the_count_limits():
    texts = ["a sentence of about forty characters in all"] * 20_000
    chunks = batching.tokenizer_chunks(texts)
    assert [len(chunk) for chunk in chunks] == [512, 8192, 8192, 20_000 - 512 - 2 * 8192]


@pytest.mark.parametrize("texts", [[], ["one"]])
def test_empty_and_single_inputs(texts):
    assert batching.tokenizer_chunks(texts) == ([range(1)] if texts else [])


WORDS = "rivers carry sand to the sea while winds shape the dunes of the old coast".split()


def _documents(count: int, first: int, step: int) -> list[str]:
    return [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(first + step * i)) for i in range(count)]


def _characters_per_call(monkeypatch, tokenizer, method: str) -> list[int]:
    """The characters each call of the tokenizer's ``method`` gets, recorded from now on."""
    seen: list[int] = []
    original = getattr(type(tokenizer), method)

    def recording(self, texts, *args, **kwargs):
        seen.append(sum(map(len, texts)))
        return original(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), method, recording)
    return seen


def test_encode_of_long_documents_tokenizes_bounded_chunks_and_keeps_order(default_model, monkeypatch):
    monkeypatch.setattr(batching, "CHUNK_CHARACTERS", 6_000)
    documents = _documents(12, 300, 40)
    seen = _characters_per_call(monkeypatch, default_model.tokenizer, "encode_texts")
    together = default_model.encode(documents)
    assert len(seen) > 1 and all(size <= 6_000 for size in seen), seen
    singles = np.stack([default_model.encode(document) for document in documents])
    np.testing.assert_allclose(together, singles, rtol=0, atol=1e-5)


def test_window_planning_tokenizes_bounded_chunks_with_the_same_windows(default_model, monkeypatch):
    """``encode_chunks`` / ``encode(chunk_tokens=...)`` tokenize whole documents (every token counts there):
    in character-bounded chunks too, with the windows of one call over all of them."""
    from sbert._tokens.chunking import plan_windows

    documents = _documents(10, 50, 70)
    tokenizer = default_model.tokenizer
    whole = plan_windows(tokenizer, documents, 64, 16)
    monkeypatch.setattr(batching, "CHUNK_CHARACTERS", 5_000)
    seen = _characters_per_call(monkeypatch, tokenizer, "encode_untruncated")
    assert plan_windows(tokenizer, documents, 64, 16) == whole
    assert len(seen) > 1 and all(size <= 5_000 for size in seen), seen
