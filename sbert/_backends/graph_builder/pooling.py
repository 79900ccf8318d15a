"""The pooling modes of ``sbert._modules.pooling`` as ONNX ops, with the same formulas (the first real token
of a left-padded row, the ``1e-9`` clamps, ``-inf`` for max over nothing, weights counted from the prompt's
start), and the prompt left out when Pooling has ``include_prompt: false`` (a ``prompt_length`` input)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .ops import PROMPT_INPUT, Graph

_FLOAT, _INT32, _INT64 = 1, 6, 7


def pool(graph: Graph, tokens: str, modes: Sequence[str], *, include_prompt: bool) -> str:
    """``(B, D * len(modes))``: the modes of ``tokens`` ``(B, T, D)`` under the attention mask,
    concatenated."""
    full = graph.input("attention_mask")
    mask = full if include_prompt else exclude_prompt(graph, full, graph.input(PROMPT_INPUT))
    pooled = [
        weightedmean(graph, tokens, mask, full)
        if mode == "weightedmean"
        else POOLERS[mode](graph, tokens, mask)
        for mode in modes
    ]
    return pooled[0] if len(pooled) == 1 else graph.op("Concat", *pooled, axis=-1)


def exclude_prompt(graph: Graph, mask: str, prompt_length: str) -> str:
    """The mask with the first ``prompt_length`` real tokens of each row zeroed."""
    starts = _first_real(graph, mask)  # (B, 1)
    positions = graph.op("Range", graph.const(0), _length(graph, mask), graph.const(1))  # (T,)
    in_prompt = graph.op("Less", positions, graph.op("Add", starts, prompt_length))
    return graph.op("Where", in_prompt, graph.const(0), mask, name="exclude_prompt")


def cls(graph: Graph, tokens: str, mask: str) -> str:
    return graph.op("GatherND", tokens, _first_real(graph, mask), batch_dims=1, name="cls_pooling")


def lasttoken(graph: Graph, tokens: str, mask: str) -> str:
    last = graph.op("ArgMax", _as(graph, mask, _INT32), axis=1, keepdims=1, select_last_index=1)
    pooled = graph.op("GatherND", tokens, last, batch_dims=1)
    any_token = graph.op("ReduceMax", _as(graph, mask, _FLOAT), axes=[1], keepdims=1)  # empty text -> 0
    return graph.op("Mul", pooled, any_token, name="lasttoken_pooling")


def max_pool(graph: Graph, tokens: str, mask: str) -> str:
    padding = graph.op("Equal", _unsqueeze(graph, mask), graph.const(0))
    masked = graph.op("Where", padding, graph.const(float("-inf"), "float32"), tokens)
    return graph.op("ReduceMax", masked, axes=[1], keepdims=0, name="max_pooling")


def mean(graph: Graph, tokens: str, mask: str) -> str:
    total, count = _masked_sum(graph, tokens, mask)
    return graph.op("Div", total, count, name="mean_pooling")


def mean_sqrt_len_tokens(graph: Graph, tokens: str, mask: str) -> str:
    total, count = _masked_sum(graph, tokens, mask)
    return graph.op("Div", total, graph.op("Sqrt", count), name="mean_sqrt_len_tokens_pooling")


def weightedmean(graph: Graph, tokens: str, mask: str, full: str | None = None) -> str:
    """Token i of a row weighs i + 1 counted from the row's first real token (of ``full``: the prompt's)."""
    start = _as(graph, _first_real(graph, full or mask), _FLOAT)  # (B, 1)
    one = graph.const(1)
    steps = graph.op("Range", one, graph.op("Add", _length(graph, mask), one), one)  # 1..T
    weights = graph.op("Mul", graph.op("Sub", _as(graph, steps, _FLOAT), start), _as(graph, mask, _FLOAT))
    return mean(graph, tokens, weights)


POOLERS: dict[str, Callable[[Graph, str, str], str]] = {
    "cls": cls,
    "max": max_pool,
    "mean": mean,
    "mean_sqrt_len_tokens": mean_sqrt_len_tokens,
    "weightedmean": weightedmean,
    "lasttoken": lasttoken,
}


def _masked_sum(graph: Graph, tokens: str, weights: str) -> tuple[str, str]:
    """``sum(tokens * w)`` over the sequence and ``max(sum(w), 1e-9)``, for a 0/1 mask or float weights."""
    column = _as(graph, _unsqueeze(graph, weights), _FLOAT)  # (B, T, 1)
    axis = graph.const([1])
    total = graph.op("ReduceSum", graph.op("Mul", tokens, column), axis, keepdims=0)
    count = graph.op("ReduceSum", column, axis, keepdims=0)
    return total, graph.op("Max", count, graph.const(1e-9, "float32"))


def _first_real(graph: Graph, mask: str) -> str:
    """``(B, 1)`` int64: each row's first real token (0 unless left-padded)."""
    return graph.op("ArgMax", _as(graph, mask, _INT32), axis=1, keepdims=1)


def _length(graph: Graph, mask: str) -> str:
    return graph.op("Squeeze", graph.sequence_length(mask), graph.const([0]))


def _unsqueeze(graph: Graph, x: str) -> str:
    return graph.op("Unsqueeze", x, graph.const([-1]))


def _as(graph: Graph, x: str, to: int) -> str:
    return graph.op("Cast", x, to=to)
