"""The special tokens transformers 5's tokenizer classes add in ``__init__`` beyond the folder's: T5's
sentinels (``<extra_id_0>`` ... from ``extra_ids``), CamemBERT's ``<s>NOTUSED`` tokens, Qwen2's re-adding of
every special token, and the named special tokens a folder read as written (no class of its own) gets where
tokenizer.json leaves them out. sbert's tokenizer must give AutoTokenizer's ids, vocabulary and decoded
text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SENTENCES
from tiny_vocabularies import train_vocabularies

from sbert._tokens.tokenizer import TextTokenizer

TEXTS = [
    "Hello <extra_id_3> world",
    "a<extra_id_3>b <extra_id_99> c<extra_id_0>",
    "<s>NOTUSED x </s>NOTUSED y<unk>NOTUSED",
    "a <|endoftext|> b<|endoftext|>c",
    "x <|im_start|> y<|im_end|>z",
    "p [MASK] q[MASK]r <sep> s<sep>",
    "<cls> t <eos>",
    *SENTENCES[:2],
]
EXTRA_IDS = [f"<extra_id_{i}>" for i in range(100)]


def _token(content: str, **flags) -> dict:
    return {"content": content, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
            "special": True, **flags}  # fmt: skip


def _no_sentinels_added(tokenizer: dict) -> None:
    """tokenizer.json without the sentinels among its added tokens (they stay in the vocabulary)."""
    tokenizer["added_tokens"] = [t for t in tokenizer["added_tokens"] if "extra_id" not in t["content"]]


def _no_sentinels(tokenizer: dict) -> None:
    """tokenizer.json without the sentinels at all (a vocabulary of the SentencePiece model's pieces only)."""
    _no_sentinels_added(tokenizer)
    tokenizer["model"]["vocab"] = [p for p in tokenizer["model"]["vocab"] if "extra_id" not in p[0]]


def _no_added_tokens(tokenizer: dict) -> None:
    tokenizer["added_tokens"] = []


# name -> (base, config.json model_type, tokenizer_config.json changes, keys dropped from it (as saved by
#          transformers 5), the edit of tokenizer.json, special_tokens_map.json or None)
CASES = {
    # T5 (sentence-t5, gtr-t5): the hub's config, and without its sentinel keys
    "t5-hub-config": ("t5", "t5", {"extra_ids": 100, "additional_special_tokens": EXTRA_IDS}, [], None, None),
    "t5-no-sentinel-keys": ("t5", "t5", {}, ["extra_ids"], _no_sentinels_added, None),
    "t5-no-sentinels-in-file": ("t5", "t5", {}, ["extra_ids"], _no_sentinels, None),
    "t5-extra_ids-5": ("t5", "t5", {"extra_ids": 5}, [], _no_sentinels, None),
    "t5-extra_ids-0": ("t5", "t5", {"extra_ids": 0}, [], _no_sentinels, None),
    "t5-other-special-in-map": (
        "t5",
        "t5",
        {},
        [],
        _no_sentinels,
        {"additional_special_tokens": ["<sep>"], "eos_token": "</s>"},
    ),  # fmt: skip
    "t5-empty-list": ("t5", "t5", {"additional_special_tokens": []}, [], _no_sentinels, None),
    "t5-hub-with-decoder": (
        "t5",
        "t5",
        {"extra_ids": 100, "additional_special_tokens": EXTRA_IDS},
        [],
        _no_sentinels_added,
        None,
    ),  # fmt: skip
    # CamemBERT: its three unnamed defaults where the folder lists none
    "camembert-no-extras": ("camembert", "camembert", {}, [], None, None),
    "camembert-empty-list": ("camembert", "camembert", {"additional_special_tokens": []}, [], None, None),
    "camembert-extras-in-map": (
        "camembert",
        "camembert",
        {},
        [],
        None,
        {"additional_special_tokens": ["<s>NOTUSED", "</s>NOTUSED"]},
    ),  # fmt: skip
    "camembert-other-extra": ("camembert", "camembert", {"extra_special_tokens": ["<sep>"]}, [], None, None),
    # Qwen2 / Qwen3: every special token added again as a plain special AddedToken
    "qwen2-eos-flags-in-config": (
        "qwen2",
        "qwen2",
        {"added_tokens_decoder": {"5": _token("<|endoftext|>", normalized=True, special=False, lstrip=True)}},
        [],
        None,
        None,
    ),  # fmt: skip
    "qwen3-extra-not-special-in-config": (
        "qwen2",
        "qwen3",
        {
            "added_tokens_decoder": {"400": _token("<|im_start|>", normalized=True, special=False)},
            "extra_special_tokens": ["<|im_start|>"],
        },
        [],
        None,
        None,
    ),  # fmt: skip
    "qwen2-new-eos": ("qwen2", "qwen2", {"eos_token": "<|im_end|>"}, [], None, None),
    # read as written (no class of its own): named special tokens missing from tokenizer.json's added tokens
    "backend-named-missing-from-file": ("bert", "modernbert", {}, [], _no_added_tokens, None),
    "backend-named-new-tokens": (
        "bert",
        "modernbert",
        {"sep_token": "<sep>", "cls_token": "<cls>"},
        [],
        None,
        None,
    ),
    "backend-named-in-special-tokens-map": (
        "bert",
        "modernbert",
        {},
        ["sep_token", "cls_token"],
        _no_added_tokens,
        {"sep_token": "<sep>", "cls_token": _token("<cls>", lstrip=True), "mask_token": "[MASK]"},
    ),  # fmt: skip
    "backend-extra-list": ("bert", "modernbert", {"extra_special_tokens": ["<eos>"]}, [], None, None),
    "pretrainedfast-named-missing-from-file": (
        "bert",
        "bert",
        {"tokenizer_class": "PreTrainedTokenizerFast"},
        [],
        _no_added_tokens,
        None,
    ),  # fmt: skip
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    """Tokenizer folders as transformers 5 saves them (tokenizer.json, tokenizer_config.json without
    added_tokens_decoder), on tiny vocabularies trained here."""
    import transformers

    root = tmp_path_factory.mktemp("more-classes")
    spm, trained = train_vocabularies(root, SENTENCES, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    sources = {
        "t5": ("T5Tokenizer", {"spiece.model": spm("t5", pad_id=0, eos_id=1, unk_id=2, bos_id=-1)}),
        "camembert": ("CamembertTokenizer", {"sentencepiece.bpe.model": spm("unigram")}),
        "qwen2": (
            "Qwen2Tokenizer",
            {"vocab.json": trained["vocab.json"], "merges.txt": trained["merges.txt"]},
        ),
        "bert": ("BertTokenizer", {"vocab.txt": trained["vocab.txt"]}),
    }
    folders = {}
    for name, (cls, files) in sources.items():
        folder = root / f"base-{name}"
        folder.mkdir()
        for filename, source in files.items():
            shutil.copy(source, folder / filename)
        (folder / "tokenizer_config.json").write_text("{}")
        getattr(transformers, cls).from_pretrained(str(folder)).save_pretrained(str(folder))
        for filename in files:  # only tokenizer.json holds the vocabulary
            (folder / filename).unlink()
        config = json.loads((folder / "tokenizer_config.json").read_text())
        config.pop("added_tokens_decoder", None)
        config.pop("extra_special_tokens", None)
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
        folders[name] = folder
    return folders


def _make(bases: dict[str, Path], root: Path, name: str) -> Path:
    base, model_type, changes, dropped, edit, special_tokens_map = CASES[name]
    folder = root / name
    shutil.copytree(bases[base], folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config = {key: value for key, value in config.items() if key not in dropped}
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, **changes}))
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    if edit is not None:
        edit(tokenizer)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    if special_tokens_map is not None:
        (folder / "special_tokens_map.json").write_text(json.dumps(special_tokens_map))
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    return folder


@pytest.mark.parametrize("name", list(CASES))
def test_special_tokens_the_class_adds_are_autotokenizers(bases, tmp_path, name):
    """Ids (singles, pairs), added tokens and their flags, vocabulary size, decoded text: AutoTokenizer's."""
    from transformers import AutoTokenizer

    folder = _make(bases, tmp_path, name)
    reference = AutoTokenizer.from_pretrained(str(folder))
    tokenizer = TextTokenizer.from_folder(folder)

    def added(backend) -> dict:
        return {index: token.__getstate__() for index, token in backend.get_added_tokens_decoder().items()}

    assert added(tokenizer.backend) == added(reference.backend_tokenizer)
    assert tokenizer.backend.get_vocab_size(with_added_tokens=True) == len(reference)
    expected = reference(TEXTS)["input_ids"]
    assert [e.ids for e in tokenizer.encode_texts(TEXTS)] == expected
    pairs = list(zip(TEXTS, reversed(TEXTS)))
    expected_pairs = reference([a for a, _ in pairs], [b for _, b in pairs])["input_ids"]
    assert [e.ids for e in tokenizer.encode_pairs(pairs)] == expected_pairs
    for ids in expected:
        assert tokenizer.decode(ids) == reference.decode(ids)
        assert tokenizer.decode(ids, skip_special_tokens=True) == reference.decode(
            ids, skip_special_tokens=True
        )


def test_default_model_tokenizes_as_sentence_transformers(default_model_path):
    import sentence_transformers

    import sbert

    texts = [*TEXTS, *SENTENCES]
    reference = sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu")
    model = sbert.SentenceTransformer(str(default_model_path), device="cpu")
    expected = reference.tokenize(texts)
    features = model.tokenize(texts)
    for key in ("input_ids", "attention_mask"):
        assert features[key].tolist() == expected[key].tolist()
