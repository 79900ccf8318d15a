"""MultiVectorEncoder on plain folders, as sentence-transformers 6.3 (session 45). A plain Hugging Face folder
(or another class's) gets the default modules and its config_sentence_transformers.json is not read (prompts,
similarity, truncate_dim), on torch and ONNX through ``layout.is_own_folder``. A Transformer that takes chat
input (a plain folder's chat template, one given at load, a saved "message" entry) accepts messages and
conversations and passes the task to its template; elsewhere they are refused in sentence-transformers'
words (a ValueError). ONNX, which does not render a chat template, refuses a saved "message" entry."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_bert, build_tiny_classifier

import sbert

TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
    "{% if task %}<{{ task }}>{% endif %}"
)
CONVERSATION = [{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "the cat"}]
MESSAGE = {"role": "user", "content": "hi cat"}
SETTINGS = {"prompts": {"q": "zzz dog "}, "default_prompt_name": "q", "similarity_fn_name": "cosine"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("mv-plain")
    bert = build_tiny_bert(root / "bert")
    chat = shutil.copytree(bert, root / "chat")
    (chat / "chat_template.jinja").write_text(TEMPLATE)
    settings = shutil.copytree(bert, root / "settings")
    (settings / "config_sentence_transformers.json").write_text(json.dumps({**SETTINGS, "truncate_dim": 4}))
    ce = build_tiny_classifier(root / "ce")
    (ce / "config_sentence_transformers.json").write_text(json.dumps(SETTINGS))
    torch.manual_seed(0)
    st.MultiVectorEncoder(str(bert), device="cpu").save(str(root / "saved"))
    saved_chat = shutil.copytree(root / "saved", root / "saved-chat")  # no "message" entry: text only
    (saved_chat / "chat_template.jinja").write_text(TEMPLATE)
    torch.manual_seed(0)
    st.MultiVectorEncoder(str(chat), device="cpu").save(str(root / "saved-message"))
    return {"bert": bert, "chat": chat, "settings": settings, "ce": ce, "saved-chat": saved_chat,
            "saved-message": root / "saved-message"}  # fmt: skip


def _pair(folder, **kwargs):
    torch.manual_seed(0)
    reference = st.MultiVectorEncoder(str(folder), device="cpu", **kwargs)
    torch.manual_seed(0)
    return reference, sbert.MultiVectorEncoder(str(folder), device="cpu", **kwargs)


@pytest.mark.parametrize("name", ["settings", "ce"])
def test_a_plain_or_other_class_folders_settings_are_not_read(folders, name):
    reference, model = _pair(folders[name])
    assert (model.prompts, model.default_prompt_name) == (reference.prompts, reference.default_prompt_name)
    assert (model.similarity_fn_name, model.truncate_dim) == (
        reference.similarity_fn_name,
        reference.truncate_dim,
    )
    for mine, theirs in zip(model.encode(["a cat sat", "dog"]), reference.encode(["a cat sat", "dog"])):
        torch.testing.assert_close(torch.as_tensor(mine), theirs, atol=1e-5, rtol=0)


def test_onnx_refuses_another_class_folder_for_torch(folders, tmp_path):
    folder = tmp_path / "saved-ce"
    st.CrossEncoder(str(folders["ce"]), device="cpu").save(str(folder))
    with pytest.raises(sbert.InputError, match="backend='torch'"):
        sbert.MultiVectorEncoder(str(folder), backend="onnx")


CASES = {"conversations": [CONVERSATION, [MESSAGE]], "conversation": CONVERSATION, "message": MESSAGE}


@pytest.mark.parametrize("name", ["chat", "given", "saved-message"])
@pytest.mark.parametrize("case", list(CASES))
def test_chat_input_where_sentence_transformers_takes_it(folders, name, case):
    kwargs = {"processor_kwargs": {"chat_template": TEMPLATE}} if name == "given" else {}
    reference, model = _pair(folders["bert" if name == "given" else name], **kwargs)
    inputs = CASES[case]
    for call in ("encode", "encode_query", "encode_document"):
        expected = getattr(reference, call)(inputs)
        got = getattr(model, call)(inputs)
        expected, got = (
            (expected, got) if isinstance(inputs, list) and case == "conversations" else ([expected], [got])
        )
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected):
            torch.testing.assert_close(torch.as_tensor(mine), theirs, atol=1e-5, rtol=0)
    listed = inputs if case == "conversations" else [inputs]
    theirs = reference.preprocess(listed, task="query")
    mine = model.preprocess(listed, task="query")
    for key in ("input_ids", "attention_mask"):
        np.testing.assert_array_equal(np.asarray(mine[key]), theirs[key].numpy())


def test_the_task_reaches_a_chat_template_for_texts(folders):
    reference, model = _pair(folders["chat"])
    for mine, theirs in zip(model.encode_query(["a cat", "dog"]), reference.encode_query(["a cat", "dog"])):
        torch.testing.assert_close(torch.as_tensor(mine), theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["bert", "saved-chat"])
@pytest.mark.parametrize("inputs", [[CONVERSATION], MESSAGE, ["a cat", CONVERSATION]])
def test_messages_refused_in_sentence_transformers_words_elsewhere(folders, name, inputs):
    reference, model = _pair(folders[name])
    with pytest.raises(ValueError) as expected:
        reference.encode(inputs)
    with pytest.raises(ValueError) as raised:
        model.encode(inputs)
    assert str(raised.value) == str(expected.value)
    with pytest.raises(ValueError, match="does not support chat-style"):
        model.preprocess(inputs if isinstance(inputs, list) else [inputs])


def test_onnx_refuses_a_saved_message_entry_it_would_not_render(folders):
    reference = st.MultiVectorEncoder(str(folders["saved-message"]), device="cpu")
    assert reference.preprocess(["a cat"])["modality"] == "message"
    with pytest.raises(sbert.InputError, match="backend='torch'"):
        sbert.MultiVectorEncoder(str(folders["saved-message"]), backend="onnx")
