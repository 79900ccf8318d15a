"""Where sbert caches the ONNX graphs of a user's own model folder: ``onnx/sbert/``, never at the names
that sentence-transformers' ONNX backend, optimum and transformers.js load from a model folder
(``onnx/model.onnx``, ``onnx/model_int8.onnx``); an earlier sbert's cache at those names is removed, file by
file as its metadata lists them; ``sbert export`` folders keep their ``onnx/`` layout, older ones included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCES, build_tiny_classifier, classic_pooling, onnx_cache_dir

from sbert import CrossEncoder, SentenceTransformer


def st_loads_its_own_graph_from(folder: Path) -> bool:
    """Whether sentence-transformers' ONNX backend (backend="onnx") would load a graph it finds in
    ``folder`` rather than export the model itself: its own file search, which needs no optimum."""
    from sentence_transformers.backend.utils import backend_should_export

    export, _ = backend_should_export(folder, True, {}, "model.onnx", "*.onnx", "ONNX")
    return not export


@pytest.fixture
def folder(tiny_st_factory, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_st_factory(classic_pooling(32, "mean")), tmp_path / "model"))


def test_sbert_graphs_stay_out_of_the_files_other_tools_load(folder, tmp_path):
    torch_out = SentenceTransformer(folder, backend="torch").encode(SENTENCES)
    np.testing.assert_allclose(SentenceTransformer(folder).encode(SENTENCES), torch_out, atol=1e-5, rtol=0)
    SentenceTransformer(folder, backend="onnx", precision="int8").encode(SENTENCES[:2])
    assert [p.name for p in (folder / "onnx").iterdir()] == ["sbert"]
    cached = {p.name for p in onnx_cache_dir(folder).iterdir()}
    assert {"model.onnx", "model_int8.onnx", "sbert_export.json"} <= cached
    assert not st_loads_its_own_graph_from(folder)
    cross = build_tiny_classifier(tmp_path / "ce")
    assert CrossEncoder(cross, backend="onnx").backend == "onnx"
    assert [p.name for p in (cross / "onnx").iterdir()] == ["sbert"]
    assert (onnx_cache_dir(cross) / "model.onnx").is_file() and not st_loads_its_own_graph_from(cross)


def _as_an_earlier_sbert_cached_it(folder: Path) -> dict:
    """Move the folder's cache to ``onnx/``, where sbert cached graphs before; its metadata. (Those caches
    had no ``.gitignore``.)"""
    legacy = folder / "onnx"
    (onnx_cache_dir(folder) / ".gitignore").unlink()
    for path in onnx_cache_dir(folder).iterdir():
        path.rename(legacy / path.name)
    onnx_cache_dir(folder).rmdir()
    return json.loads((legacy / "sbert_export.json").read_text())


def test_an_earlier_sbert_cache_in_onnx_is_not_run_and_only_its_listed_files_go(folder):
    SentenceTransformer(folder, backend="onnx")
    SentenceTransformer(folder, backend="onnx", precision="int8")
    legacy = folder / "onnx"
    meta = _as_an_earlier_sbert_cached_it(folder)
    assert sorted(meta["graphs"].values()) == ["model.onnx", "model_int8.onnx"]
    assert len(list(legacy.glob("*.data"))) == 2  # each built graph's side file, named after it
    (legacy / "model.onnx").write_bytes(b"not a graph")  # current by its metadata: run, a ModelLoadError
    meta["graphs"]["odd"] = "../config.json"  # never a name sbert writes: not removed
    (legacy / "sbert_export.json").write_text(json.dumps(meta))
    theirs = {"model_O1.onnx": b"optimum", "model.onnx_data": b"a", "model.onnx.data": b"b", "notes": b"c"}
    for name, data in theirs.items():
        (legacy / name).write_bytes(data)

    ours = SentenceTransformer(folder, backend="onnx").encode(SENTENCES)
    expected = SentenceTransformer(folder, backend="torch").encode(SENTENCES)
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    assert sorted(p.name for p in legacy.iterdir()) == sorted([*theirs, "sbert"])
    assert all((legacy / name).read_bytes() == data for name, data in theirs.items())
    assert (folder / "config.json").is_file() and (onnx_cache_dir(folder) / "model.onnx").is_file()


def test_an_earlier_cross_encoder_cache_is_removed_on_auto(tmp_path):
    cross = build_tiny_classifier(tmp_path / "ce")
    expected = CrossEncoder(cross, backend="torch").predict([("a man", "a man plays")])
    CrossEncoder(cross)  # auto: the built graph, cached
    _as_an_earlier_sbert_cached_it(cross)
    auto = CrossEncoder(cross)
    assert auto.backend == "onnx" and [p.name for p in (cross / "onnx").iterdir()] == ["sbert"]
    np.testing.assert_allclose(auto.predict([("a man", "a man plays")]), expected, atol=1e-6, rtol=0)


def test_shared_installs_are_left_as_they_are(folder, tmp_path, monkeypatch):
    from sbert._backends.onnx_export import export_location

    shared = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "pkg" / "model"
    shutil.copytree(folder, shared, ignore=shutil.ignore_patterns("onnx"))  # a cache the fixture may carry
    SentenceTransformer(folder, backend="onnx")
    _as_an_earlier_sbert_cached_it(folder)
    shutil.copytree(folder / "onnx", shared / "onnx")
    before = sorted(p.name for p in (shared / "onnx").iterdir())
    monkeypatch.setenv("SBERT_CACHE", str(tmp_path / "cache"))
    assert export_location(shared).parent == tmp_path / "cache" / "onnx"
    assert sorted(p.name for p in (shared / "onnx").iterdir()) == before


def test_export_only_folders_keep_their_layout_and_older_ones_still_load(folder, tmp_path):
    """``sbert export`` folders have no weights: their ``onnx/`` is sbert's format and stays where it was,
    metadata as the first export-only folders wrote it included; loading one removes nothing."""
    model = SentenceTransformer(folder, backend="torch")
    model.export(tmp_path / "exported")
    exported = tmp_path / "exported" / "onnx"
    assert {"model.onnx", "sbert_export.json"} <= {p.name for p in exported.iterdir()}
    meta = json.loads((exported / "sbert_export.json").read_text())
    first = {"fingerprint": None, "graphs": meta["graphs"], "opset": meta["opset"], "export_only": True}
    (exported / "sbert_export.json").write_text(json.dumps({**first, "architecture": meta["architecture"]}))
    files = {p.name: p.read_bytes() for p in exported.iterdir()}
    loaded = SentenceTransformer(tmp_path / "exported")
    assert loaded.backend == "onnx"
    np.testing.assert_allclose(loaded.encode(SENTENCES), model.encode(SENTENCES), atol=1e-5, rtol=0)
    assert {p.name: p.read_bytes() for p in exported.iterdir()} == files
    assert not onnx_cache_dir(tmp_path / "exported").exists()
