"""A folder that is no model is refused before sbert reads its files: loading a home directory or
``/usr/share`` by mistake read every small file into memory and held every large one open first (3.7 s
for /usr/share, and a symlink loop under ``..`` failed with a raw OSError) before the error came."""

from __future__ import annotations

import pytest

import sbert
from sbert._errors import UnrecognizedModelError
from sbert._format import snapshot


@pytest.mark.parametrize("model_class", ["SentenceTransformer", "CrossEncoder", "SparseEncoder"])
def test_non_model_folder_is_refused_unread(tmp_path, monkeypatch, model_class):
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "loop").symlink_to(tmp_path)  # a walk of the folder would go round and round
    walked = []
    monkeypatch.setattr(snapshot, "_walk", lambda folder, with_onnx: walked.append(folder) or [])
    with pytest.raises(UnrecognizedModelError, match="not a model folder"):
        getattr(sbert, model_class)(str(tmp_path))
    assert walked == []
