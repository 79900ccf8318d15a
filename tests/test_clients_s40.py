"""Calls of whatlies' ``SentenceTFMLanguage`` and deepeval's answer-relevancy models
(``SentenceTransformer(name)``, ``CrossEncoder(model_name=name)``), written out here without the libraries:
a model path that holds no model (an empty folder, a README only, a config.json without ``model_type``)
raises what sentence-transformers raises there, transformers' ``ValueError`` ("Unrecognized model in ..."),
so a caller's ``except ValueError`` catches sbert's error too (it stays a ``ModelLoadError``, an
``OSError``, as sbert's other load errors)."""

from __future__ import annotations

import json

import pytest

import sbert


def _make(tmp_path, case):
    folder = tmp_path / case
    folder.mkdir()
    if case == "readme_only":
        (folder / "README.md").write_text("a model card, no model")
    elif case == "config_without_model_type":
        (folder / "config.json").write_text(json.dumps({"hidden_size": 4}))
    return str(folder)


def _raised(cls, folder):
    with pytest.raises(Exception) as excinfo:
        cls(folder)
    return excinfo.value


CASES = [
    (cls, case)
    for cls in ("SentenceTransformer", "SparseEncoder", "CrossEncoder")
    for case in ("empty", "readme_only", "config_without_model_type")
    # sbert's CrossEncoder looks for the tokenizer before it reads the config: an OSError there, as
    # sentence-transformers' for a folder without one
    if (cls, case) != ("CrossEncoder", "config_without_model_type")
]


@pytest.mark.parametrize(("cls", "case"), CASES)
def test_a_folder_without_a_model_raises_sentence_transformers_exception_type(tmp_path, cls, case):
    import sentence_transformers as st

    folder = _make(tmp_path, case)
    theirs, ours = _raised(getattr(st, cls), folder), _raised(getattr(sbert, cls), folder)
    assert type(theirs) is ValueError and "Unrecognized model" in str(theirs)
    assert isinstance(ours, ValueError), (type(ours), str(ours))
    assert isinstance(ours, sbert.ModelLoadError)
    assert folder in str(ours)
