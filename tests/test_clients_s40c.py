"""Client-library probes, session 40 (part 3): sentence-transformers' less common encode paths as client code
calls them, compared with sentence-transformers on the same inputs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
sentence_transformers = pytest.importorskip("sentence_transformers")

from sbert import SentenceTransformer  # noqa: E402

TEXTS = ["The cat sits outside", "A man is playing guitar today", "pasta", "The new movie is awesome"]


@pytest.fixture(scope="module")
def reference_pool(dropout_free_st):
    """sentence-transformers' model and pool, shared by the chunk sizes (its worker imports torch and
    sentence-transformers once, not once per chunk size)."""
    reference = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu")
    pool = reference.start_multi_process_pool(["cpu"])
    yield reference, pool
    reference.stop_multi_process_pool(pool)


@pytest.mark.parametrize("chunk_size", [None, 3])
@pytest.mark.slow
def test_raw_features_on_a_pool_are_padded_per_chunk_as_sentence_transformers(
    dropout_free_st, reference_pool, chunk_size
):
    """``encode(output_value=None, pool=...)``: sentence-transformers runs each chunk of the inputs apart
    (about ten chunks per worker, or ``chunk_size``), so each text's feature tensors are padded to its chunk's
    longest text, not to the whole call's."""
    ours = SentenceTransformer(str(dropout_free_st), device="cpu")
    got_pool = ours.start_multi_process_pool(["cpu"])
    try:
        got = ours.encode(TEXTS, pool=got_pool, output_value=None, chunk_size=chunk_size)
    finally:
        ours.stop_multi_process_pool(got_pool)
    reference, pool = reference_pool
    expected = reference.encode(TEXTS, pool=pool, output_value=None, chunk_size=chunk_size)
    assert [list(row) for row in got] == [list(row) for row in expected]
    for ours_row, reference_row in zip(got, expected):
        for key, value in reference_row.items():
            if not isinstance(value, torch.Tensor):
                assert ours_row[key] == value, key
                continue
            assert ours_row[key].shape == value.shape, key
            torch.testing.assert_close(ours_row[key].float(), value.float(), atol=1e-5, rtol=0)
