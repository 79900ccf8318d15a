"""The MultiVectorMask's rules without torch: the skiplist's token ids (shared with the torch module) and the
scoring mask of a numpy batch (the ONNX pipeline's), as :mod:`.multi_vector_mask` describes them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import log_once
from .._st_loggers import ST_MULTI_VECTOR_MASK


def skiplist_token_ids(tokenizer: Any, words: list[str]) -> list[int]:
    """The token ids of the skiplist's ``words``; words the vocabulary lacks (they would map to the unknown
    token, and drop every real ``[UNK]``) are left out and logged once in sentence-transformers' words (its
    ``warning_once``, a log record: no Python warning, which ``-W error`` would turn into a failure)."""
    unk_id, unk_token = tokenizer.unk_token_id, tokenizer.unk_token
    ids = {word: tokenizer.convert_tokens_to_ids(word) for word in words}
    missing = [w for w, i in ids.items() if unk_id is not None and i == unk_id and w != unk_token]
    if missing:
        log_once(
            f"Skiplist words {missing} are not single vocab tokens for this tokenizer "
            f"(``convert_tokens_to_ids`` returned ``unk_token_id={unk_id}``). Dropping them from the "
            "skiplist to avoid excluding real [UNK] document tokens from MaxSim scoring.",
            ST_MULTI_VECTOR_MASK,
        )
    return [i for w, i in ids.items() if w not in missing]


def scoring_mask(
    features: dict[str, Any],
    task: str | None,
    skiplist_ids: list[int],
    skiplist_tasks: list[str],
    keep_only_token_ids: list[int] | None,
) -> np.ndarray:
    """``(B, T)`` bool: the tokens MaxSim scores of a numpy batch (``input_ids``, ``attention_mask``,
    a query's ``query_expansion_positions``)."""
    input_ids = features["input_ids"]
    mask = np.asarray(features["attention_mask"]).astype(bool)
    expansion = features.get("query_expansion_positions")
    if task == "query" and expansion is not None:
        mask = mask | np.asarray(expansion).astype(bool)
    if (task or "document") in skiplist_tasks and skiplist_ids:
        mask = mask & ~np.isin(input_ids, skiplist_ids)
    if task != "query" and keep_only_token_ids:
        mask = mask & np.isin(input_ids, keep_only_token_ids)
    return mask
