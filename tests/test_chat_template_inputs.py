"""Chat input on a text embedding model, compared with sentence-transformers 6.3: a tokenizer with a chat
template makes the Transformer take the "message" modality, so texts, pairs and conversations are rendered
through the template (a prompt as a system message, ``task`` to a template that reads it)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import build_tiny_bert

from sbert import SentenceTransformer
from sbert._errors import InputError

TOL = 1e-5
# In-vocabulary words around the content, so the template's tail is told apart from it when restored.
TEMPLATE = (
    "{% for m in messages %}{% if m.role == 'system' %}the {{ m.content }} . "
    "{% elif m.role == 'query' %}a {{ m.content }} . {% elif m.role == 'document' %}an {{ m.content }} . "
    "{% else %}you {{ m.content }} . {% endif %}{% endfor %}"
    "{% if task == 'query' %}happy dog{% elif task == 'document' %}sad cat{% endif %}"
    "{% if add_generation_prompt %} red car{% endif %}"
)
TEXTS = ["the cat sat on the mat", "a man plays guitar", "she is happy today and the weather is lovely"]
CONVERSATION = [{"role": "user", "content": "the cat sat"}, {"role": "assistant", "content": "on the mat"}]


@pytest.fixture(scope="module")
def chat_folder(tmp_path_factory):
    folder = build_tiny_bert(tmp_path_factory.mktemp("chat") / "bert")
    (folder / "chat_template.jinja").write_text(TEMPLATE)
    return folder


@pytest.fixture(scope="module")
def reference(chat_folder):
    from sentence_transformers import SentenceTransformer as Reference

    return Reference(str(chat_folder), device="cpu")


@pytest.mark.parametrize("backend", [None, "torch"])
def test_texts_pairs_prompts_and_tasks_are_rendered_as_sentence_transformers(chat_folder, reference, backend):
    model = SentenceTransformer(str(chat_folder), **({"backend": backend} if backend else {}))
    for inputs, options in [
        (TEXTS, {}),
        ([("the cat", "a dog sat on the mat"), ("red car", "blue car")], {}),
        (TEXTS, {"prompt": "good music"}),
    ]:
        np.testing.assert_allclose(
            model.encode(inputs, **options), reference.encode(inputs, **options), atol=TOL
        )
    for method in ("encode_query", "encode_document"):  # the template reads task: its tail differs
        expected = getattr(reference, method)(TEXTS)
        np.testing.assert_allclose(getattr(model, method)(TEXTS), expected, atol=TOL)
    assert not np.allclose(model.encode_query(TEXTS), model.encode_document(TEXTS), atol=TOL)
    if backend == "torch":  # the features sentence-transformers 6.3's preprocess makes
        ours, expected = model.preprocess(TEXTS, task="query"), reference.preprocess(TEXTS, task="query")
        np.testing.assert_array_equal(ours["input_ids"], expected["input_ids"])
        assert ours["modality"] == expected["modality"] == "message"


@pytest.mark.parametrize("backend", [None, "torch"])
def test_conversations_are_embedded_as_sentence_transformers(chat_folder, reference, backend):
    model = SentenceTransformer(str(chat_folder), **({"backend": backend} if backend else {}))
    for inputs in ([CONVERSATION, CONVERSATION[:1]], CONVERSATION, CONVERSATION[0]):
        ours, expected = model.encode(inputs), reference.encode(inputs)
        assert ours.shape == expected.shape  # one message or one conversation is one input
        np.testing.assert_allclose(ours, expected, atol=TOL)
    with pytest.raises(InputError, match="separate calls"):
        model.encode([CONVERSATION, "the cat"])


def test_chat_template_processing_kwargs_per_call_and_on_the_module(chat_folder, reference):
    from sentence_transformers.base.modules import Transformer as ReferenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling

    from sbert.models import Pooling, Transformer

    per_call = {"chat_template": {"add_generation_prompt": True}}
    model = SentenceTransformer(str(chat_folder), backend="torch")
    expected = reference.encode(TEXTS, processing_kwargs=per_call)
    np.testing.assert_allclose(model.encode(TEXTS, processing_kwargs=per_call), expected, atol=TOL)
    assert not np.allclose(model.encode(TEXTS), expected, atol=TOL)
    ours = Transformer(str(chat_folder), processing_kwargs=per_call)
    theirs = ReferenceTransformer(str(chat_folder), processing_kwargs=per_call)
    assert ours.modality_config == theirs.modality_config
    for inputs in (TEXTS, [CONVERSATION]):
        np.testing.assert_array_equal(
            ours.preprocess(inputs)["input_ids"], theirs.preprocess(inputs)["input_ids"]
        )
    built = SentenceTransformer(modules=[ours, Pooling(32, "mean")])
    from sentence_transformers import SentenceTransformer as Reference

    reference_built = Reference(modules=[theirs, ReferencePooling(32, "mean")], device="cpu")
    np.testing.assert_allclose(built.encode(TEXTS), reference_built.encode(TEXTS), atol=TOL)


@pytest.mark.parametrize("restore", [True, False])
def test_truncated_rows_get_the_template_tail_back_as_sentence_transformers(chat_folder, reference, restore):
    per_call = {"chat_template": {"restore_suffix": restore}}
    model = SentenceTransformer(str(chat_folder), backend="torch")
    model.max_seq_length = reference.max_seq_length = 6
    try:
        ours = model[0].preprocess(TEXTS, task="query", processing_kwargs=per_call)["input_ids"]
        expected = reference.preprocess(TEXTS, task="query", processing_kwargs=per_call)["input_ids"]
        np.testing.assert_array_equal(ours, expected)
        tail = model.tokenizer.convert_tokens_to_ids(["happy", "dog"])
        assert (ours[:, -2:].tolist() == [tail] * len(TEXTS)) is restore
        for onnx in (False, True):
            chosen = SentenceTransformer(str(chat_folder)) if onnx else model
            chosen.max_seq_length = 6
            np.testing.assert_allclose(
                chosen.encode_query(TEXTS, processing_kwargs=per_call),
                reference.encode_query(TEXTS, processing_kwargs=per_call),
                atol=TOL,
            )
    finally:
        reference.max_seq_length = 64


def test_message_modality_folders_load_both_ways(chat_folder, reference, tmp_path):
    from sentence_transformers import SentenceTransformer as Reference

    reference.save(str(tmp_path / "st"))
    for backend in (None, "torch"):
        from_st = SentenceTransformer(str(tmp_path / "st"), **({"backend": backend} if backend else {}))
        np.testing.assert_allclose(from_st.encode_query(TEXTS), reference.encode_query(TEXTS), atol=TOL)
        np.testing.assert_allclose(from_st.encode([CONVERSATION]), reference.encode([CONVERSATION]), atol=TOL)
    SentenceTransformer(str(chat_folder), backend="torch").save(str(tmp_path / "ours"))
    saved, expected = (
        json.loads((tmp_path / d / "sentence_bert_config.json").read_text())["modality_config"]
        for d in ("ours", "st")
    )
    assert saved == expected  # the message modality and its format, as sentence-transformers writes them
    assert (tmp_path / "ours" / "chat_template.jinja").read_text() == TEMPLATE
    loaded = Reference(str(tmp_path / "ours"), device="cpu")
    np.testing.assert_allclose(loaded.encode_query(TEXTS), reference.encode_query(TEXTS), atol=TOL)


def test_pairs_need_a_template_that_renders_both_roles(chat_folder, tmp_path):
    folder = shutil.copytree(chat_folder, tmp_path / "user-only")
    (folder / "chat_template.jinja").write_text(
        "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }} . {% endif %}{% endfor %}"
    )
    from sentence_transformers import SentenceTransformer as Reference

    model, reference = SentenceTransformer(str(folder)), Reference(str(folder), device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=TOL)  # texts render
    with pytest.raises(ValueError, match="cannot carry a 'query'/'document' pair"):
        reference.encode([("the cat", "a dog")])
    with pytest.raises(InputError, match="cannot carry a 'query'/'document' pair"):
        model.encode([("the cat", "a dog")])
