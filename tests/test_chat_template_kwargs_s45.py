"""A chat template given at load (``processor_kwargs={"chat_template": T}``, or the deprecated
``tokenizer_kwargs=``) acts as the folder's own template, compared with sentence-transformers 6.3: a plain
folder gets the "message" modality, a CrossEncoder renders pairs as query/document messages, a template in the
folder is replaced, and ``save`` writes ``chat_template.jinja`` and the message entry; a saved folder whose
settings name no "message" modality keeps reading text."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import build_tiny_bert, build_tiny_classifier, classic_pooling, write_st_folder

from sbert import CrossEncoder, SentenceTransformer

TOL = 1e-5
TEMPLATE = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
# another template, in the folder: the one given at load replaces it
FOLDER_TEMPLATE = "{% for m in messages %}the {{ m['role'] }} is {{ m['content'] }} . {% endfor %}"
PAIRS = [("the cat sat", "on the mat today"), ("a man plays guitar", "she is happy")]
TEXTS = ["the cat sat on the mat", "a man plays guitar loudly", "she"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("chat_kwargs")
    bert = build_tiny_bert(root / "bert")
    classifier = build_tiny_classifier(root / "classifier")
    with_template = shutil.copytree(classifier, root / "classifier-template")
    (with_template / "chat_template.jinja").write_text(FOLDER_TEMPLATE)
    st_folder = write_st_folder(bert, root / "st", classic_pooling(32, "mean"))
    return {"bert": bert, "classifier": classifier, "classifier-template": with_template, "st": st_folder}


def _saved(model, folder):
    model.save(str(folder))
    template = folder / "chat_template.jinja"
    settings = json.loads((folder / "sentence_bert_config.json").read_text())
    # the message entry: sbert writes a classic folder's settings without its text entry
    return (template.read_text() if template.is_file() else None), (
        settings.get("modality_config") or {}
    ).get("message")


@pytest.mark.parametrize("backend", ["torch", "auto"])
@pytest.mark.parametrize("name", ["classifier", "classifier-template"])
def test_cross_encoder_renders_pairs_through_the_template_given_at_load(folders, backend, name, tmp_path):
    from sentence_transformers import CrossEncoder as Reference

    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE}}
    reference = Reference(str(folders[name]), **kwargs)
    model = CrossEncoder(str(folders[name]), backend=backend, **kwargs)
    expected = reference.predict(PAIRS)
    np.testing.assert_allclose(model.predict(PAIRS), expected, atol=TOL)
    assert not np.allclose(CrossEncoder(str(folders["classifier"])).predict(PAIRS), expected, atol=TOL)
    # saved as sentence-transformers saves it: the template file and the message entry; read back alike
    assert _saved(model, tmp_path / "ours") == _saved(reference, tmp_path / "reference")
    np.testing.assert_allclose(CrossEncoder(str(tmp_path / "ours")).predict(PAIRS), expected, atol=TOL)
    np.testing.assert_allclose(Reference(str(tmp_path / "ours")).predict(PAIRS), expected, atol=TOL)


def test_cross_encoder_takes_the_template_under_the_deprecated_tokenizer_kwargs(folders):
    from sentence_transformers import CrossEncoder as Reference

    kwargs = {"tokenizer_kwargs": {"chat_template": TEMPLATE}}
    expected = Reference(str(folders["classifier"]), **kwargs).predict(PAIRS)
    np.testing.assert_allclose(
        CrossEncoder(str(folders["classifier"]), **kwargs).predict(PAIRS), expected, atol=TOL
    )


@pytest.mark.parametrize(
    "options",
    [
        {"model_max_length": 8},
        {"model_max_length": 8, "truncation_side": "left"},
        {"do_lower_case": True},
    ],
)
def test_cross_encoder_template_with_other_tokenizer_options(folders, options):
    from sentence_transformers import CrossEncoder as Reference

    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE, **options}}
    pairs = [*PAIRS, ("The CAT sat", "On the MAT")]
    expected = Reference(str(folders["classifier"]), **kwargs).predict(pairs)
    for backend in ("torch", "auto"):
        model = CrossEncoder(str(folders["classifier"]), backend=backend, **kwargs)
        np.testing.assert_allclose(model.predict(pairs), expected, atol=TOL)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_sentence_transformer_plain_folder_takes_chat_input_by_the_template_given(folders, backend, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE}}
    reference = Reference(str(folders["bert"]), **kwargs)
    model = SentenceTransformer(str(folders["bert"]), backend=backend, **kwargs)
    expected = reference.encode(TEXTS)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=TOL)
    assert not np.allclose(SentenceTransformer(str(folders["bert"])).encode(TEXTS), expected, atol=TOL)
    assert _saved(model, tmp_path / "ours") == _saved(reference, tmp_path / "reference")
    reloaded = SentenceTransformer(str(tmp_path / "ours"), backend=backend)
    np.testing.assert_allclose(reloaded.encode(TEXTS), expected, atol=TOL)


@pytest.mark.parametrize(
    "options", [{"model_max_length": 6}, {"model_max_length": 6, "truncation_side": "left"}]
)
def test_sentence_transformer_template_with_other_tokenizer_options(folders, options):
    from sentence_transformers import SentenceTransformer as Reference

    kwargs = {"tokenizer_kwargs": {"chat_template": TEMPLATE, **options}}
    expected = Reference(str(folders["bert"]), **kwargs).encode(TEXTS)
    for backend in ("torch", "auto"):
        model = SentenceTransformer(str(folders["bert"]), backend=backend, **kwargs)
        np.testing.assert_allclose(model.encode(TEXTS), expected, atol=TOL)


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_saved_folder_without_a_message_modality_keeps_reading_text(folders, backend, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE}}
    reference = Reference(str(folders["st"]), **kwargs)
    model = SentenceTransformer(str(folders["st"]), backend=backend, **kwargs)
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=TOL)
    assert _saved(model, tmp_path / "ours") == _saved(reference, tmp_path / "reference")


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_template_given_replaces_the_one_a_chat_folder_renders_by(folders, backend, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    folder = shutil.copytree(folders["bert"], tmp_path / "chat")
    (folder / "chat_template.jinja").write_text(FOLDER_TEMPLATE)
    Reference(str(folder)).save(str(tmp_path / "saved"))  # a saved chat model: its message entry on file
    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE}}
    expected = Reference(str(tmp_path / "saved"), **kwargs).encode(TEXTS)
    assert not np.allclose(Reference(str(tmp_path / "saved")).encode(TEXTS), expected, atol=TOL)
    model = SentenceTransformer(str(tmp_path / "saved"), backend=backend, **kwargs)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=TOL)
