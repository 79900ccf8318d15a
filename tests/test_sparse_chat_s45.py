"""A SparseEncoder whose masked-LM tokenizer has a chat template renders its inputs through it, as
sentence-transformers 6.3 does (texts become user messages, pairs query/document messages, a prompt a system
message, conversations as given), on torch and on ONNX: a plain folder's template (inferred "message"
modality), one given at load (``processor_kwargs={"chat_template": ...}``), a saved folder's "message" entry,
an inference-free SPLADE Router's document route; a folder saved without a "message" entry reads text, as
there. Saved folders hold ``chat_template.jinja`` and the message entry, and read back alike in both
libraries."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import build_tiny_masked_lm

from sbert import SparseEncoder

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
    "{% if task %}<{{ task }}>{% endif %}"
)
GIVEN = "{% for m in messages %}{{ m['role'] }} says {{ m['content'] }} | {% endfor %}"
TEXTS = ["the cat sat on the mat", "a man plays guitar", "she"]
PROMPTS = {"query": "query: ", "document": "passage: "}
CONVERSATION = [[{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "the cat"}]]
BACKENDS = ["torch", "onnx"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from sentence_transformers import SparseEncoder as Reference

    root = tmp_path_factory.mktemp("sparse-chat")
    plain = build_tiny_masked_lm(root / "mlm")
    chat = shutil.copytree(plain, root / "mlm-chat")
    (chat / "chat_template.jinja").write_text(TEMPLATE)
    # a masked-LM saved without modalities (as sbert saved it before), then a chat template added
    old = root / "old-save"
    Reference(str(plain), device="cpu").save(str(old))
    settings = {"transformer_task": "fill-mask", "max_seq_length": 64, "do_lower_case": False}
    (old / "sentence_bert_config.json").write_text(json.dumps(settings))
    (old / "chat_template.jinja").write_text(TEMPLATE)
    return {
        "plain": plain,
        "chat": chat,
        "old": old,
        "inference-free": _inference_free(chat, root / "router"),
    }


def _inference_free(mlm, out):
    """sentence-transformers' inference-free SPLADE Router: SparseStaticEmbedding for queries, the masked LM
    (its tokenizer with the chat template) and SpladePooling for documents."""
    import torch
    from sentence_transformers import SparseEncoder as Reference
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding, SpladePooling

    document = Transformer(str(mlm), transformer_task="fill-mask")
    weight = torch.linspace(0.5, 1.5, len(document.tokenizer.get_vocab()))
    query = SparseStaticEmbedding(tokenizer=document.tokenizer, weight=weight, frozen=True)
    router = Router.for_query_document([query], [document, SpladePooling("max")])
    Reference(modules=[router], device="cpu", similarity_fn_name="dot").save(str(out))
    return out


def _dense(embeddings):
    return embeddings.to_dense().numpy()


CALLS = {
    "encode": lambda m: m.encode(TEXTS),
    "encode one": lambda m: m.encode(TEXTS[0]).unsqueeze(0),
    "encode_query": lambda m: m.encode_query(TEXTS),
    "encode_document": lambda m: m.encode_document(TEXTS),
    "prompt": lambda m: m.encode(TEXTS, prompt="Represent this: "),
    "pairs": lambda m: m.encode([["the cat sat", "on the mat"], ["a man", "plays guitar"]]),
    "conversation": lambda m: m.encode(CONVERSATION),
    "long": lambda m: m.encode(["word " * 80], max_active_dims=7),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_plain_folders_chat_template_renders_every_call_as_sentence_transformers(folders, backend):
    from sentence_transformers import SparseEncoder as Reference

    reference = Reference(str(folders["chat"]), device="cpu", prompts=PROMPTS)
    model = SparseEncoder(str(folders["chat"]), backend=backend, prompts=PROMPTS)
    assert model[0].modality_config == reference[0].modality_config
    for name, call in CALLS.items():
        np.testing.assert_allclose(_dense(call(model)), _dense(call(reference)), atol=TOL, err_msg=name)
    plain = SparseEncoder(str(folders["plain"]), backend=backend)
    assert not np.allclose(_dense(plain.encode(TEXTS)), _dense(reference.encode(TEXTS)), atol=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["plain", "chat"])
def test_a_template_given_at_load_renders_and_is_saved_as_sentence_transformers_saves_it(
    folders, backend, name, tmp_path
):
    from sentence_transformers import SparseEncoder as Reference

    kwargs = {"processor_kwargs": {"chat_template": GIVEN}}
    reference = Reference(str(folders[name]), device="cpu", **kwargs)
    model = SparseEncoder(str(folders[name]), backend=backend, **kwargs)
    expected = _dense(reference.encode_query(TEXTS))
    np.testing.assert_allclose(_dense(model.encode_query(TEXTS)), expected, atol=TOL)
    model.save(str(tmp_path / "ours"))
    reference.save(str(tmp_path / "reference"))
    assert (tmp_path / "ours" / "chat_template.jinja").read_text() == GIVEN
    settings = [
        json.loads((tmp_path / d / "sentence_bert_config.json").read_text()) for d in ("ours", "reference")
    ]
    assert settings[0]["modality_config"] == settings[1]["modality_config"]
    for loaded in (SparseEncoder(str(tmp_path / "ours"), backend=backend), Reference(str(tmp_path / "ours"))):
        np.testing.assert_allclose(_dense(loaded.encode_query(TEXTS)), expected, atol=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_folder_saved_without_a_message_entry_reads_text_as_sentence_transformers(folders, backend):
    from sentence_transformers import SparseEncoder as Reference

    reference = Reference(str(folders["old"]), device="cpu")
    model = SparseEncoder(str(folders["old"]), backend=backend)
    assert model[0].modality_config == reference[0].modality_config
    np.testing.assert_allclose(_dense(model.encode(TEXTS)), _dense(reference.encode(TEXTS)), atol=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_inference_free_routers_document_route_renders_its_chat_template(folders, backend):
    from sentence_transformers import SparseEncoder as Reference

    reference = Reference(str(folders["inference-free"]), device="cpu")
    model = SparseEncoder(str(folders["inference-free"]), backend=backend)
    for call in (
        lambda m: m.encode_document(TEXTS),
        lambda m: m.encode_document(TEXTS, prompt="passage: "),
        lambda m: m.encode_query(TEXTS, prompt="query: "),  # the static route reads plain text, as there
        lambda m: m.encode(TEXTS),
    ):
        np.testing.assert_allclose(_dense(call(model)), _dense(call(reference)), atol=TOL)


def test_preprocess_gives_sentence_transformers_chat_features(folders):
    from sentence_transformers import SparseEncoder as Reference

    reference = Reference(str(folders["chat"]), device="cpu")
    model = SparseEncoder(str(folders["chat"]))
    ours, theirs = (
        model.preprocess(TEXTS, prompt="P: ", task="query"),
        reference.preprocess(TEXTS, prompt="P: ", task="query"),
    )
    for key in ("input_ids", "attention_mask"):
        assert ours[key].tolist() == theirs[key].tolist()
    assert ours["modality"] == theirs["modality"] == "message"
