"""What a save leaves on ``model.model_card_data``, as sentence-transformers 6.3's ``_create_model_card``
leaves it: ``save_dir``, and after a newly written card the usage example's inputs and scores, the default
model name and the end of the first save (its ``to_dict`` ran); the trainer's ``create_model_card`` names no
model id and records ``output_dir``; the card-data classes made by the user hold sentence-transformers'
defaults before they are attached to a model."""

from __future__ import annotations

import importlib
import warnings

import pytest
from test_card_data_s43 import KINDS, SPACES, _model, _surface, _trainer, folders  # noqa: F401


def _saved(library: str, kind: str, folders, tmp_path, trained: bool) -> dict:  # noqa: F811
    model = _model(library, kind, folders[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if trained:
            _trainer(library, kind, model, tmp_path / f"run-{library}").train()
        model.save(str(tmp_path / library / "saved"), model_name="org/name")
    surface = _surface(model.model_card_data, kind, model)
    save_dir = surface["fields"].pop("save_dir")
    surface["save_dir"] = save_dir.replace(str(tmp_path / library), "<root>")
    return surface


@pytest.mark.parametrize("trained", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_save_leaves_the_card_data_as_sentence_transformers(folders, tmp_path, kind, trained):  # noqa: F811
    theirs, ours = (
        _saved(lib, kind, folders, tmp_path, trained) for lib in ("sentence_transformers", "sbert")
    )
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_a_second_save_keeps_sbert_s_title_and_the_first_name(folders, tmp_path):  # noqa: F811
    read = []
    for library in ("sentence_transformers", "sbert"):
        model = _model(library, "dense", folders["dense"])
        model.save(str(tmp_path / library / "first"))
        model.save_pretrained(tmp_path / library / "second")
        card = model.model_card_data
        read.append((card.model_name, card.model_id, card.save_dir == tmp_path / library / "second"))
    assert read[1] == read[0]
    title = (tmp_path / "sbert" / "second" / "README.md").read_text(encoding="utf-8").split("\n# ")[1]
    assert title.startswith("second\n")  # sbert titles a nameless model by its folder, save after save


def test_trainer_create_model_card_names_no_model_id(folders, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # the output folder's name is then a path: chdir away from it
    (tmp_path / "elsewhere").mkdir()
    read = []
    for library in ("sentence_transformers", "sbert"):
        model = _model(library, "dense", folders["dense"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer = _trainer(library, "dense", model, tmp_path / f"run-{library}")
            trainer.train()
            monkeypatch.chdir(tmp_path / "elsewhere")
            trainer.create_model_card(language="en")
            monkeypatch.chdir(tmp_path)
        card = model.model_card_data
        read.append((card.model_id, str(card.save_dir).replace(library, "<lib>"), card.language))
    assert read[1] == read[0]


@pytest.mark.parametrize("kind", KINDS)
def test_a_fresh_card_data_object_holds_sentence_transformers_defaults(kind):
    names = ("pipeline_tag", "tags", "library_name", "task_name", "model_name", "model_type", "language")
    read = []
    for library in ("sentence_transformers", "sbert"):
        data_class = getattr(
            importlib.import_module(f"{library}.{SPACES[kind][0]}"), f"{SPACES[kind][1]}ModelCardData"
        )
        card = data_class(language="en")
        read.append({name: getattr(card, name, None) for name in names})
    assert read[1] == read[0]
