"""A pre-baked cache that cannot be written (a container image's SBERT_CACHE on a read-only file system),
holding the graphs made when the image was built but not one needed later (the int8 graph of
``precision="int8"``): that graph is made in this process's private folder, the pre-baked graphs are still
read where they are, and nothing in the read-only cache changes.

Root writes through permission bits, so the cache is made read-only for sbert by its write probe
(``onnx_export.write_error``), the one place sbert asks; a write that skipped it would change the cache."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import sbert
from sbert._backends import onnx_export

INT8 = {"file_name": "model_qint8_avx2.onnx"}  # sentence-transformers' name of an int8 graph
TEXTS = ["A man is playing a guitar.", "The weather is cold today.", ""]


@pytest.fixture
def prebaked(tmp_path, monkeypatch):
    """A writable SBERT_CACHE now; calling the result makes it read-only and returns its files' states."""
    cache = tmp_path / "baked-cache"
    monkeypatch.setenv("SBERT_CACHE", str(cache))
    onnx_export.writable_cache.cache_clear()
    real_probe = onnx_export.write_error

    def freeze() -> dict[Path, str]:
        def probe(folder: Path) -> OSError | None:
            if Path(folder).is_relative_to(cache):
                return OSError(30, "Read-only file system", str(folder))
            return real_probe(folder)

        monkeypatch.setattr(onnx_export, "write_error", probe)
        onnx_export.writable_cache.cache_clear()
        return _states(cache)

    yield cache, freeze
    onnx_export.writable_cache.cache_clear()


def _states(root: Path) -> dict[Path, str]:
    """Every path under ``root`` and what it holds (a file's bytes by digest): a write shows as a change."""
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        for path in root.rglob("*")
    }


def test_a_read_only_cache_without_the_int8_graph_makes_it_privately(default_model, prebaked, caplog):
    cache, freeze = prebaked
    fp32 = sbert.SentenceTransformer()  # the image's build: the fp32 graph in the cache
    assert fp32.backend == "onnx" and list(cache.rglob("*.onnx"))
    reference_int8 = sbert.SentenceTransformer(precision="int8", backend="onnx").encode(TEXTS)
    for graph in cache.rglob("*int8*.onnx"):  # the image held the fp32 graph only
        graph.unlink()
    baked = freeze()

    int8 = sbert.SentenceTransformer(precision="int8", backend="onnx")
    again = sbert.SentenceTransformer(precision="int8", backend="onnx")  # the private graph found again
    fp32_again = sbert.SentenceTransformer()

    assert _states(cache) == baked, "the read-only cache was written"
    private = onnx_export.writable_cache(cache)
    assert private != cache and private.is_relative_to(tempfile.gettempdir())
    made = [path.name for path in private.rglob("*.onnx")]
    assert len(made) == 1 and "int8" in made[0], made  # the fp32 graph is read from the baked cache
    np.testing.assert_array_equal(int8.encode(TEXTS), reference_int8)
    np.testing.assert_array_equal(again.encode(TEXTS), reference_int8)
    np.testing.assert_array_equal(fp32_again.encode(TEXTS), fp32.encode(TEXTS))
    np.testing.assert_allclose(fp32.encode(TEXTS), default_model.encode(TEXTS), rtol=0, atol=1e-6)
    assert sum("SBERT_CACHE" in r.getMessage() for r in caplog.records) == 1


def test_a_read_only_cache_without_a_sparse_int8_graph_makes_it_privately(masked_lm, tmp_path, prebaked):
    cache, freeze = prebaked
    # a hub snapshot's folder: its graphs go to the cache, not beside it
    folder = tmp_path / "models--someone--splade" / "snapshots" / "0123"
    shutil.copytree(masked_lm, folder)
    fp32 = sbert.SparseEncoder(str(folder), backend="onnx").encode(TEXTS[:2], convert_to_sparse_tensor=False)
    reference = sbert.SparseEncoder(str(folder), backend="onnx", model_kwargs=INT8).encode(
        TEXTS[:2], convert_to_sparse_tensor=False
    )
    for graph in cache.rglob("*int8*.onnx"):
        graph.unlink()
    baked = freeze()

    int8 = sbert.SparseEncoder(str(folder), backend="onnx", model_kwargs=INT8).encode(
        TEXTS[:2], convert_to_sparse_tensor=False
    )
    fp32_again = sbert.SparseEncoder(str(folder), backend="onnx").encode(
        TEXTS[:2], convert_to_sparse_tensor=False
    )

    assert _states(cache) == baked, "the read-only cache was written"
    made = [path.name for path in onnx_export.writable_cache(cache).rglob("*.onnx")]
    assert len(made) == 1 and "int8" in made[0], made
    np.testing.assert_array_equal(np.asarray(int8), np.asarray(reference))
    np.testing.assert_array_equal(np.asarray(fp32_again), np.asarray(fp32))
