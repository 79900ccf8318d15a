"""A cache that cannot be written (a read-only home or file system, in containers and serverless functions):
``backend="auto"`` still builds the ONNX graph, in a private temporary folder removed at exit, with one
warning naming SBERT_CACHE; without torch and with nowhere to write, a ModelLoadError says what to set.

The unwritable cache is a path under a regular file: mkdir fails there even for root."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import BLOCK_TORCH, HANG_GUARD_S

import sbert
from sbert import ModelLoadError
from sbert._backends import onnx_export, onnx_runner

TEXTS = ["A man is playing a guitar.", "The weather is cold today.", ""]

CHILD = (
    BLOCK_TORCH
    + """import json, numpy as np
import sbert
model = sbert.SentenceTransformer()
np.save(sys.argv[1], model.encode(json.loads(sys.argv[2])))
print(model.backend, sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers")))
"""
)


def _unwritable(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "sbert-cache"


def test_auto_builds_the_graph_in_a_private_folder_when_the_cache_is_read_only(
    default_model, tmp_path, monkeypatch, caplog
):
    cache = _unwritable(tmp_path)
    monkeypatch.setenv("SBERT_CACHE", str(cache))
    with caplog.at_level(logging.WARNING, logger="sbert._backends.onnx_export"):
        model = sbert.SentenceTransformer()
        again = sbert.SentenceTransformer()  # the same private folder: its graph is reused
    assert model.backend == "onnx" and again.backend == "onnx"
    warnings = [r.getMessage() for r in caplog.records if "SBERT_CACHE" in r.getMessage()]
    assert len(warnings) == 1 and str(cache) in warnings[0], warnings
    private = Path(onnx_export.writable_cache(cache))
    assert private != cache and private.is_relative_to(tempfile.gettempdir())
    assert list(private.rglob("*.onnx")), "the graph is in the private folder"
    np.testing.assert_allclose(model.encode(TEXTS), default_model.encode(TEXTS), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(again.encode(TEXTS), model.encode(TEXTS))


def test_without_torch_a_read_only_cache_still_encodes_on_onnx(default_model, tmp_path):
    environment = {**os.environ, "SBERT_CACHE": str(_unwritable(tmp_path))}
    out = tmp_path / "e.npy"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), json.dumps(TEXTS)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "onnx []"
    np.testing.assert_allclose(np.load(out), default_model.encode(TEXTS), rtol=0, atol=1e-6)
    named = re.search(r"builds its ONNX graphs in (\S+), and", result.stderr)
    assert named is not None, result.stderr
    assert not Path(named.group(1)).exists()  # removed at the process's exit


def test_without_torch_and_nowhere_to_write_the_error_names_sbert_cache(tmp_path, monkeypatch):
    cache = _unwritable(tmp_path)
    monkeypatch.setenv("SBERT_CACHE", str(cache))

    def no_temporary_folder(*args, **kwargs):
        raise PermissionError(13, "Permission denied", tempfile.gettempdir())

    monkeypatch.setattr(onnx_export.tempfile, "mkdtemp", no_temporary_folder)
    monkeypatch.setattr(onnx_runner, "torch_installed", lambda: False)
    with pytest.raises(ModelLoadError, match=r"Set SBERT_CACHE to a writable folder") as caught:
        sbert.SentenceTransformer()
    assert str(cache) in str(caught.value) and "pip install 'sbert[torch]'" in str(caught.value)
