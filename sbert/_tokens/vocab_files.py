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

# The tokenizer class a folder names (tokenizer_config.json, else config.json) -> how it is built.
# transformers 5 builds DistilBERT's, ELECTRA's and SqueezeBERT's as BERT's; "...Fast" names the same class.
_CLASSES = {
    "BertTokenizer": "bert",
    "DistilBertTokenizer": "bert",
    "ElectraTokenizer": "bert",
    "SqueezeBertTokenizer": "bert",
    "MPNetTokenizer": "mpnet",
    "RobertaTokenizer": "roberta",
}
# config.json's model_type -> the class AutoTokenizer picks when no tokenizer_class is named.
_MODEL_TYPES = {
    "bert": "bert",
    "distilbert": "bert",
    "electra": "bert",
    "squeezebert": "bert",
    "mpnet": "mpnet",
    "roberta": "roberta",
}
# The files each kind reads its vocabulary from.
_VOCABULARY = {"bert": ("vocab.txt",), "mpnet": ("vocab.txt",), "roberta": ("vocab.json", "merges.txt")}
# Each class's special tokens where the folder names none (its __init__ defaults).
_DEFAULTS = {
    "bert": {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    },
    "mpnet": {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "[UNK]",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    },
    "roberta": {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    },
}
# transformers' named special tokens, in the order it adds them to the vocabulary.
_NAMED = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def tokenizer_from_vocabulary(folder: Path) -> tuple[Any, dict[str, str]] | None:
    """The ``tokenizers.Tokenizer`` transformers' ``AutoTokenizer`` builds from ``folder``'s vocabulary files,
    with its named special tokens (``{"pad_token": "[PAD]", ...}``, the class's defaults included); None where
    the folder's tokenizer is not one this module builds (its class, or its files)."""
    config = _read_json(folder / "tokenizer_config.json")
    kind = _kind(folder, config)
    if kind is None or not all((folder / name).is_file() for name in _VOCABULARY[kind]):
        return None
    options = _init_options(folder, config)
    named = {**_DEFAULTS[kind], **{key: options[key] for key in _NAMED if options.get(key) is not None}}
    if kind == "mpnet":  # MPNet's tokens are AddedTokens; its mask token takes the space before it
        named = {key: _wrapped(value, lstrip=key == "mask_token") for key, value in named.items()}
    tokenizer = _model(folder, kind, options, named)
    _add_tokens(tokenizer, options, named)
    tokenizer.post_processor = _post_processor(tokenizer, kind, options, named)
    return tokenizer, {key: str(value) for key, value in named.items()}


def _kind(folder: Path, config: dict[str, Any]) -> str | None:
    """How the folder's tokenizer is built, as AutoTokenizer picks its class: tokenizer_config.json's
    tokenizer_class, else config.json's, else its model_type; a folder naming none is read as BERT's."""
    if "auto_map" in config:  # the folder's own code builds it
        return None
    model_config = _read_json(folder / "config.json")
    name = config.get("tokenizer_class") or model_config.get("tokenizer_class")
    if isinstance(name, str):
        return _CLASSES.get(name.removesuffix("Fast"))
    model_type = model_config.get("model_type")
    if isinstance(model_type, str):
        return _MODEL_TYPES.get(model_type)
    return "bert" if (folder / "vocab.txt").is_file() else None


def _init_options(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments transformers' ``from_pretrained`` passes the tokenizer class:
    tokenizer_config.json, with the older special_tokens_map.json and added_tokens.json where it lists no
    ``added_tokens_decoder``; serialized AddedTokens as ``tokenizers.AddedToken``."""
    from tokenizers import AddedToken

    options = {key: value for key, value in config.items() if key not in ("tokenizer_class", "init_inputs")}
    if "additional_special_tokens" in options and not options.get("extra_special_tokens"):
        options["extra_special_tokens"] = options.pop("additional_special_tokens")
    added: dict[int, Any] = {}
    if "added_tokens_decoder" in options:
        for index, token in options["added_tokens_decoder"].items():
            if isinstance(token, dict):
                added[int(index)] = AddedToken(**_token_fields(token))
    else:
        for key, value in _read_json(folder / "special_tokens_map.json").items():
            if isinstance(value, dict) and key != "extra_special_tokens":
                value = AddedToken(**{**_token_fields(value), "special": True})
            elif key == "extra_special_tokens" and isinstance(value, list):
                existing = list(options.get("extra_special_tokens") or [])
                for token in value:
                    token = (
                        AddedToken(**{**_token_fields(token), "special": True})
                        if isinstance(token, dict)
                        else token
                    )
                    if token not in existing:
                        existing.append(token)
                value = existing
            options[key] = value
        # what transformers counts as special here: the tokens' texts (a serialized AddedToken's: its dict's)
        special = {str(options[key]) for key in _NAMED if options.get(key)}
        special.update(str(token) for token in options.get("extra_special_tokens") or [])
        for content, index in _read_json(folder / "added_tokens.json").items():
            is_special = content in special
            added[index] = AddedToken(content, normalized=not is_special, special=is_special)
    options = {key: _as_token(value) for key, value in options.items() if key != "added_tokens_decoder"}
    by_content = {str(token): token for token in added.values()}
    for key in _NAMED:  # a named token takes the flags its added_tokens_decoder entry gives it
        if options.get(key) is not None and by_content:
            options[key] = by_content.get(str(options[key]), options[key])
    if "additional_special_tokens" in options and "extra_special_tokens" not in options:
        options["extra_special_tokens"] = options.pop("additional_special_tokens")
    options["added_tokens_decoder"] = added
    return options


def _model(folder: Path, kind: str, options: dict[str, Any], named: dict[str, Any]) -> Any:
    """The tokenizer with its model, normalizer, pre-tokenizer and decoder, as the class's ``__init__``."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE, WordPiece

    if kind == "roberta":
        vocab, merges = BPE.read_file(str(folder / "vocab.json"), str(folder / "merges.txt"))
        tokenizer = Tokenizer(
            BPE(
                vocab,
                merges,
                dropout=None,
                continuing_subword_prefix="",
                end_of_word_suffix="",
                fuse_unk=False,
            )
        )
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(
            add_prefix_space=options.get("add_prefix_space", False)
        )
        tokenizer.decoder = decoders.ByteLevel()
        return tokenizer
    tokenizer = Tokenizer(
        WordPiece(WordPiece.read_file(str(folder / "vocab.txt")), unk_token=str(named["unk_token"]))
    )
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=options.get("tokenize_chinese_chars", True),
        strip_accents=options.get("strip_accents"),
        lowercase=options.get("do_lower_case", True),
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def _add_tokens(tokenizer: Any, options: dict[str, Any], named: dict[str, Any]) -> None:
    """The added and special tokens, in transformers' order (``TokenizersBackend.__init__``): the folder's
    added tokens by id, then each special token not among them, named ones first."""
    from tokenizers import AddedToken

    model_specific = [
        value
        for key, value in options.items()
        if key.endswith("_token") and key not in _NAMED and isinstance(value, (str, AddedToken))
    ]
    extra = options.get("extra_special_tokens")
    if isinstance(extra, dict):  # named extra tokens: model-specific ones
        model_specific += [value for value in extra.values() if isinstance(value, (str, AddedToken))]
        extra = []
    to_add = [token for _, token in sorted(options["added_tokens_decoder"].items())]
    contents = [str(token) for token in to_add]
    specials = [*[named[key] for key in _NAMED if key in named], *model_specific]
    for token in [*specials, *(extra or [])]:
        if token is not None and str(token) not in contents and token not in to_add:
            to_add.append(token)
    named_contents = {str(token) for token in specials if token}
    tokens = []
    for token in to_add:
        if isinstance(token, str):
            token = AddedToken(token, special=True)
        elif not token.special and str(token) in named_contents:
            token.special = True
        tokens.append(token)
    if tokens:
        tokenizer.add_tokens(tokens)


def _post_processor(tokenizer: Any, kind: str, options: dict[str, Any], named: dict[str, Any]) -> Any:
    """``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]`` (BERT); ``<s> A </s>`` / ``<s> A </s></s> B </s>``
    (MPNet, RoBERTa)."""
    from tokenizers import processors

    cls, sep = str(named["cls_token"]), str(named["sep_token"])
    cls_id, sep_id = tokenizer.token_to_id(cls), tokenizer.token_to_id(sep)
    if kind == "bert":
        return processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, cls_id), (sep, sep_id)],
        )
    if kind == "mpnet":
        return processors.RobertaProcessing((sep, sep_id), (cls, cls_id), True, False)
    return processors.RobertaProcessing(
        (sep, sep_id),
        (cls, cls_id),
        options.get("trim_offsets", True),
        options.get("add_prefix_space", False),
    )


def _wrapped(token: Any, *, lstrip: bool) -> Any:
    from tokenizers import AddedToken

    return AddedToken(token, lstrip=lstrip, rstrip=False) if isinstance(token, str) else token


def _as_token(value: Any) -> Any:
    """A serialized AddedToken (``{"__type": "AddedToken", ...}``, also in lists) as one."""
    from tokenizers import AddedToken

    if isinstance(value, dict) and value.get("__type") == "AddedToken":
        return AddedToken(**_token_fields(value))
    if isinstance(value, list):
        return [_as_token(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_token(item) for key, item in value.items()}
    return value


def _token_fields(token: dict[str, Any]) -> dict[str, Any]:
    fields = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")
    return {key: token[key] for key in fields if key in token}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
