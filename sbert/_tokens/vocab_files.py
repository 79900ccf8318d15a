"""A fast tokenizer from an old folder's vocabulary files, with the `tokenizers` library only.

Older hub folders ship no tokenizer.json: BERT-family ones a ``vocab.txt`` (WordPiece), RoBERTa ones
``vocab.json`` + ``merges.txt`` (byte-level BPE), with their options and special tokens in
``tokenizer_config.json``, ``special_tokens_map.json`` and ``added_tokens.json``. transformers' tokenizer
classes build the Rust tokenizer from these; this module builds the same one for those classes where
transformers is not installed (where it is, transformers builds it: the reference). Other classes and layouts
(SentencePiece, remote code) are left to transformers: :func:`tokenizer_from_vocabulary` returns None.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .added_tokens import add_tokens, init_options
from .class_templates import apply_class_template, extra_special_tokens, special_tokens, template_of

# The templates (:mod:`.class_templates`) whose vocabulary this module reads, and the files it is in.
_VOCABULARY = {"bert": ("vocab.txt",), "mpnet": ("vocab.txt",), "roberta": ("vocab.json", "merges.txt")}


def tokenizer_from_vocabulary(folder: Path) -> tuple[Any, dict[str, str]] | None:
    """The ``tokenizers.Tokenizer`` transformers' ``AutoTokenizer`` builds from ``folder``'s vocabulary files,
    with its named special tokens (``{"pad_token": "[PAD]", ...}``, the class's defaults included); None where
    the folder's tokenizer is not one this module builds (its class, or its files). The model (vocabulary,
    merges) is built here, the rest as the class builds it: :mod:`.class_templates` (pipeline, special
    tokens) and :mod:`.added_tokens`."""
    config = _read_json(folder / "tokenizer_config.json")
    template = _template(folder, config)
    if template is None or not all((folder / name).is_file() for name in _VOCABULARY[template]):
        return None
    options = init_options(
        config, _read_json(folder / "special_tokens_map.json"), _read_json(folder / "added_tokens.json"), {}
    )
    named = special_tokens(template, options)
    tokenizer = _model(folder, template, str(named["unk_token"]))
    add_tokens(tokenizer, {**options, "extra_special_tokens": extra_special_tokens(template, options)}, named)
    apply_class_template(tokenizer, template, options)
    return tokenizer, {key: str(value) for key, value in named.items()}


def _template(folder: Path, config: dict[str, Any]) -> str | None:
    """The class template AutoTokenizer builds the folder's tokenizer with, where this module reads its
    vocabulary; a folder naming no class or model type is read as BERT's."""
    model_config = _read_json(folder / "config.json")
    template = template_of(config, model_config, None)
    if template is None and "auto_map" not in config and (folder / "vocab.txt").is_file():
        names = (
            config.get("tokenizer_class"),
            model_config.get("tokenizer_class"),
            model_config.get("model_type"),
        )
        template = "bert" if not any(isinstance(name, str) for name in names) else None
    return template if template in _VOCABULARY else None


def _model(folder: Path, template: str, unk_token: str) -> Any:
    """A tokenizer of the folder's vocabulary alone: byte-level BPE (vocab.json + merges.txt) or WordPiece
    (vocab.txt), with the class's model options."""
    from tokenizers import Tokenizer
    from tokenizers.models import BPE, WordPiece

    if template == "roberta":
        vocab, merges = BPE.read_file(str(folder / "vocab.json"), str(folder / "merges.txt"))
        model = BPE(
            vocab, merges, dropout=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False
        )
        return Tokenizer(model)
    return Tokenizer(WordPiece(WordPiece.read_file(str(folder / "vocab.txt")), unk_token=unk_token))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
