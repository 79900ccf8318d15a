"""``model.tokenizer`` as sentence-transformers' (a transformers 5 fast tokenizer) for the calls the
session-53 audit found missing or different: ``get_special_tokens_mask`` and
``return_special_tokens_mask`` (what ``DataCollatorForLanguageModeling`` and the token-classification
pipeline call), ``is_split_into_words``, ``return_length``, ``text_target``, the options of ``tokenize`` and
``convert_ids_to_tokens``, ``decode`` / ``batch_decode`` of batches and ``clean_up_tokenization_spaces``
(config, ``tokenizer_kwargs``, attribute, save), unknown tokens' ids on BPE and Unigram models, and the
added-token and length attributes.

The default model is compared with sentence-transformers' model of the same folder; the tiny byte-level BPE
(RoBERTa) and Unigram (XLM-R) tokenizers, built here without training a model, with transformers'
``AutoTokenizer`` of the same folder, which is what sentence-transformers loads as its tokenizer."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from sbert._tokens.tokenizer import TextTokenizer

TEXTS = ["It's sunny, isn't it?", "Hello world", "The cat sat on the mat and I can't go."]
WORDS = [["Hello", "world"], ["the", "cat", "sat"]]
SENTENCES = [
    "The weather is lovely today.",
    "It's so sunny outside, isn't it?",
    "The cat sat on the mat and the dog ran in the house with a big red ball.",
    "Hello world, this is a tokenizer test with some words: running, jumped, happily.",
] * 10
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
NAMES = ["default", "roberta", "xlmr"]


def _tiny_tokenizer(kind: str, folder):
    """A RoBERTa (byte-level BPE) or XLM-R (Unigram) tokenizer folder as transformers 5 saves it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast, XLMRobertaTokenizerFast

    if kind == "roberta":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL, initial_alphabet=alphabet)
        tok.train_from_iterator(SENTENCES, trainer)
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
        cls, model_type = RobertaTokenizerFast, "roberta"
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=150, special_tokens=SPECIAL, unk_token="<unk>")
        tok.train_from_iterator(SENTENCES, trainer)
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
        )
        cls, model_type = XLMRobertaTokenizerFast, "xlm-roberta"
    names = ("bos_token", "eos_token", "sep_token", "cls_token", "unk_token", "pad_token", "mask_token")
    tokens = dict(zip(names, ("<s>", "</s>", "</s>", "<s>", "<unk>", "<pad>", "<mask>")))
    cls(tokenizer_object=tok, model_max_length=64, **tokens).save_pretrained(str(folder))
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    return folder


@pytest.fixture(scope="module")
def tokenizers(default_model, st_default_model, tmp_path_factory):
    """name -> (sbert's tokenizer, sentence-transformers' / AutoTokenizer's of the same folder)."""
    from transformers import AutoTokenizer

    pairs = {"default": (default_model.tokenizer, st_default_model.tokenizer)}
    for kind in ("roberta", "xlmr"):
        folder = _tiny_tokenizer(kind, tmp_path_factory.mktemp(kind))
        pairs[kind] = (TextTokenizer.from_folder(folder), AutoTokenizer.from_pretrained(str(folder)))
    return pairs


@pytest.fixture(scope="module")
def cleanup_folder(default_model_path, tmp_path_factory):
    """The default model's tokenizer files with ``clean_up_tokenization_spaces: true``, as transformers 4
    saved most folders."""
    folder = tmp_path_factory.mktemp("cleanup")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (default_model_path / name).is_file():
            shutil.copy(default_model_path / name, folder / name)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(
        json.dumps({**config, "clean_up_tokenization_spaces": True})
    )
    return folder


def _plain(value):
    """A value as comparable data: tensors and arrays with their kind."""
    if isinstance(value, torch.Tensor):
        return ("torch", str(value.dtype), value.tolist())
    if isinstance(value, np.ndarray):
        return ("numpy", str(value.dtype), value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "items"):  # dicts and BatchEncodings (transformers': a UserDict)
        return [(key, _plain(item)) for key, item in value.items()]
    return value


def _same(tokenizers, name, call):
    ours, theirs = tokenizers[name]
    assert _plain(call(ours)) == _plain(call(theirs))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": True},
        {"padding": True, "padding_side": "left", "return_tensors": "pt"},
        {"padding": "max_length", "max_length": 12, "truncation": True, "return_tensors": "np"},
        {"return_offsets_mapping": True, "return_overflowing_tokens": True, "max_length": 12, "stride": 1},
    ],
)
def test_special_tokens_mask_and_length(tokenizers, name, options):
    """``return_special_tokens_mask`` (padding counts as special) and ``return_length`` (padding counted), in
    transformers' key order, for a batch, a pair batch and one text."""
    extra = {"return_special_tokens_mask": True, "return_length": True, **options}
    _same(tokenizers, name, lambda tok: tok(TEXTS, **extra))
    _same(tokenizers, name, lambda tok: tok(TEXTS[:2], TEXTS[1:], **extra))
    _same(tokenizers, name, lambda tok: tok(TEXTS[0], **extra))


@pytest.mark.parametrize("name", NAMES)
def test_is_split_into_words(tokenizers, name):
    """Words in, as one text (a list of words) or a batch (lists of words), alone or paired; word ids too."""
    _same(tokenizers, name, lambda tok: tok(WORDS[0], is_split_into_words=True))
    _same(tokenizers, name, lambda tok: tok(WORDS, is_split_into_words=True, padding=True))
    _same(tokenizers, name, lambda tok: tok(WORDS[0], WORDS[1], is_split_into_words=True))
    _same(tokenizers, name, lambda tok: tok(WORDS, is_split_into_words=True).word_ids(1))
    _same(tokenizers, name, lambda tok: tok.encode(WORDS[1], is_split_into_words=True))


@pytest.mark.parametrize("name", NAMES)
def test_text_target(tokenizers, name):
    """``text_target`` alone gives its features; with ``text`` its ids are the ``labels``."""
    _same(tokenizers, name, lambda tok: tok(text_target=TEXTS[0]))
    _same(tokenizers, name, lambda tok: tok(TEXTS[:2], text_target=TEXTS[1:], padding=True))
    _same(tokenizers, name, lambda tok: tok(TEXTS[:2], text_target=TEXTS[1:], max_length=5, truncation=True))
    ours, theirs = tokenizers[name]
    for tok in (ours, theirs):
        with pytest.raises(ValueError):
            tok()


@pytest.mark.parametrize("name", NAMES)
def test_tokenize_and_convert_ids_to_tokens_options(tokenizers, name):
    _same(tokenizers, name, lambda tok: tok.tokenize(TEXTS[0], TEXTS[1]))
    _same(tokenizers, name, lambda tok: tok.tokenize(TEXTS[0], add_special_tokens=True))
    _same(tokenizers, name, lambda tok: tok.tokenize(TEXTS[0], pair=TEXTS[2], add_special_tokens=True))
    _same(tokenizers, name, lambda tok: tok.tokenize(WORDS[0], is_split_into_words=True))
    _same(tokenizers, name, lambda tok: tok.tokenize(TEXTS[1], truncation=True, max_length=2))
    ids = tokenizers[name][1](TEXTS[0], TEXTS[1])["input_ids"]
    _same(tokenizers, name, lambda tok: tok.convert_ids_to_tokens(ids, skip_special_tokens=True))
    _same(
        tokenizers, name, lambda tok: tok.convert_ids_to_tokens(torch.tensor(ids), skip_special_tokens=False)
    )


@pytest.mark.parametrize("name", NAMES)
def test_get_special_tokens_mask(tokenizers, name):
    ours, theirs = tokenizers[name]
    ids = theirs(TEXTS[1], TEXTS[2])["input_ids"]
    _same(tokenizers, name, lambda tok: tok.get_special_tokens_mask(ids, already_has_special_tokens=True))
    _same(
        tokenizers,
        name,
        lambda tok: tok.get_special_tokens_mask(np.array(ids), already_has_special_tokens=True),
    )
    for tok in (ours, theirs):  # what transformers' fast tokenizers do not compute, or refuse
        with pytest.raises(NotImplementedError):
            tok.get_special_tokens_mask(ids)
        with pytest.raises(ValueError):
            tok.get_special_tokens_mask(ids, ids, already_has_special_tokens=True)


def test_masked_lm_collator(tokenizers):
    """``transformers.DataCollatorForLanguageModeling(model.tokenizer)`` masks the same tokens (same seed)."""
    from transformers import DataCollatorForLanguageModeling

    outputs = []
    for tok in tokenizers["default"]:
        collator = DataCollatorForLanguageModeling(tok, mlm=True, mlm_probability=0.5, seed=3)
        features = [tok(text) for text in TEXTS]
        torch.manual_seed(0)
        batch = collator(features)
        outputs.append(_plain(dict(batch)))
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("clean_up", [None, True, False])
def test_decode_batches_and_clean_up(tokenizers, name, clean_up):
    """``decode`` of rows gives a list of texts, ``batch_decode`` of one row a list of its text;
    ``clean_up_tokenization_spaces`` cleans as transformers (never on a BPE model)."""
    batch = tokenizers[name][1](TEXTS, padding=True, return_tensors="pt")["input_ids"]
    rows = batch.tolist()
    options = {} if clean_up is None else {"clean_up_tokenization_spaces": clean_up}
    _same(tokenizers, name, lambda tok: tok.decode(batch, **options))
    _same(tokenizers, name, lambda tok: tok.decode(rows, skip_special_tokens=True, **options))
    _same(tokenizers, name, lambda tok: tok.decode(rows[0], **options))
    _same(tokenizers, name, lambda tok: tok.decode(batch[0].numpy(), skip_special_tokens=True, **options))
    _same(tokenizers, name, lambda tok: tok.decode(rows[0][1], **options))
    _same(tokenizers, name, lambda tok: tok.batch_decode(batch, skip_special_tokens=True, **options))
    _same(tokenizers, name, lambda tok: tok.batch_decode(rows[2], **options))
    _same(tokenizers, name, lambda tok: tok.batch_decode([], **options))


def test_clean_up_tokenization_spaces_from_the_config_kwargs_and_attribute(
    cleanup_folder, default_model_path, tmp_path
):
    """tokenizer_config.json's ``clean_up_tokenization_spaces`` applies in decode; so do tokenizer_kwargs'
    and a set attribute; a save writes the attribute back where the file held it."""
    import sentence_transformers
    from transformers import AutoTokenizer

    import sbert

    ours, theirs = (
        TextTokenizer.from_folder(cleanup_folder),
        AutoTokenizer.from_pretrained(str(cleanup_folder)),
    )
    ids = theirs(TEXTS)["input_ids"]
    assert ours.clean_up_tokenization_spaces is theirs.clean_up_tokenization_spaces is True
    assert ours.batch_decode(ids, skip_special_tokens=True) == theirs.batch_decode(
        ids, skip_special_tokens=True
    )
    assert ours.decode(ids[0], skip_special_tokens=True) == "it's sunny, isn't it?"
    for tok in (ours, theirs):
        tok.clean_up_tokenization_spaces = False
        tok.save_pretrained(tmp_path / type(tok).__name__)
    assert ours.decode(ids[0]) == theirs.decode(ids[0])
    saved = [
        json.loads((tmp_path / type(t).__name__ / "tokenizer_config.json").read_text())
        for t in (ours, theirs)
    ]
    assert saved[0]["clean_up_tokenization_spaces"] is saved[1]["clean_up_tokenization_spaces"] is False

    kwargs = {"tokenizer_kwargs": {"clean_up_tokenization_spaces": True}}
    sbert_model = sbert.SentenceTransformer(str(default_model_path), **kwargs)
    st_model = sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu", **kwargs)
    texts = [model.tokenizer.decode(ids[2], skip_special_tokens=True) for model in (sbert_model, st_model)]
    assert texts[0] == texts[1] == "the cat sat on the mat and i can't go."
    sbert_model.tokenizer.clean_up_tokenization_spaces = False
    st_model.tokenizer.clean_up_tokenization_spaces = False
    assert sbert_model.tokenizer.decode(ids[2]) == st_model.tokenizer.decode(ids[2])


@pytest.mark.parametrize("name", ["roberta", "xlmr"])
def test_unknown_token_is_the_unk_id(tokenizers, name):
    """BPE and Unigram models as WordPiece ones (the default model, checked with them): the unk id."""
    for model in (name, "default"):
        _same(tokenizers, model, lambda tok: tok.convert_tokens_to_ids("qqqzzz@@@not-a-token"))
        _same(tokenizers, model, lambda tok: tok.convert_tokens_to_ids(["<s>", "qqqzzz@@@", "[CLS]"]))


@pytest.mark.parametrize("name", NAMES)
def test_added_tokens_lengths_and_settings(tokenizers, name):
    """``get_added_vocab``, ``added_tokens_encoder`` / ``_decoder``, the derived lengths, ``verbose``,
    ``clean_up_tokenization_spaces`` and what ``init_kwargs`` holds from tokenizer_config.json."""
    _same(tokenizers, name, lambda tok: tok.get_added_vocab())
    _same(tokenizers, name, lambda tok: tok.added_tokens_encoder)
    _same(tokenizers, name, lambda tok: {i: t.__getstate__() for i, t in tok.added_tokens_decoder.items()})
    _same(tokenizers, name, lambda tok: (tok.max_len_single_sentence, tok.max_len_sentences_pair))
    _same(tokenizers, name, lambda tok: (tok.verbose, tok.clean_up_tokenization_spaces))
    _same(tokenizers, name, lambda tok: tok.SPECIAL_TOKENS_ATTRIBUTES)
    _same(tokenizers, name, lambda tok: tok.decoder.decode(["a", "b"]))
    ours, theirs = tokenizers[name]
    files = ("vocab_file", "merges_file")  # the class's vocabulary-file names: not kept by sbert

    def settings(tok):
        return {key: str(value) for key, value in tok.init_kwargs.items() if key not in files}

    assert settings(ours) == settings(theirs)
    for tok in (ours, theirs):
        with pytest.raises(ValueError):
            tok.max_len_single_sentence = 3


def test_gist_guide_decodes_as_batch_decode(cleanup_folder):
    """The GIST losses' guide re-reads the student's texts as sentence-transformers' ``batch_decode`` gives
    them: cleaned up where the tokenizer's config says so."""
    from transformers import AutoTokenizer

    from sbert._losses.gist import _decoder

    ours = TextTokenizer.from_folder(cleanup_folder)
    theirs = AutoTokenizer.from_pretrained(str(cleanup_folder))
    rows = theirs(TEXTS)["input_ids"]
    expected = theirs.batch_decode(rows, skip_special_tokens=True)
    assert _decoder(ours).decode_batch(rows, skip_special_tokens=True) == expected


CHAT_TEMPLATE = (
    "{% for m in messages %}{{ bos_token or '' }}<|{{ m['role'] }}|>{{ m['content'] }}{% generation %}"
    "{% if m['role'] == 'assistant' %} ok{% endif %}{% endgeneration %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CHAT = [{"role": "user", "content": "hi there", "name": None}, {"role": "assistant", "content": "hello you"}]


@pytest.fixture(scope="module")
def chat_tokenizers(default_model_path):
    """The default model's tokenizer, sbert's and transformers' (own copies), with a chat template."""
    from transformers import AutoTokenizer

    path = default_model_path
    pair = (TextTokenizer.from_folder(path), AutoTokenizer.from_pretrained(str(path)))
    for tok in pair:
        tok.chat_template = CHAT_TEMPLATE
    return pair


@pytest.mark.parametrize(
    "call",
    [
        lambda tok: tok.apply_chat_template(CHAT, tokenize=False),
        lambda tok: tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True),
        lambda tok: tok.apply_chat_template(CHAT),
        lambda tok: tok.apply_chat_template([CHAT, CHAT[:1]], return_dict=False),
        lambda tok: tok.apply_chat_template([CHAT, CHAT[:1]], padding=True, return_tensors="pt"),
        lambda tok: tok.apply_chat_template(CHAT, return_assistant_tokens_mask=True),
        lambda tok: tok.apply_chat_template(
            [CHAT, CHAT[:1]], padding=True, return_tensors="np", return_assistant_tokens_mask=True
        ),
        lambda tok: tok.apply_chat_template(CHAT, max_length=4, truncation=True, return_dict=False),
        lambda tok: tok.apply_chat_template(CHAT, tokenize=False, chat_template="{{ messages[0].content }}"),
        lambda tok: tok.get_chat_template(),
    ],
)
def test_apply_chat_template(chat_tokenizers, call):
    """transformers' ``apply_chat_template`` on a template set on the tokenizer: rendered, tokenized, batched,
    with assistant masks."""
    ours, theirs = chat_tokenizers
    assert _plain(call(ours)) == _plain(call(theirs))
