"""Optimizers and learning-rate schedules by Hugging Face's names, with transformers' formulas.

``schedule_factor`` is the multiplier of the peak learning rate after ``step`` optimizer steps, as
``transformers.get_scheduler`` computes it for the same type, warm-up and total; the trainer wraps it in a
``LambdaLR`` (whose state a checkpoint saves).
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from .._errors import InputError
from .arguments import SCHEDULE_OPTIONS, schedule_options


def schedule_factor(kind: str, step: int, warmup: int, total: int, num_cycles: float | None = None) -> float:
    """The learning-rate multiplier of schedule ``kind`` at ``step`` (transformers' ``get_scheduler``);
    ``num_cycles``: the cosine schedules' (default: transformers')."""
    if kind == "constant":  # transformers' "constant" ignores the warm-up
        return 1.0
    if step < warmup:
        return step / max(1.0, warmup)
    if kind == "constant_with_warmup":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return max(0.0, (total - step) / max(1, total - warmup))
    cycles = SCHEDULE_OPTIONS.get(kind, {}).get("num_cycles", 0.0) if num_cycles is None else num_cycles
    if kind == "cosine":  # half a cosine wave, from 1 to 0, by default
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * cycles * 2.0 * progress)))
    if kind == "cosine_with_restarts":  # hard restarts: transformers' default num_cycles=1
        if progress >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((cycles * progress) % 1.0))))
    raise InputError(f"Unknown lr_scheduler_type {kind!r}.")


def scheduler(
    optimizer: torch.optim.Optimizer,
    kind: str,
    warmup: int,
    total: int,
    options: dict[str, Any] | None = None,
) -> torch.optim.lr_scheduler.LambdaLR:
    chosen = schedule_options(kind, options)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule_factor(kind, step, warmup, total, **chosen)
    )


def optimizer(
    name: str,
    groups: list[dict[str, Any]],
    learning_rate: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    options: dict[str, str] | None = None,
) -> torch.optim.Optimizer:
    """The optimizer ``name`` (Hugging Face's ``optim`` names) over the parameter ``groups``, with
    Hugging Face's settings for it (AdamW's ``betas`` and ``eps`` from the training arguments); ``options``
    (``optim_args``) as Hugging Face's trainer reads them: SGD's, RMSprop's and Adagrad's, the others'
    none."""
    if name in _TORCH_OPTIMIZERS:
        cls, numbers, flags = _TORCH_OPTIMIZERS[name]
        return cls(groups, lr=learning_rate, **_options(options or {}, numbers, flags))
    if name == "adafactor":  # transformers' own, as its trainer sets it up for a fixed learning rate
        from transformers.optimization import Adafactor

        return Adafactor(groups, lr=learning_rate, scale_parameter=False, relative_step=False)
    adam = {"lr": learning_rate, "betas": betas, "eps": eps}
    if name == "adamw_torch_fused":
        try:  # the fused kernel (CPU and GPU in recent torch) is the fastest; the same maths otherwise
            return torch.optim.AdamW(groups, fused=True, **adam)
        except (RuntimeError, ValueError, TypeError):
            pass
    return torch.optim.AdamW(groups, foreach=True, **adam)


# torch optimizers Hugging Face's trainer builds with only ``lr`` plus these ``optim_args`` (numbers, flags)
_TORCH_OPTIMIZERS: dict[str, tuple[type, tuple[str, ...], tuple[str, ...]]] = {
    "sgd": (torch.optim.SGD, ("momentum", "dampening", "weight_decay"), ("nesterov",)),
    "rmsprop": (torch.optim.RMSprop, ("momentum", "alpha", "eps", "weight_decay"), ("centered",)),
    "adagrad": (torch.optim.Adagrad, ("lr_decay", "weight_decay", "eps"), ()),
}


def _options(options: dict[str, str], numbers: tuple[str, ...], flags: tuple[str, ...]) -> dict[str, Any]:
    """An optimizer's keywords among ``optim_args`` (the others ignored, as by Hugging Face's trainer)."""
    chosen: dict[str, Any] = {}
    for key in numbers:
        if key in options:
            try:
                chosen[key] = float(options[key])
            except ValueError:
                raise InputError(f"optim_args: {key} must be a number, got {options[key]!r}.") from None
    for key in flags:
        if key in options:
            chosen[key] = options[key].lower() in ("true", "1", "yes")
    return chosen


def sentence_transformers_names(name: str) -> list[str]:
    """A parameter's name (``model.0.model.encoder...``, as sentence-transformers 6 spells it) and its older
    spelling (``model.0.auto_model.encoder...``: the Transformer's encoder before 6), for
    ``learning_rate_mapping``."""
    return list(dict.fromkeys([name, name.replace(".model.", ".auto_model.", 1)]))


def learning_rates(
    params: list[tuple[list[str], torch.nn.Parameter]], mapping: dict[str, float] | None, default: float
) -> list[float]:
    """Each parameter's learning rate: that of the last ``mapping`` pattern matching one of its names
    (``re.search``), else ``default``. A pattern that matches no parameter is an InputError."""
    rates = [default] * len(params)
    for pattern, rate in (mapping or {}).items():
        matched = [i for i, (names, _) in enumerate(params) if any(re.search(pattern, n) for n in names)]
        if not matched:
            example = repr(params[0][0][0]) if params else "(no trainable parameter)"
            raise InputError(
                f"learning_rate_mapping: no parameter matches {pattern!r}; names look like {example} "
                "(model.named_parameters(), prefixed 'model.')."
            )
        for i in matched:
            rates[i] = rate
    return rates
