"""Old BERT-family (vocab.txt) and RoBERTa (vocab.json + merges.txt) folders without tokenizer.json, where
transformers is not installed (sbert's base install): sbert builds their tokenizer with the `tokenizers`
library alone (sbert._tokens.vocab_files), the one transformers' AutoTokenizer builds: the same
tokenizer.json, token ids, masks, pairs and truncation, on folders as transformers 4 saved them (its added
tokens and special tokens in each of its formats) and on the default model's real vocabulary."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCES, WORDS

from sbert import BackendUnavailableError
from sbert._tokens.tokenizer import TextTokenizer
from sbert._tokens.vocab_files import tokenizer_from_vocabulary

TEXTS = [
    *SENTENCES,
    "café naïve RÉSUMÉ über straße ﬁ ① Ångström",
    "東京は日本の首都です。 emoji 😀🎉 中文字符",
    "ctrl\x00char\x07s\tand\u200bzero\u00a0nbsp\r\nline\ufffd",
    "  spaced   out  ",
    "newword and Zorblax <special1> [ENT]x NEWWORD a<mask>b the <mask> [MASK]x <s></s>",
    "UPPER Case MiXeD 3.14 e-mail@host.org (parens) [brackets] don't",
    " ".join(["a long text with many words"] * 30),
]
PAIRS = list(zip(TEXTS, reversed(TEXTS), strict=True))
MAX_LENGTH = 24
BERT_VOCAB_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_SPECIALS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]"}
ROBERTA_SPECIALS = {
    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False,
                   "single_word": False},
}  # fmt: skip


def _special(content: str, **flags) -> dict:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
            "special": True, **flags}  # fmt: skip


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    """name -> a tokenizer folder as an older hub model ships it (transformers 4's formats): its vocabulary
    files, tokenizer_config.json and the older special_tokens_map.json / added_tokens.json, no
    tokenizer.json."""
    from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer

    root = tmp_path_factory.mktemp("vocab_files")
    corpus = [*TEXTS, *WORDS, *(word.upper() for word in WORDS), "résumé café über naïve"]
    pieces = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    pieces.train_from_iterator(corpus, vocab_size=500, special_tokens=BERT_VOCAB_SPECIALS)
    pieces.save_model(str(root))
    bert_size = pieces.get_vocab_size()
    mpnet = BertWordPieceTokenizer(lowercase=True)
    mpnet.train_from_iterator(
        corpus, vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "[UNK]"]
    )
    (root / "mpnet-vocab").mkdir()
    mpnet.save_model(str(root / "mpnet-vocab"))
    with (root / "mpnet-vocab" / "vocab.txt").open("a", encoding="utf-8") as file:
        file.write("<mask>\n")  # MPNet's vocabulary ends with its mask token
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        corpus, vocab_size=500, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(root))
    bpe_size = bpe.get_vocab_size()

    def folder(name: str, vocab: Path, **files: dict) -> Path:
        out = root / name
        out.mkdir()
        for source in [vocab / "vocab.txt"] if vocab.is_dir() else [root / "vocab.json", root / "merges.txt"]:
            shutil.copy(source, out / source.name)
        for stem, content in files.items():
            (out / f"{stem}.json").write_text(json.dumps(content), encoding="utf-8")
        return out

    bert, byte_level = root, root / "vocab.json"
    return {
        "bert-uncased": folder(  # all-MiniLM-L6-v2's files
            "bert-uncased", bert,
            tokenizer_config={"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                              "model_max_length": 512, "strip_accents": None, "tokenize_chinese_chars": True,
                              **BERT_SPECIALS},
            special_tokens_map={**BERT_SPECIALS, "mask_token": "[MASK]"},
        ),
        "bert-cased-added-legacy": folder(  # before transformers 4.34: added_tokens.json
            "bert-cased-added-legacy", bert,
            tokenizer_config={"tokenizer_class": "BertTokenizerFast", "do_lower_case": False},
            special_tokens_map={**BERT_SPECIALS, "additional_special_tokens": ["<special1>"]},
            added_tokens={"newword": bert_size, "Zorblax": bert_size + 1, "<special1>": bert_size + 2},
        ),
        "bert-added-decoder": folder(  # transformers 4.34+: added_tokens_decoder in tokenizer_config.json
            "bert-added-decoder", bert,
            tokenizer_config={
                "tokenizer_class": "BertTokenizer", "do_lower_case": True, "strip_accents": False,
                "tokenize_chinese_chars": False, "model_max_length": 128, **BERT_SPECIALS,
                "mask_token": "[MASK]", "additional_special_tokens": ["[ENT]"],
                "added_tokens_decoder": {
                    **{str(i): _special(t) for i, t in enumerate(BERT_VOCAB_SPECIALS)},
                    str(bert_size): _special("newword", normalized=True, special=False),
                    str(bert_size + 1): _special("[ENT]", rstrip=True),
                },
            },
        ),
        "distilbert-accents": folder(
            "distilbert-accents", bert,
            tokenizer_config={"tokenizer_class": "DistilBertTokenizer", "do_lower_case": False,
                              "strip_accents": True},
        ),
        "electra-config-json": folder("electra-config-json", bert, config={"model_type": "electra"}),
        "vocab-txt-only": folder("vocab-txt-only", bert),
        "mpnet": folder(  # all-mpnet-base-v2's files
            "mpnet", root / "mpnet-vocab",
            tokenizer_config={"tokenizer_class": "MPNetTokenizer", "do_lower_case": True,
                              "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
                              "unk_token": "[UNK]", "sep_token": "</s>", "pad_token": "<pad>",
                              "cls_token": "<s>", "mask_token": "<mask>"},
            special_tokens_map={**ROBERTA_SPECIALS, "unk_token": "[UNK]"},
        ),
        "roberta": folder(  # roberta-base's files
            "roberta", byte_level,
            tokenizer_config={"tokenizer_class": "RobertaTokenizer", "errors": "replace",
                              "model_max_length": 512, "add_prefix_space": False, "trim_offsets": True},
            special_tokens_map=ROBERTA_SPECIALS,
        ),
        "roberta-prefix-added": folder(
            "roberta-prefix-added", byte_level,
            tokenizer_config={
                "tokenizer_class": "RobertaTokenizerFast", "add_prefix_space": True, "trim_offsets": False,
                "mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": True,
                               "normalized": True, "rstrip": False, "single_word": False},
            },
            special_tokens_map={"additional_special_tokens": ["<special1>"]},
            added_tokens={"newword": bpe_size, "Zorblax": bpe_size + 1, "<special1>": bpe_size + 2},
        ),
        "roberta-config-json": folder("roberta-config-json", byte_level, config={"model_type": "roberta"}),
    }  # fmt: skip


def _reference(folder: Path):
    """transformers' tokenizer of the folder: AutoTokenizer's (BertTokenizer's for a folder that names no
    class, which AutoTokenizer cannot read)."""
    import transformers

    if folder.name == "vocab-txt-only":
        return transformers.BertTokenizer.from_pretrained(str(folder))
    return transformers.AutoTokenizer.from_pretrained(str(folder))


@pytest.fixture
def block(monkeypatch):
    """Make modules unimportable, as in an install without them."""

    def blocked(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)

    return blocked


LAYOUTS = [
    "bert-uncased",
    "bert-cased-added-legacy",
    "bert-added-decoder",
    "distilbert-accents",
    "electra-config-json",
    "vocab-txt-only",
    "mpnet",
    "roberta",
    "roberta-prefix-added",
    "roberta-config-json",
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_tokenizer_json_is_the_one_transformers_builds(layouts, layout):
    expected = json.loads(_reference(layouts[layout]).backend_tokenizer.to_str())
    assert json.loads(tokenizer_from_vocabulary(layouts[layout])[0].to_str()) == expected


@pytest.mark.parametrize("layout", LAYOUTS)
def test_without_transformers_token_ids_are_autotokenizers(layouts, block, layout):
    """Texts, pairs, truncation, the length limit and the special tokens, through sbert's tokenizer built with
    transformers blocked."""
    folder = layouts[layout]
    reference = _reference(folder)
    options = {"padding": True, "truncation": True, "max_length": MAX_LENGTH, "return_tensors": "np"}
    singles = reference(TEXTS, **options)
    pairs = reference([a for a, _ in PAIRS], [b for _, b in PAIRS], **options)
    whole = reference(TEXTS, padding=True, return_tensors="np")
    decoded = reference.decode(whole["input_ids"][-4])
    specials = {
        name: getattr(reference, name) for name in ("pad_token", "cls_token", "sep_token", "unk_token")
    }
    limit = reference.model_max_length

    block("transformers")
    tokenizer = TextTokenizer.from_folder(folder)
    if limit < 10**7:
        assert tokenizer.max_length == limit
    assert {name: getattr(tokenizer, name) for name in specials} == specials
    assert tokenizer.pad_token_id == reference.pad_token_id
    tokenizer.max_length = 10**6
    padded = tokenizer.encode_padded(TEXTS)
    np.testing.assert_array_equal(padded["input_ids"], whole["input_ids"])
    assert tokenizer.decode(padded["input_ids"][-4]) == decoded
    tokenizer.max_length = MAX_LENGTH
    for ours, theirs in [
        (tokenizer.encode_padded(TEXTS), singles),
        (tokenizer.pad_encodings(tokenizer.encode_pairs(PAIRS)), pairs),
    ]:
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key in theirs:
                np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_other_classes_keep_the_error_that_names_transformers(layouts, block, tmp_path):
    """A vocab.txt of a class this module does not build (its own word splitter) still needs transformers."""
    folder = shutil.copytree(layouts["vocab-txt-only"], tmp_path / "japanese")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertJapaneseTokenizer"}))
    assert tokenizer_from_vocabulary(folder) is None
    block("transformers")
    with pytest.raises(BackendUnavailableError, match="pip install transformers"):
        TextTokenizer.from_folder(folder)


def test_vocab_txt_model_embeds_as_sentence_transformers_without_transformers(
    default_model_path, block, tmp_path
):
    """The model level: the default model's sentence-transformers folder without its tokenizer.json
    (vocab.txt, tokenizer_config.json, special_tokens_map.json, a real 30k WordPiece vocabulary), loaded on
    sbert's default backend with transformers blocked, gives sentence-transformers' ids and embeddings."""
    from sentence_transformers import SentenceTransformer as Reference

    folder = shutil.copytree(
        default_model_path, tmp_path / "minilm", ignore=shutil.ignore_patterns("tokenizer.json")
    )
    reference = Reference(str(folder), device="cpu")
    options = {
        "padding": True,
        "truncation": True,
        "max_length": reference.max_seq_length,
        "return_tensors": "np",
    }
    expected_ids = reference.tokenizer(TEXTS, **options)["input_ids"]
    expected = reference.encode(TEXTS)

    import sbert

    block("transformers")
    model = sbert.SentenceTransformer(str(folder))
    assert model.backend == "onnx"
    assert model.max_seq_length == reference.max_seq_length
    np.testing.assert_array_equal(model.tokenizer.encode_padded(TEXTS)["input_ids"], expected_ids)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-5)
