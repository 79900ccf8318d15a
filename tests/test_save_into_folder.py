"""``model.save(folder)`` into a folder that holds other things (a trainer's checkpoints and logs, a user's
files, the working folder itself): they are kept, as sentence-transformers' save keeps them, and a save that
fails midway still leaves the folder as it was."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import classic_pooling

import sbert
from sbert._io.atomic import atomic_directory

TEXTS = ["a cat sits on the mat", "stocks fell sharply"]


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory) -> str:
    return str(tiny_st_factory(classic_pooling(32, "mean")))


def _crowded(folder: Path) -> Path:
    (folder / "checkpoint-5").mkdir(parents=True)
    (folder / "checkpoint-5" / "trainer_state.json").write_text("{}")
    (folder / "notes.txt").write_text("mine")
    return folder


def test_saving_into_a_folder_with_other_files_keeps_them_as_sentence_transformers(tiny_path, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    ours, theirs = _crowded(tmp_path / "sbert"), _crowded(tmp_path / "st")
    model = sbert.SentenceTransformer(tiny_path, backend="torch")
    model.save(str(ours))
    Reference(tiny_path, device="cpu").save(str(theirs))
    for folder in (ours, theirs):  # both keep what was there
        assert (folder / "notes.txt").read_text() == "mine"
        assert (folder / "checkpoint-5" / "trainer_state.json").is_file()
    reloaded = Reference(str(ours), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(reloaded, model.encode(TEXTS), atol=1e-5)
    assert not [p for p in os.listdir(ours) if p.startswith(".")]  # no temporary folder left


def test_saving_again_over_a_model_replaces_its_files_and_keeps_the_rest(
    tiny_path, tiny_st_factory, tmp_path
):
    folder = _crowded(tmp_path / "out")
    sbert.SentenceTransformer(str(tiny_st_factory(classic_pooling(32, "cls"))), backend="torch").save(
        str(folder)
    )
    second = sbert.SentenceTransformer(tiny_path, backend="torch")
    second.save(str(folder))
    np.testing.assert_allclose(
        sbert.SentenceTransformer(str(folder)).encode(TEXTS), second.encode(TEXTS), atol=1e-5
    )
    assert (folder / "notes.txt").read_text() == "mine"


def test_saving_into_the_working_folder_keeps_it_usable(tiny_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = sbert.SentenceTransformer(tiny_path, backend="torch")
    model.save(".")
    model.save(".")  # again: only model files there now, still never renamed away
    assert Path.cwd() == tmp_path and (tmp_path / "modules.json").is_file()
    np.testing.assert_allclose(sbert.SentenceTransformer(".").encode(TEXTS), model.encode(TEXTS), atol=1e-5)


def test_a_failed_save_leaves_the_folder_as_it_was(tiny_path, tmp_path, monkeypatch):
    folder = _crowded(tmp_path / "out")
    model = sbert.SentenceTransformer(tiny_path, backend="torch")
    model.save(str(folder))
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def broken(self, path, *args, **kwargs):
        (Path(path) / "modules.json").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(type(model), "_write", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(str(folder))
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before


def test_a_cross_encoder_save_keeps_other_files(tmp_path, tiny_path):
    folder = _crowded(tmp_path / "ce")
    model = sbert.CrossEncoder(tiny_path, backend="torch", num_labels=1)
    model.save(str(folder))
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "config.json").is_file()
    pairs = [("a", "b"), ("c d", "e")]
    np.testing.assert_allclose(
        sbert.CrossEncoder(str(folder)).predict(pairs), model.predict(pairs), atol=1e-5
    )


def test_keep_others_moves_files_and_folders_of_either_kind_over_their_namesakes(tmp_path):
    dest = tmp_path / "dest"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "old.txt").write_text("old")
    (dest / "was_file").write_text("file")
    (dest / "keep.txt").write_text("keep")
    (dest / "modules.json").write_text("old entry")
    with atomic_directory(dest, keep_others=True, last=("modules.json",)) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "new.txt").write_text("new")
        (tmp / "was_file").mkdir()
        (tmp / "modules.json").write_text("new entry")
    assert sorted(p.name for p in (dest / "sub").iterdir()) == ["new.txt"]
    assert (dest / "was_file").is_dir() and (dest / "keep.txt").read_text() == "keep"
    assert (dest / "modules.json").read_text() == "new entry"
    assert sorted(os.listdir(dest)) == ["keep.txt", "modules.json", "sub", "was_file"]


def test_a_save_over_an_export_only_folder_loads_the_saved_weights(tiny_path, tiny_st_factory, tmp_path):
    """``sbert export`` writes an export-only folder (graphs, no weights): a later save of another model into
    it must load as that model, not as the exported graph it kept beside."""
    from sbert._backends.onnx_export import EXPORT_DIR, META_FILE
    from sbert._format.layout import EXPORT_MARKER

    assert EXPORT_MARKER == f"{EXPORT_DIR}/{META_FILE}"
    folder = tmp_path / "out"
    sbert.SentenceTransformer(str(tiny_st_factory(classic_pooling(32, "cls")))).export(str(folder))
    saved = sbert.SentenceTransformer(tiny_path, backend="torch")
    saved.save(str(folder))
    np.testing.assert_allclose(
        sbert.SentenceTransformer(str(folder)).encode(TEXTS), saved.encode(TEXTS), atol=1e-5
    )


def test_an_export_over_a_saved_model_leaves_no_weights_the_torch_backend_would_load(
    tiny_path, tiny_st_factory, tmp_path
):
    folder = _crowded(tmp_path / "out")
    sbert.SentenceTransformer(tiny_path, backend="torch").save(str(folder))
    exported = sbert.SentenceTransformer(str(tiny_st_factory(classic_pooling(32, "cls"))))
    exported.export(str(folder))
    assert not (folder / "model.safetensors").exists() and (folder / "notes.txt").read_text() == "mine"
    np.testing.assert_allclose(
        sbert.SentenceTransformer(str(folder)).encode(TEXTS), exported.encode(TEXTS), atol=1e-5
    )
