"""Tokenizer file layouts of older hub folders (no tokenizer.json): sbert's token ids are those of
transformers' AutoTokenizer (sentence-transformers' tokenizer), which converts them; where the packages that
conversion needs are missing, the error names the files, the packages and the other fix (a saved
tokenizer.json)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SENTENCES, WORDS

from sbert import BackendUnavailableError
from sbert._tokens.tokenizer import TextTokenizer

TEXTS = [
    *SENTENCES,
    "café naïve RÉSUMÉ über straße ﬁ ①",
    "東京は日本の首都です。 emoji 😀🎉",
    "ctrl\x00char\x07s\tand\u200bzero\u00a0nbsp\r\nline",
    "  spaced   out  ",
    "newword and Zorblax <special1> [ENT]x",
    " ".join(["a long text with many words"] * 30),
]
MAX_LENGTH = 24


def _corpus() -> list[str]:
    lines = (DATA / "stsb" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:300]
    return [part for line in lines for part in line.split("\t")[:2]] + TEXTS[:-1]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """name -> a tokenizer folder as an older hub model ships it: its vocabulary files, tokenizer_config.json,
    no tokenizer.json."""
    import sentencepiece
    import transformers
    from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer

    root = tmp_path_factory.mktemp("layouts")
    corpus = _corpus()
    (root / "corpus.txt").write_text("\n".join(corpus), encoding="utf-8")

    def spm(name: str, **options) -> Path:
        prefix = root / name
        sentencepiece.SentencePieceTrainer.train(
            input=str(root / "corpus.txt"), model_prefix=str(prefix), vocab_size=300,
            character_coverage=1.0, minloglevel=2, **options,
        )  # fmt: skip
        return prefix.with_suffix(".model")

    def folder(name: str, cls: str, vocab: dict[str, Path], config: dict | None = None, added=False) -> Path:
        """Let transformers read the vocabulary files, save its tokenizer_config.json, keep the files."""
        out = root / name
        out.mkdir()
        for filename, source in vocab.items():
            shutil.copy(source, out / filename)
        if config:
            (out / "tokenizer_config.json").write_text(json.dumps(config))
        tokenizer = getattr(transformers, cls).from_pretrained(str(out))
        if added:  # as a fine-tune adds words: added_tokens.json and tokenizer_config's decoder
            tokenizer.add_tokens(["newword", "Zorblax", "東京は"])
            tokenizer.add_tokens(["<special1>", "[ENT]"], special_tokens=True)
        tokenizer.save_pretrained(str(out))
        (out / "tokenizer.json").unlink()
        if added:
            ids = {token.content: i for i, token in tokenizer.added_tokens_decoder.items() if i >= 5}
            (out / "added_tokens.json").write_text(json.dumps(ids))
        return out

    unigram = spm("unigram")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        corpus, vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(root))
    pieces = BertWordPieceTokenizer(lowercase=False)
    pieces.train_from_iterator(
        corpus + WORDS, vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    )
    pieces.save_model(str(root))
    byte_level = {"vocab.json": root / "vocab.json", "merges.txt": root / "merges.txt"}
    return {
        "xlm-roberta": folder("xlm-roberta", "XLMRobertaTokenizer", {"sentencepiece.bpe.model": unigram}),
        "xlm-roberta-bpe": folder(
            "xlm-roberta-bpe",
            "XLMRobertaTokenizer",
            {"sentencepiece.bpe.model": spm("bpe", model_type="bpe")},
        ),
        "camembert": folder("camembert", "CamembertTokenizer", {"sentencepiece.bpe.model": unigram}),
        "albert": folder(
            "albert",
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
        ),  # fmt: skip
        "t5": folder(
            "t5",
            "T5Tokenizer",
            {"spiece.model": spm("t5", pad_id=0, eos_id=1, unk_id=2, bos_id=-1)},
            {"extra_ids": 10},
        ),
        "roberta": folder("roberta", "RobertaTokenizer", byte_level),
        "roberta-added": folder("roberta-added", "RobertaTokenizer", byte_level, added=True),
        "mpnet": folder("mpnet", "MPNetTokenizer", {"vocab.txt": root / "vocab.txt"}),
        "bert-cased-added": folder(
            "bert-cased-added",
            "BertTokenizer",
            {"vocab.txt": root / "vocab.txt"},
            {"do_lower_case": False},
            True,
        ),
        "xlm-roberta-added": folder(
            "xlm-roberta-added", "XLMRobertaTokenizer", {"sentencepiece.bpe.model": unigram}, added=True
        ),
    }


LAYOUTS = [
    "xlm-roberta",
    "xlm-roberta-bpe",
    "camembert",
    "albert",
    "t5",
    "roberta",
    "roberta-added",
    "mpnet",
    "bert-cased-added",
    "xlm-roberta-added",
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_token_ids_are_autotokenizers_without_tokenizer_json(layouts, layout):
    from transformers import AutoTokenizer

    folder = layouts[layout]
    assert not (folder / "tokenizer.json").exists()
    expected = AutoTokenizer.from_pretrained(str(folder))(
        TEXTS, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="np"
    )
    tokenizer = TextTokenizer.from_folder(folder)
    tokenizer.max_length = MAX_LENGTH
    ids = tokenizer.encode_padded(TEXTS)
    np.testing.assert_array_equal(ids["input_ids"], expected["input_ids"])
    np.testing.assert_array_equal(ids["attention_mask"], expected["attention_mask"])
    assert tokenizer.decode(ids["input_ids"][4]) == AutoTokenizer.from_pretrained(str(folder)).decode(
        expected["input_ids"][4]
    )


@pytest.fixture
def block(monkeypatch):
    """Make modules unimportable, as in an install without them."""

    def blocked(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)

    return blocked


@pytest.mark.parametrize(
    ("layout", "vocabulary"),
    [
        ("xlm-roberta", "sentencepiece.bpe.model"),
        ("camembert", "sentencepiece.bpe.model"),
        ("t5", "spiece.model"),
    ],
)
def test_without_transformers_the_error_names_the_files_and_both_fixes(layouts, block, layout, vocabulary):
    """SentencePiece layouts (the BERT-family vocab.txt and RoBERTa vocab.json + merges.txt ones sbert builds
    without transformers: test_vocab_files_s38.py)."""
    block("transformers")
    with pytest.raises(BackendUnavailableError) as excinfo:
        TextTokenizer.from_folder(layouts[layout])
    message = str(excinfo.value)
    assert "tokenizer.json" in message and vocabulary in message and str(layouts[layout]) in message
    assert "pip install transformers" in message
    assert "save_pretrained" in message  # the other fix: write the tokenizer.json once, where transformers is


@pytest.mark.parametrize("missing", ["sentencepiece", "google.protobuf"])
def test_sentencepiece_files_without_sentencepiece_name_the_packages(layouts, block, missing):
    block(missing)  # transformers' converter would fall back to tiktoken and complain about that instead
    with pytest.raises(BackendUnavailableError) as excinfo:
        TextTokenizer.from_folder(layouts["albert"])
    message = str(excinfo.value)
    assert "spiece.model" in message and "pip install" in message
    assert "sentencepiece" in message and "protobuf" in message and "tiktoken" not in message


def test_sentencepiece_only_model_embeds_as_sentence_transformers(layouts, tmp_path):
    """The model level: a sentence-transformers XLM-R folder with sentencepiece.bpe.model and no
    tokenizer.json gives its ids and embeddings on sbert's default (ONNX) backend."""
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import modules as models

    import sbert

    encoder = shutil.copytree(layouts["xlm-roberta"], tmp_path / "encoder")
    vocab = len(transformers.AutoTokenizer.from_pretrained(str(encoder)))
    config = transformers.XLMRobertaConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=72, initializer_range=0.2, pad_token_id=1, type_vocab_size=1,
    )  # fmt: skip
    torch.manual_seed(3)
    transformers.XLMRobertaModel(config).eval().save_pretrained(encoder)
    reference = Reference(
        modules=[models.Transformer(str(encoder), max_seq_length=MAX_LENGTH), models.Pooling(32)]
    )
    reference.save(str(tmp_path / "st"))
    (tmp_path / "st" / "tokenizer.json").unlink()
    shutil.copy(encoder / "sentencepiece.bpe.model", tmp_path / "st")

    model = sbert.SentenceTransformer(str(tmp_path / "st"))
    assert model.backend == "onnx"
    np.testing.assert_array_equal(
        model.tokenize(TEXTS)["input_ids"].numpy(), reference.tokenize(TEXTS)["input_ids"].numpy()
    )
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=1e-5)
