"""Tiny tokenizer vocabularies trained offline on STSb sentences, for tests that build tokenizer folders of
each class as transformers saves them: a SentencePiece trainer, a byte-level BPE (vocab.json +
merges.txt) and a WordPiece vocab.txt, shared by the tokenizer-class test modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from conftest import DATA, WORDS

BYTE_LEVEL_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<|endoftext|>"]


def train_vocabularies(
    root: Path, texts: Sequence[str], wordpiece_specials: Sequence[str]
) -> tuple[Callable[..., Path], dict[str, Path]]:
    """``spm(name, vocab_size=300, **options)``, which trains a SentencePiece model and gives its path, and
    the byte-level BPE's and WordPiece's files (``vocab.json``, ``merges.txt``, ``vocab.txt``) in ``root``,
    all trained on 298 STSb lines and ``texts``."""
    import sentencepiece
    from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer

    lines = (DATA / "stsb" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:300]
    corpus = [part for line in lines for part in line.split("\t")[:2]] + list(texts)
    (root / "corpus.txt").write_text("\n".join(corpus), encoding="utf-8")

    def spm(name: str, vocab_size: int = 300, **options) -> Path:
        sentencepiece.SentencePieceTrainer.train(
            input=str(root / "corpus.txt"), model_prefix=str(root / name), vocab_size=vocab_size,
            character_coverage=1.0, minloglevel=2, **options,
        )  # fmt: skip
        return root / f"{name}.model"

    byte_level = ByteLevelBPETokenizer()
    byte_level.train_from_iterator(corpus, vocab_size=400, special_tokens=BYTE_LEVEL_SPECIALS)
    byte_level.save_model(str(root))
    pieces = BertWordPieceTokenizer(lowercase=False)
    pieces.train_from_iterator(corpus + WORDS, vocab_size=400, special_tokens=list(wordpiece_specials))
    pieces.save_model(str(root))
    files = {name: root / name for name in ("vocab.json", "merges.txt", "vocab.txt")}
    return spm, files
