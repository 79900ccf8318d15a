"""The per-task tokenization of a MultiVectorEncoder's Transformer, as sentence-transformers 6's Transformer
does it: ``query_length`` / ``document_length`` cap queries and documents, and ``query_expansion`` (ColBERT's
``[MASK]`` padding) widens every query to its ``length``, marking the added positions in
``query_expansion_positions`` for the MultiVectorMask to score.

The three settings live in the Transformer's ``sentence_bert_config.json`` (written only when set) and as
attributes of the Transformer module (``model[0].query_length = 32``, as in sentence-transformers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError, ModelLoadError, log_once
from .._format.layout import read_json, transformer_config_path
from .._st_loggers import ST_TRANSFORMER

TASK_SETTINGS = ("query_length", "document_length", "query_expansion")
_EXPANSION_KEYS = ("strategy", "attend", "token", "length")
_STRATEGIES = ("fixed", "min")


def check_query_expansion(value: Any) -> dict[str, Any] | None:
    """``query_expansion`` with its defaults filled in (``attend`` False, ``token`` the mask token)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError(
            f"query_expansion must be None or a dict with keys {list(_EXPANSION_KEYS)}, got {value!r}; "
            'e.g. {"strategy": "fixed", "length": 32}.'
        )
    unknown = set(value) - set(_EXPANSION_KEYS)
    if unknown:  # sentence-transformers' wording, which callers match on
        raise InputError(
            f"query_expansion has unknown keys {sorted(unknown)!r}. Valid keys: {sorted(_EXPANSION_KEYS)!r}."
        )
    if value.get("strategy") not in _STRATEGIES:
        raise InputError(
            f"query_expansion['strategy'] must be one of {_STRATEGIES}, got {value.get('strategy')!r}."
        )
    if not isinstance(value.get("attend", False), bool):
        raise InputError(f"query_expansion['attend'] must be True or False, got {value['attend']!r}.")
    length = value.get("length")
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise InputError(
            f"query_expansion strategy={value['strategy']!r} requires 'length': a positive int, the query "
            f"width after expansion (ColBERT uses 32), got {length!r}."
        )
    return {
        "strategy": value["strategy"],
        "attend": value.get("attend", False),
        "token": value.get("token"),
        "length": length,
    }


def check_expansion_token(expansion: dict[str, Any] | None, tokenizer: Any) -> None:
    """Refuse an expansion whose token the tokenizer lacks: the expanded positions would silently keep
    their padding (no mask / end-of-sequence token) or become the unknown token (a token outside the
    vocabulary)."""
    if expansion is None or tokenizer is None:
        return
    token = expansion["token"]
    if token is None:
        if tokenizer.mask_token_id is None and getattr(tokenizer, "eos_token_id", None) is None:
            raise InputError(
                f"query_expansion strategy={expansion['strategy']!r} with token=None expands with the "
                "tokenizer's mask_token, else its eos_token, but this tokenizer has neither; name the "
                "token: query_expansion={..., 'token': '<your token>'}."
            )
        return
    token_id = tokenizer.convert_tokens_to_ids(token)
    if token_id is None or (token_id == tokenizer.unk_token_id and token != tokenizer.unk_token):
        raise InputError(
            f"query_expansion token={token!r} isn't in this tokenizer's vocabulary (it reads as the unknown "
            "token); use one of its tokens, e.g. '[MASK]' for BERT-family encoders."
        )


def check_task_settings(query_length: Any, document_length: Any, query_expansion: Any) -> dict[str, Any]:
    """The three settings, checked (``Transformer(query_length=..., ...)`` or a saved config)."""
    for key, value in (("query_length", query_length), ("document_length", document_length)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise InputError(f"{key} must be a positive int or None, got {value!r}.")
    expansion = check_query_expansion(query_expansion)
    if expansion is not None and query_length is not None and query_length < expansion["length"]:
        raise InputError(
            f"query_length={query_length} is smaller than query_expansion['length']={expansion['length']}, "
            "the width every query is expanded to; drop query_length or raise it to at least that length."
        )
    return {"query_length": query_length, "document_length": document_length, "query_expansion": expansion}


def expansion_for(transformer: Any, value: Any) -> dict[str, Any] | None:
    """``value`` checked for ``transformer.query_expansion = value``: its form, its token in the
    transformer's tokenizer, and its width against the transformer's ``query_length``."""
    query_length = getattr(transformer, "query_length", None)
    expansion = check_task_settings(query_length, None, value)["query_expansion"]
    check_expansion_token(expansion, getattr(transformer, "tokenizer", None))
    return expansion


def read_task_settings(folder: Path) -> dict[str, Any]:
    """The three settings a Transformer's folder holds (absent ones are ``None``)."""
    path = transformer_config_path(folder)
    config = read_json(path) if path is not None else {}
    try:
        return check_task_settings(*(config.get(key) for key in TASK_SETTINGS))
    except InputError as e:
        raise ModelLoadError(f"{path}: {e}") from e


def set_task_settings(transformer: Any, settings: dict[str, Any]) -> None:
    for key in TASK_SETTINGS:
        setattr(transformer, key, settings.get(key))


def write_task_settings(transformer: Any, folder: Path) -> None:
    """Add the settings that are set to the Transformer's saved ``sentence_bert_config.json``."""
    settings = {key: getattr(transformer, key, None) for key in TASK_SETTINGS}
    settings = {key: value for key, value in settings.items() if value is not None}
    path = transformer_config_path(folder)
    if not settings or path is None:
        return
    settings["query_expansion"] = check_query_expansion(settings.get("query_expansion"))
    config = {**read_json(path), **{k: v for k, v in settings.items() if v is not None}}
    path.write_text(json.dumps(config, indent=2))


def preprocess(
    transformer: Any,
    texts: list[str],
    prompt: str | None,
    task: str | None,
    processing_kwargs: dict[str, Any] | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    """The Transformer's features of ``texts`` for ``task`` (``"query"``, ``"document"`` or ``None``);
    ``processing_kwargs`` override the module's tokenizer options, except the fixed width of an expansion;
    ``max_length`` (a trainer's) replaces the task's length."""
    expansion = (
        check_query_expansion(getattr(transformer, "query_expansion", None)) if task == "query" else None
    )
    length = getattr(transformer, f"{task}_length", None) if task in ("query", "document") else None
    length = max_length if max_length is not None else length
    processing = dict(processing_kwargs or {})
    text_options = dict(processing.get("text") or {})
    # the text options this call tokenizes with: the module's, then the call's over them
    text_keys = {*((getattr(transformer, "processing_kwargs", None) or {}).get("text") or {}), *text_options}
    if expansion is not None:
        _note_overridden_lengths(expansion, text_keys, max_length, length)
    if expansion is not None and expansion["strategy"] == "fixed":
        processing["text"] = {**text_options, "max_length": expansion["length"], "padding": "max_length"}
        length = None
    elif expansion is not None and length is not None and "max_length" not in text_keys:
        length = max(length, expansion["length"])
    features = transformer.preprocess(  # the task is a chat template's variable
        texts, prompt=prompt, processing_kwargs=processing or None, max_length=length, task=task
    )
    if expansion is not None:
        _expand(features, expansion, transformer.tokenizer)
    return features


def _note_overridden_lengths(
    expansion: dict[str, Any], text_keys: set[str], max_length: int | None, length: int | None
) -> None:
    """sentence-transformers' notices (its words and logger, once per process) where a query's expansion
    overrides a length asked for: a trainer's ``max_length`` or the call's text ``padding`` / ``max_length``
    under a "fixed" width, a ``length`` under a "min" expansion's floor."""
    width = expansion["length"]
    if expansion["strategy"] == "fixed":
        if max_length is not None and max_length != width:
            log_once(
                f"query_expansion fixes queries to {width} tokens, so the max_length={max_length} override "
                "is ignored for query batches.",
                ST_TRANSFORMER,
            )
        if text_keys & {"padding", "max_length"}:
            log_once(
                "processing_kwargs overrides the text padding or max_length, but query expansion requires a "
                "fixed width: re-applying padding='max_length' with the expansion length for query batches.",
                ST_TRANSFORMER,
            )
    elif length is not None and length < width and "max_length" not in text_keys:
        log_once(
            f"query_expansion guarantees at least {width} query tokens, so the max_length={length} override "
            "is raised to it for query batches.",
            ST_TRANSFORMER,
        )


def _expand(features: dict[str, Any], expansion: dict[str, Any], tokenizer: Any) -> None:
    """Widen the batch to the expansion length and put the expansion token on its padding there (torch
    tensors on the CPU, as the Transformer gives them, or numpy arrays, as the ONNX pipeline's)."""
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in features]
    arrays = {key: np.asarray(features[key]) for key in keys}
    floor = expansion["length"]
    missing = floor - arrays["input_ids"].shape[1]
    if missing > 0:  # "min": the batch's longest query is shorter than the floor
        arrays = {key: np.pad(value, ((0, 0), (0, missing))) for key, value in arrays.items()}
    ids, mask = arrays["input_ids"], arrays["attention_mask"]
    positions = (mask == 0) & (np.arange(ids.shape[1]) < floor)
    if expansion["strategy"] == "fixed" and not positions.any(axis=-1).all():
        # a query with no expansion slot left filled the fixed width: what was beyond it is cut, silently
        # but for this notice (sentence-transformers' words and logger, once per process as its own)
        log_once(
            f"One or more queries filled the entire query_expansion length of {floor} tokens: any content "
            "beyond it was truncated, as this model always processes queries at exactly this width.",
            ST_TRANSFORMER,
        )
    if expansion["token"] is not None:
        token_id = tokenizer.convert_tokens_to_ids(expansion["token"])
    else:  # the mask token of encoders, the end-of-sequence token of decoders
        token_id = tokenizer.mask_token_id
        if token_id is None:
            token_id = getattr(tokenizer, "eos_token_id", None)
    if token_id is not None:
        arrays["input_ids"] = np.where(positions, token_id, ids)
    if expansion["attend"]:
        arrays["attention_mask"] = np.where(positions, 1, mask)
    arrays["query_expansion_positions"] = positions
    as_tensors = not isinstance(features["input_ids"], np.ndarray)
    if as_tensors:
        import torch

        arrays = {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in arrays.items()}
    features.update(arrays)
