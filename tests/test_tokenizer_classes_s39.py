"""Tokenizer classes whose pipeline transformers 5 builds from the class and tokenizer_config.json, not from
tokenizer.json (BERT, MPNet, RoBERTa, GPT-2, Qwen2, XLM-R, CamemBERT, ALBERT, DeBERTa-v2, T5, Llama, Gemma).
A tokenizer.json saved by an older transformers, or with settings that disagree with tokenizer_config.json,
tokenizes as the class does in sentence-transformers; sbert's ids must be the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCES, build_tiny_encoder, classic_pooling, write_st_folder
from tiny_vocabularies import train_vocabularies

from sbert._tokens.tokenizer import TextTokenizer

TEXTS = [
    *SENTENCES[:3],
    "Café naïve RÉSUMÉ Über straße ﬁ ①",
    "東京は日本の首都です。 emoji 😀🎉",
    "tab\tand\nnewline  two   spaces",
    "  leading spaces",
    "Digits 12345 and 3.14",
    "''quoted'' ``x``",
    "Cafe\u0301 ne\u0301",  # decomposed accents (NFC composes them)
    "a</s> b <s>c",
]
PAIRS = list(zip(TEXTS, TEXTS[1:]))


def _bytelevel(**fields):
    def edit(tokenizer: dict) -> None:
        step = tokenizer["pre_tokenizer"]
        for item in [step, *(step.get("pretokenizers") or [])]:
            if item.get("type") == "ByteLevel":
                item.update(fields)

    return edit


def _bert_normalizer(**fields):
    return lambda tokenizer: tokenizer["normalizer"].update(fields)


def _without_whitespace_split(tokenizer: dict) -> None:
    """A transformers 4 SentencePiece file: Metaspace alone splits the words."""
    steps = tokenizer["pre_tokenizer"]["pretokenizers"]
    tokenizer["pre_tokenizer"] = next(step for step in steps if step["type"] != "WhitespaceSplit")


def _llama_v4(tokenizer: dict) -> None:
    """Llama's transformers 4 (legacy) file: the prefix and spaces in the normalizer, no pre-tokenizer."""
    tokenizer["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ],
    }
    tokenizer["pre_tokenizer"] = None


def _set(key, value):
    return lambda tokenizer: tokenizer.__setitem__(key, value)


def _lowercasing_too(tokenizer: dict) -> None:
    step = tokenizer["normalizer"]
    tokenizer["normalizer"] = {"type": "Sequence", "normalizers": [step, {"type": "Lowercase"}]}


def _albert_cased(tokenizer: dict) -> None:
    steps = tokenizer["normalizer"]["normalizers"]
    dropped = ("Lowercase", "NFKD", "StripAccents")
    tokenizer["normalizer"]["normalizers"] = [step for step in steps if step["type"] not in dropped]


# name -> (base tokenizer, config.json model_type, tokenizer_config.json changes, keys dropped from it,
#          the edit of tokenizer.json)
CASES = {
    "bert-no-do_lower_case": ("bert", "bert", {}, ["do_lower_case"], None),
    "bert-cased-file-lowercases": ("bert", "bert", {}, [], _bert_normalizer(lowercase=True)),
    "bert-file-strips-accents": ("bert", "bert", {}, [], _bert_normalizer(strip_accents=True)),
    "bert-file-no-chinese": ("bert", "bert", {}, [], _bert_normalizer(handle_chinese_chars=False)),
    "bert-file-no-post-processor": ("bert", "bert", {}, [], _set("post_processor", None)),
    "distilbert-class": (
        "bert",
        "distilbert",
        {"tokenizer_class": "DistilBertTokenizer"},
        [],
        _bert_normalizer(lowercase=True),
    ),  # fmt: skip
    "electra-class": (
        "bert",
        "electra",
        {"tokenizer_class": "ElectraTokenizer"},
        [],
        _bert_normalizer(lowercase=True),
    ),  # fmt: skip
    "bert-no-class": ("bert", "bert", {}, ["tokenizer_class"], _bert_normalizer(lowercase=True)),
    "bert-as-pretrainedfast": (
        "bert",
        "bert",
        {"tokenizer_class": "PreTrainedTokenizerFast"},
        [],
        _bert_normalizer(lowercase=True),
    ),  # fmt: skip
    "modernbert-naming-bert": (
        "bert",
        "modernbert",
        {"tokenizer_class": "BertTokenizer"},
        [],
        _bert_normalizer(lowercase=True),
    ),  # fmt: skip
    "mpnet-cased-file-lowercases": ("mpnet", "mpnet", {}, [], _bert_normalizer(lowercase=True)),
    "mpnet-no-do_lower_case": ("mpnet", "mpnet", {}, ["do_lower_case"], None),
    "roberta-file-prefix-space": ("roberta", "roberta", {}, [], _bytelevel(add_prefix_space=True)),
    "roberta-config-prefix-space": ("roberta", "roberta", {"add_prefix_space": True}, [], None),
    "roberta-file-no-post-processor": ("roberta", "roberta", {}, [], _set("post_processor", None)),
    "gpt2-file-prefix-space": ("gpt2", "gpt2", {}, [], _bytelevel(add_prefix_space=True)),
    "qwen2-file-no-nfc": ("qwen2", "qwen2", {}, [], _set("normalizer", None)),
    "qwen2-as-pretrainedfast": (
        "qwen2",
        "qwen2",
        {"tokenizer_class": "PreTrainedTokenizerFast"},
        [],
        _set("normalizer", None),
    ),  # fmt: skip
    "xlm-roberta-v4-file": ("xlm-roberta", "xlm-roberta", {}, [], _without_whitespace_split),
    "xlm-roberta-no-prefix-space": ("xlm-roberta", "xlm-roberta", {"add_prefix_space": False}, [], None),
    "xlm-roberta-file-lowercases": ("xlm-roberta", "xlm-roberta", {}, [], _lowercasing_too),
    "camembert-v4-file": ("camembert", "camembert", {}, [], _without_whitespace_split),
    "albert-config-cased": ("albert", "albert", {"do_lower_case": False, "keep_accents": True}, [], None),
    "albert-file-cased": ("albert", "albert", {}, ["do_lower_case", "keep_accents"], _albert_cased),
    "deberta-v2-config-lowercase": ("deberta-v2", "deberta-v2", {"do_lower_case": True}, [], None),
    "deberta-v2-split-by-punct": ("deberta-v2", "deberta-v2", {"split_by_punct": True}, [], None),
    "t5-v4-file": ("t5", "t5", {}, [], _without_whitespace_split),
    "llama-legacy": ("llama", "llama", {"legacy": True}, [], None),
    "llama-no-prefix-space": ("llama", "llama", {"add_prefix_space": False}, [], None),
    "llama-v4-file": ("llama", "llama", {"legacy": False}, [], _llama_v4),
    "llama-class-byte-level-file": ("gpt2", "llama", {"tokenizer_class": "LlamaTokenizerFast"}, [], None),
    "mistral-naming-llama": ("llama", "mistral", {"tokenizer_class": "LlamaTokenizer"}, [], None),
    "gemma-v4-file": ("gemma", "gemma", {}, [], _set("pre_tokenizer", None)),
}
# Cases built as whole sentence-transformers models (their encoder families: tests/conftest.py).
MODELS = {
    "bert-no-do_lower_case": "bert",
    "bert-cased-file-lowercases": "bert",
    "distilbert-class": "distilbert",
    "mpnet-cased-file-lowercases": "mpnet",
    "roberta-file-prefix-space": "roberta",
    "xlm-roberta-v4-file": "xlm-roberta",
    "camembert-v4-file": "camembert",
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    """Tokenizer folders as transformers 5 saves them (tokenizer.json, tokenizer_config.json), on tiny
    vocabularies trained here."""
    import transformers

    root = tmp_path_factory.mktemp("classes")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>", "<pad>", "<mask>"]
    spm, trained = train_vocabularies(root, TEXTS, special)
    bpe_files = {"vocab.json": trained["vocab.json"], "merges.txt": trained["merges.txt"]}
    unigram = spm("unigram")
    sources = {
        "bert": ("BertTokenizer", {"vocab.txt": trained["vocab.txt"]}, {"do_lower_case": False}),
        "mpnet": ("MPNetTokenizer", {"vocab.txt": trained["vocab.txt"]}, {"do_lower_case": False}),
        "roberta": ("RobertaTokenizer", bpe_files, {}),
        "gpt2": ("GPT2Tokenizer", bpe_files, {}),
        "qwen2": ("Qwen2Tokenizer", bpe_files, {}),
        "xlm-roberta": ("XLMRobertaTokenizer", {"sentencepiece.bpe.model": unigram}, {}),
        "camembert": ("CamembertTokenizer", {"sentencepiece.bpe.model": unigram}, {}),
        "albert": (
            "AlbertTokenizer",
            {
                "spiece.model": spm(
                    "albert",
                    user_defined_symbols=["[MASK]"],
                    control_symbols=["[CLS]", "[SEP]"],
                    pad_id=0,
                    unk_id=1,
                    bos_id=-1,
                    eos_id=-1,
                )
            },
            {},
        ),  # fmt: skip
        "deberta-v2": (
            "DebertaV2Tokenizer",
            {"spm.model": spm("deberta", pad_id=0, unk_id=1, bos_id=2, eos_id=3)},
            {},
        ),
        "t5": ("T5Tokenizer", {"spiece.model": spm("t5", pad_id=0, eos_id=1, unk_id=2, bos_id=-1)}, {}),
        "llama": (
            "LlamaTokenizer",
            {"tokenizer.model": spm("llama", 800, model_type="bpe", byte_fallback=True)},
            {},
        ),
        "gemma": (
            "GemmaTokenizer",
            {
                "tokenizer.model": spm(
                    "gemma",
                    800,
                    model_type="bpe",
                    byte_fallback=True,
                    pad_id=0,
                    eos_id=1,
                    bos_id=2,
                    unk_id=3,
                )
            },
            {},
        ),  # fmt: skip
    }
    folders = {}
    for name, (cls, files, config) in sources.items():
        folder = root / f"base-{name}"
        folder.mkdir()
        for filename, source in files.items():
            shutil.copy(source, folder / filename)
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
        getattr(transformers, cls).from_pretrained(str(folder)).save_pretrained(str(folder))
        for filename in files:  # only tokenizer.json holds the vocabulary
            (folder / filename).unlink()
        folders[name] = folder
    return folders


@pytest.fixture(scope="module")
def cases(bases, tmp_path_factory):
    """name -> its tokenizer folder, made once on first use."""
    root = tmp_path_factory.mktemp("cases")
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            base, model_type, changes, dropped, edit = CASES[name]
            folder = root / name
            shutil.copytree(bases[base], folder)
            config = json.loads((folder / "tokenizer_config.json").read_text())
            config = {key: value for key, value in config.items() if key not in dropped}
            (folder / "tokenizer_config.json").write_text(json.dumps({**config, **changes}))
            tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
            if edit is not None:
                edit(tokenizer)
            text = json.dumps(tokenizer, ensure_ascii=False)
            (folder / "tokenizer.json").write_text(text, encoding="utf-8")
            (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
            made[name] = folder
        return made[name]

    return make


@pytest.mark.parametrize("name", list(CASES))
def test_token_ids_are_those_of_the_class_autotokenizer_loads(cases, name):
    """sentence-transformers' tokenizer is AutoTokenizer's: singles and pairs, and the decoded text."""
    from transformers import AutoTokenizer

    folder = cases(name)
    reference = AutoTokenizer.from_pretrained(str(folder))
    tokenizer = TextTokenizer.from_folder(folder)
    assert [e.ids for e in tokenizer.encode_texts(TEXTS)] == reference(TEXTS)["input_ids"]
    expected_pairs = reference([a for a, _ in PAIRS], [b for _, b in PAIRS])["input_ids"]
    assert [e.ids for e in tokenizer.encode_pairs(PAIRS)] == expected_pairs
    ids = reference(TEXTS[3])["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == reference.decode(ids, skip_special_tokens=True)


@pytest.mark.parametrize("name", list(MODELS))
def test_sentence_transformers_models_tokenize_and_encode_alike(cases, tmp_path, name):
    import sentence_transformers

    import sbert

    tokenizer_folder = cases(name)
    vocabulary = len(json.loads((tokenizer_folder / "tokenizer.json").read_text())["model"]["vocab"]) + 8
    source = tmp_path / "tokenizer"
    shutil.copytree(tokenizer_folder, source)
    (source / "config.json").write_text(json.dumps({"vocab_size": vocabulary}))
    encoder = build_tiny_encoder(MODELS[name], source, tmp_path / "encoder")
    folder = write_st_folder(encoder, tmp_path / "st", classic_pooling(32, "mean"))
    reference = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
    model = sbert.SentenceTransformer(str(folder), device="cpu")
    expected = reference.tokenize(TEXTS)
    features = model.tokenize(TEXTS)
    np.testing.assert_array_equal(np.asarray(features["input_ids"]), expected["input_ids"].numpy())
    np.testing.assert_allclose(
        model.encode(TEXTS), reference.encode(TEXTS, convert_to_numpy=True), atol=1e-5, rtol=1e-4
    )


@pytest.mark.parametrize("name", ["bert-no-do_lower_case", "roberta-file-prefix-space", "t5-v4-file"])
def test_class_templates_need_no_transformers(cases, monkeypatch, name):
    """The base install (no transformers) builds the same pipeline, with the tokenizers library alone."""
    import sys

    from transformers import AutoTokenizer

    folder = cases(name)
    expected = AutoTokenizer.from_pretrained(str(folder))(TEXTS)["input_ids"]
    monkeypatch.setitem(sys.modules, "transformers", None)  # unimportable, as in an install without it
    tokenizer = TextTokenizer.from_folder(folder)
    assert [e.ids for e in tokenizer.encode_texts(TEXTS)] == expected
    assert tokenizer.encode(TEXTS) == expected  # transformers' encode of a list: one id list per text


# Added tokens where tokenizer.json's "added_tokens" and tokenizer_config.json's "added_tokens_decoder" (as
# transformers 4.34+ saved both) disagree: transformers 5 takes the config's (a class with a template rebuilds
# the tokenizer from the file's vocabulary alone; TokenizersBackend adds the config's to the file's).
ADDED_TEXTS = [
    "a [MASK] b [MASK]c and a <mask> b<mask>",
    "x[ENT]y [ENT] z",
    "newword ZORBLAX zorblax Zorblax",
    "<special1> here<special1>",
]


def _token(content: str, **flags) -> dict:
    return {"content": content, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
            "special": True, **flags}  # fmt: skip


def _file_tokens(*tokens: dict):
    """tokenizer.json's added tokens: its own, with these (by content: changed, else appended)."""

    def edit(tokenizer: dict) -> None:
        added = {token["content"]: token for token in tokenizer["added_tokens"]}
        size = len(tokenizer["model"]["vocab"])
        for token in tokens:
            entry = added.get(token["content"]) or {"id": size + len(added) - 5}
            added[token["content"]] = {**entry, **token}
        tokenizer["added_tokens"] = list(added.values())

    return edit


# name -> (base, model_type, config changes, tokenizer.json's added-token changes, the config's
#          added_tokens_decoder: the file's added tokens, with these changed or appended by content)
ADDED_CASES = {
    "bert-token-only-in-config": ("bert", "bert", {}, [], [_token("[ENT]", rstrip=True)]),
    "bert-tokens-only-in-file": (
        "bert",
        "bert",
        {},
        [_token("newword", normalized=True, special=False), _token("<special1>")],
        [],
    ),  # fmt: skip
    "bert-flags-disagree": (
        "bert",
        "bert",
        {"do_lower_case": True},
        [_token("zorblax", special=False), _token("<special1>", special=False)],
        [
            _token("[MASK]", lstrip=True, rstrip=True),
            _token("zorblax", normalized=True, special=False),
            _token("<special1>"),
        ],
    ),  # fmt: skip
    "backend-token-only-in-config": ("bert", "modernbert", {}, [], [_token("[ENT]", rstrip=True)]),
    "backend-flags-disagree": (
        "bert",
        "modernbert",
        {},
        [_token("zorblax", special=False), _token("<special1>", special=False)],
        [
            _token("[MASK]", lstrip=True, rstrip=True),
            _token("zorblax", normalized=True, special=False),
            _token("<special1>"),
        ],
    ),  # fmt: skip
    "roberta-mask-lstrip-in-config": ("roberta", "roberta", {}, [], [_token("<mask>", lstrip=True)]),
    "xlm-roberta-mask-lstrip-in-config": (
        "xlm-roberta",
        "xlm-roberta",
        {},
        [],
        [_token("<mask>", lstrip=True)],
    ),  # fmt: skip
}


@pytest.fixture(scope="module")
def added_cases(bases, tmp_path_factory):
    root = tmp_path_factory.mktemp("added")
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            base, model_type, changes, file_tokens, config_tokens = ADDED_CASES[name]
            folder = root / name
            shutil.copytree(bases[base], folder)
            tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
            decoder = {
                str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in tokenizer["added_tokens"]
            }
            _file_tokens(*file_tokens)(tokenizer)
            (folder / "tokenizer.json").write_text(
                json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8"
            )
            by_content = {token["content"]: index for index, token in decoder.items()}
            for token in config_tokens:
                index = by_content.get(
                    token["content"], str(len(tokenizer["model"]["vocab"]) + len(decoder) - 5)
                )
                decoder[index] = token
            config = json.loads((folder / "tokenizer_config.json").read_text())
            config = {**config, **changes, "added_tokens_decoder": decoder}
            (folder / "tokenizer_config.json").write_text(json.dumps(config))
            (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
            made[name] = folder
        return made[name]

    return make


@pytest.mark.parametrize("name", list(ADDED_CASES))
def test_added_tokens_are_the_configs_as_in_autotokenizer(added_cases, name):
    from transformers import AutoTokenizer

    folder = added_cases(name)
    reference = AutoTokenizer.from_pretrained(str(folder))
    tokenizer = TextTokenizer.from_folder(folder)

    def added(backend) -> dict:
        return {index: token.__getstate__() for index, token in backend.get_added_tokens_decoder().items()}

    assert added(tokenizer.backend) == added(reference.backend_tokenizer)
    texts = [*ADDED_TEXTS, *TEXTS]
    assert [e.ids for e in tokenizer.encode_texts(texts)] == reference(texts)["input_ids"]
    pairs = list(zip(ADDED_TEXTS, reversed(ADDED_TEXTS)))
    expected_pairs = reference([a for a, _ in pairs], [b for _, b in pairs])["input_ids"]
    assert [e.ids for e in tokenizer.encode_pairs(pairs)] == expected_pairs
    for ids in reference(ADDED_TEXTS)["input_ids"]:
        expected = reference.decode(ids, skip_special_tokens=True)
        assert tokenizer.decode(ids, skip_special_tokens=True) == expected
