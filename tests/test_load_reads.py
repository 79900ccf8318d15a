"""One model load reads the weights and the ONNX export's metadata once: the readiness check of
``backend="auto"`` hands what it read (weights fingerprint, export metadata) to the backend's start.
(The folder snapshot's capture, through ``os.open``, is not counted: it keeps the files, it parses none.)"""

from __future__ import annotations

import builtins
import io
import os
from collections import Counter
from pathlib import Path

from conftest import build_tiny_classifier

import sbert
from sbert._backends.onnx_export import META_FILE


def count_reads(monkeypatch) -> Counter:
    """How often each file is read (``open`` for reading, ``Path.read_text`` / ``read_bytes``) from now on."""
    counts: Counter = Counter()
    inside = [False]  # Path.read_text opens through io.open: one read, counted once

    def counting(function, label):
        def read(target, *args, **kwargs):
            mode = args[0] if args and isinstance(args[0], str) else kwargs.get("mode", "r")
            if not inside[0] and isinstance(target, (str, os.PathLike)) and (label != "open" or "r" in mode):
                if os.path.isfile(target):
                    counts[os.path.realpath(target)] += 1
            inside[0], outer = True, inside[0]
            try:
                return function(target, *args, **kwargs)
            finally:
                inside[0] = outer

        return read

    monkeypatch.setattr(Path, "read_text", counting(Path.read_text, "read_text"))
    monkeypatch.setattr(Path, "read_bytes", counting(Path.read_bytes, "read_bytes"))
    opener = counting(builtins.open, "open")
    monkeypatch.setattr(builtins, "open", opener)
    monkeypatch.setattr(io, "open", opener)
    return counts


def _read_once(reads: Counter, folder: Path, names: list[str]) -> None:
    found = {name: reads[os.path.realpath(next(folder.rglob(name)))] for name in names}
    assert found == dict.fromkeys(names, 1)


def test_a_cross_encoder_load_reads_its_weights_and_export_metadata_once(tmp_path, monkeypatch):
    folder = build_tiny_classifier(tmp_path / "ce")
    assert sbert.CrossEncoder(str(folder)).backend == "onnx"  # the graph is cached now
    counts = count_reads(monkeypatch)
    model = sbert.CrossEncoder(str(folder))
    assert model.backend == "onnx"
    _read_once(counts, folder, ["model.safetensors", META_FILE])


def test_the_default_model_load_reads_its_weights_and_export_metadata_once(default_model_path, monkeypatch):
    sbert.SentenceTransformer()  # the graph is cached now
    counts = count_reads(monkeypatch)
    model = sbert.SentenceTransformer()
    assert model.backend == "onnx"
    assert counts[os.path.realpath(default_model_path / "model.safetensors")] == 1
    metas = [path for path in counts if path.endswith(META_FILE)]
    assert len(metas) == 1 and counts[metas[0]] == 1
