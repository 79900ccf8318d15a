"""sbert's graph cache inside a user's model folder (``onnx/sbert``) stays out of what leaves the folder: git
ignores it (a ``.gitignore`` in the cache, as pytest's and ruff's caches carry) and ``push_to_hub(
local_model_path=...)`` leaves it out of the upload, which holds what sentence-transformers would upload."""

from __future__ import annotations

import subprocess

import numpy as np
from conftest import classic_pooling, onnx_cache_dir, write_st_folder

import sbert


def _encoded_folder(tiny_bert, tmp_path):
    folder = write_st_folder(tiny_bert, tmp_path / "model", classic_pooling(32, "mean"))
    model = sbert.SentenceTransformer(str(folder))
    assert model.get_backend() == "onnx"  # auto: the graph builder wrote the graph into the folder's cache
    return folder, model


def test_git_leaves_the_graph_cache_out(tiny_bert, tmp_path):
    folder, model = _encoded_folder(tiny_bert, tmp_path)
    model.encode(["a cat"])
    assert (onnx_cache_dir(folder) / "model.onnx").is_file()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    status = subprocess.run(
        ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    listed = sorted(line[3:] for line in status.splitlines())
    assert "model.safetensors" in listed and "modules.json" in listed
    assert not [path for path in listed if path.startswith("onnx/")], listed
    # a cache made before sbert wrote the .gitignore gets one when the folder next loads
    (onnx_cache_dir(folder) / ".gitignore").unlink()
    sbert.SentenceTransformer(str(folder))
    assert (onnx_cache_dir(folder) / ".gitignore").is_file()


def test_push_to_hub_of_a_local_folder_leaves_the_graph_cache_out(tiny_bert, tmp_path, fake_hub):
    folder, model = _encoded_folder(tiny_bert, tmp_path)
    expected = model.encode(["a cat"])
    assert onnx_cache_dir(folder).is_dir()
    model.push_to_hub("tiny", local_model_path=str(folder))
    uploaded = tmp_path / "uploaded"
    assert not (uploaded / "onnx").exists()
    kept = sorted(p.name for p in folder.iterdir() if p.name != "onnx")
    assert sorted(p.name for p in uploaded.iterdir()) == kept
    again = sbert.SentenceTransformer(str(uploaded)).encode(["a cat"])
    np.testing.assert_allclose(again, expected, atol=1e-6)
