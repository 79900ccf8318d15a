"""A loaded model does not depend on its folder any more, as in sentence-transformers (which holds every
weight in memory): after the folder is removed or changed, the model saves, trains, moves to its torch
modules and encodes exactly as it did. sbert reads the torch weights only when first needed, from the
snapshot it took at load (small files in memory, large ones held open)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from conftest import SENTENCES, build_tiny_classifier, classic_pooling

from sbert._errors import ModelLoadError
from sbert._format import snapshot

PAIRS = [("a cat sat on the mat", "the dog ran"), ("good music", "the weather is lovely today")]


@pytest.fixture(params=["small files in memory", "every file held open"])
def file_handling(request, monkeypatch):
    """Both ways the snapshot keeps a file: read at load, or an open descriptor read later."""
    if request.param == "every file held open":
        monkeypatch.setattr(snapshot, "SMALL_FILE", -1)


def loaded_then_removed(cls, source, tmp_path, **options):
    """``cls`` loaded from a copy of ``source``, the copy then removed."""
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    model = cls(str(copy), **options)
    shutil.rmtree(copy)
    return model


def test_sentence_transformer_saves_trains_and_encodes_after_its_folder_is_removed(
    tiny_st_factory, tmp_path, file_handling
):
    import torch
    from sentence_transformers import SentenceTransformer as Reference

    from sbert import SentenceTransformer

    source = tiny_st_factory(classic_pooling(32, "mean"))
    reference = Reference(str(source), device="cpu")
    expected = reference.encode(SENTENCES)
    model = loaded_then_removed(SentenceTransformer, source, tmp_path, device="cpu")
    assert model.backend == "onnx"  # the torch modules are not loaded yet

    model.save(str(tmp_path / "saved"))
    np.testing.assert_allclose(Reference(str(tmp_path / "saved")).encode(SENTENCES), expected, atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    np.testing.assert_allclose(model.encode(SENTENCES), expected, atol=1e-5)  # now on the torch modules
    assert model.backend == "torch"

    model.train()  # a training step on the modules read from the snapshot
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(model.tokenize(SENTENCES[:3]))["sentence_embedding"].pow(2).sum().backward()
    optimizer.step()
    model.eval()
    assert not np.allclose(model.encode(SENTENCES), expected, atol=1e-4)


def test_a_folder_changed_after_loading_changes_nothing(tiny_st_factory, tmp_path):
    from safetensors.numpy import load_file, save_file
    from sentence_transformers import SentenceTransformer as Reference

    from sbert import SentenceTransformer

    source = tiny_st_factory(classic_pooling(32, "mean"))
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    model = SentenceTransformer(str(copy), device="cpu")
    # the weights replaced by other ones (a new file), the pooling rewritten in place
    weights = {name: 2 * value for name, value in load_file(copy / "model.safetensors").items()}
    os.remove(copy / "model.safetensors")
    save_file(weights, copy / "model.safetensors")
    (copy / "1_Pooling" / "config.json").write_text(json.dumps(classic_pooling(32, "cls")))

    model.save(str(tmp_path / "saved"))
    expected = Reference(str(source), device="cpu").encode(SENTENCES)
    np.testing.assert_allclose(Reference(str(tmp_path / "saved")).encode(SENTENCES), expected, atol=1e-5)
    np.testing.assert_allclose(model.encode(SENTENCES), expected, atol=1e-5)


def test_cross_encoder_saves_and_loads_torch_after_its_folder_is_removed(
    tmp_path_factory, tmp_path, file_handling
):
    from sentence_transformers.cross_encoder import CrossEncoder as Reference

    from sbert import CrossEncoder

    source = build_tiny_classifier(tmp_path_factory.mktemp("ce") / "classifier")
    reference = Reference(str(source), device="cpu")
    expected = reference.predict(PAIRS)
    model = loaded_then_removed(CrossEncoder, source, tmp_path, device="cpu")
    assert model.backend == "onnx"

    model.save(str(tmp_path / "saved"))
    np.testing.assert_allclose(Reference(str(tmp_path / "saved")).predict(PAIRS), expected, atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    np.testing.assert_allclose(model.predict(PAIRS), expected, atol=1e-5)  # now on the torch model


def test_sparse_encoder_on_onnx_saves_after_its_folder_is_removed(masked_lm, tmp_path):
    from sentence_transformers import SparseEncoder as Reference

    from sbert import SparseEncoder

    expected = Reference(str(masked_lm), device="cpu").encode(SENTENCES, convert_to_tensor=True).to_dense()
    model = loaded_then_removed(SparseEncoder, masked_lm, tmp_path, backend="onnx")
    model.save(str(tmp_path / "saved"))
    saved = Reference(str(tmp_path / "saved"), device="cpu").encode(SENTENCES, convert_to_tensor=True)
    np.testing.assert_allclose(saved.to_dense().numpy(), expected.numpy(), atol=1e-5)


def test_a_large_file_written_in_place_after_loading_is_an_error_that_says_so(tmp_path, monkeypatch):
    # An open descriptor keeps a removed or replaced file's bytes, not those of one overwritten in place.
    monkeypatch.setattr(snapshot, "SMALL_FILE", -1)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"old weights")
    (folder / "config.json").write_text("{}")
    taken = snapshot.FolderSnapshot(folder)
    assert taken.folder() == folder  # unchanged: the folder itself, nothing copied

    (folder / "config.json").write_text('{"changed": true}')  # a small file: restored from the snapshot
    with open(folder / "model.safetensors", "r+b") as f:
        f.write(b"new")
    with pytest.raises(ModelLoadError, match="changed in place after the model was loaded"):
        taken.folder()


def test_a_copy_unpickled_after_the_folder_is_gone_reads_the_files_it_carries(tmp_path, file_handling):
    """A pickle carries the files (as sentence-transformers' carries the weights); unpickled where the folder
    is unchanged, the copy reads the folder itself."""
    import pickle

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights" * 1000)
    data = pickle.dumps(snapshot.FolderSnapshot(folder))
    assert pickle.loads(data).folder() == folder
    shutil.rmtree(folder)
    copy = pickle.loads(data)  # (its private folder goes with it)
    restored = copy.folder()
    assert restored != folder and (restored / "model.safetensors").read_bytes() == b"weights" * 1000
    assert (restored / "config.json").read_text() == "{}"


def test_where_large_files_are_not_held_open_a_removed_one_is_an_error_and_an_unchanged_one_is_copied(
    tmp_path, monkeypatch
):
    # Windows: an open file could not be removed or replaced by the user, so large files are not held.
    monkeypatch.setattr(snapshot, "SMALL_FILE", 4)
    monkeypatch.setattr(snapshot, "HOLDS_OPEN_FILES", False)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    taken = snapshot.FolderSnapshot(folder)

    (folder / "config.json").write_text('{"changed": true}')  # changed: a copy, large file still as loaded
    copy = taken.folder()
    assert copy != folder and (copy / "model.safetensors").read_bytes() == b"weights"
    assert (copy / "config.json").read_text() == "{}"

    again = snapshot.FolderSnapshot(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="was removed or changed after the model was loaded"):
        again.folder()
