"""sbert's Transformer against sentence-transformers 6.3's ``base.modules.Transformer`` on the task scenarios
of its own suite (feature-extraction, sequence-classification, fill-mask), text and chat input only: which
modalities a folder whose tokenizer has a chat template gets for each task, and which token features a
decoder's tokenizer gives (GPT-2's forward reads ``token_type_ids`` as extra embeddings)."""

from __future__ import annotations

import warnings

import pytest
import torch

from sbert import Transformer

TEXTS = ["This is sentence 0 for testing.", "A longer sentence 1, for testing."]
PAIRS = [("Query 0", "Document 0"), ("Query 1", "A longer document 1")]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{{ c['text'] }}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_level_tokenizer():
    """A tiny byte-level BPE tokenizer (no merges) with a chat template, saved as transformers 5 saves a
    ``PreTrainedTokenizerFast`` (``tokenizer_class: TokenizersBackend``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?:'\u0120\u010a":
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>", model_max_length=96
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    fast.chat_template = TEMPLATE
    return fast


@pytest.fixture(scope="module")
def decoders(tmp_path_factory):
    """A tiny GPT-2 (base model) and a tiny Qwen2 sequence classifier, both with the chat template."""
    from transformers import GPT2Config, GPT2Model, Qwen2Config, Qwen2ForSequenceClassification

    root = tmp_path_factory.mktemp("decoders")
    tokenizer = _byte_level_tokenizer()
    torch.manual_seed(0)
    gpt2 = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=96,
        pad_token_id=0,
        bos_token_id=0,
        eos_token_id=0,
    )
    GPT2Model(gpt2).eval().save_pretrained(root / "gpt2")
    tokenizer.save_pretrained(root / "gpt2")
    torch.manual_seed(0)
    qwen = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=96,
        pad_token_id=0,
        num_labels=1,
    )
    Qwen2ForSequenceClassification(qwen).eval().save_pretrained(root / "qwen2-cls")
    tokenizer.save_pretrained(root / "qwen2-cls")
    return root


@pytest.fixture(scope="module")
def chat_masked_lm(masked_lm, tmp_path_factory):
    """The tiny BertForMaskedLM folder with a chat template beside its tokenizer."""
    import shutil

    folder = tmp_path_factory.mktemp("chat-mlm") / "mlm"
    shutil.copytree(masked_lm, folder)
    (folder / "chat_template.jinja").write_text(TEMPLATE)
    return folder


def _pair(path, **options):
    from sentence_transformers.base.modules import Transformer as Reference

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = Reference(str(path), **options).eval()
    return reference, Transformer(path, **options).eval()


def _assert_same_run(ours, reference, inputs, output: str) -> None:
    """The same features (keys, modality, ids) and the same output at real tokens, to 1e-5."""
    theirs, mine = reference.preprocess(inputs), ours.preprocess(inputs)
    assert list(mine) == list(theirs)
    assert mine["modality"] == theirs["modality"]
    assert torch.equal(mine["input_ids"], theirs["input_ids"])
    with torch.no_grad():
        expected, got = reference(dict(theirs))[output], ours(dict(mine))[output]
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if got.ndim == 3:  # token outputs: padded positions carry no meaning
        mask = theirs["attention_mask"][..., None]
        expected, got = expected * mask, got * mask
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("task", ["sequence-classification", "fill-mask"])
def test_a_chat_template_adds_message_input_for_every_task(decoders, chat_masked_lm, task):
    path = decoders / "qwen2-cls" if task == "sequence-classification" else chat_masked_lm
    reference, ours = _pair(path, transformer_task=task)
    assert ours.modalities == reference.modalities == ["text", "message"]
    assert ours.get_config_dict() == reference.get_config_dict()
    assert repr(ours) == repr(reference)
    output = reference.module_output_name
    _assert_same_run(ours, reference, TEXTS, output)
    _assert_same_run(ours, reference, [[{"role": "user", "content": t}] for t in TEXTS], output)
    if task == "sequence-classification":
        _assert_same_run(ours, reference, PAIRS, output)


def test_a_decoder_tokenizer_gives_no_token_type_ids(decoders):
    reference, ours = _pair(decoders / "gpt2")
    assert ours.modalities == reference.modalities
    _assert_same_run(ours, reference, TEXTS, "token_embeddings")
    assert "token_type_ids" not in ours.preprocess(TEXTS)
