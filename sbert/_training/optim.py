"""Optimizers and learning-rate schedules by Hugging Face's names, with transformers' formulas.

``schedule_factor`` is the multiplier of the peak learning rate after ``step`` optimizer steps, as
``transformers.get_scheduler`` computes it for the same type, warm-up and total; the trainer wraps it in a
``LambdaLR`` (whose state a checkpoint saves).
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import torch

from .._errors import BackendUnavailableError, InputError, warn_at_caller
from .arguments import schedule_options


def schedule_factor(kind: str, step: int, warmup: int, total: int, **options: Any) -> float:
    """The learning-rate multiplier of schedule ``kind`` at ``step`` (transformers' ``get_scheduler``);
    ``options``: the schedule's, as ``schedule_options`` gives them (all of them: its defaults filled in)."""
    if kind == "constant":  # transformers' "constant" ignores the warm-up
        return 1.0
    if kind == "warmup_stable_decay":  # its warm-up starts at min_lr_ratio, and may be shaped
        return _warmup_stable_decay(step, warmup, total, **options)
    if kind == "cosine_warmup_with_min_lr":  # its warm-up and decay run a step ahead of the others'
        return _cosine_warmup_with_min_lr(step, warmup, total, **options)
    if step < warmup:
        return step / max(1.0, warmup)
    if kind == "constant_with_warmup":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return max(0.0, (total - step) / max(1, total - warmup))
    if kind in ("cosine", "cosine_with_min_lr"):  # half a cosine wave, from 1 to 0 (or min_lr_rate)
        factor = 0.5 * (1.0 + math.cos(math.pi * float(options["num_cycles"]) * 2.0 * progress))
        rate = options.get("min_lr_rate", 0.0)
        return max(0.0, factor * (1 - rate) + rate)
    if kind == "cosine_with_restarts":  # hard restarts: transformers' default num_cycles=1
        if progress >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(options["num_cycles"]) * progress) % 1.0))))
    if kind == "polynomial":  # from the peak to lr_end, an absolute rate
        lr_init, lr_end = options["lr_init"], options["lr_end"]
        if step > total:
            return lr_end / lr_init
        remaining = 1 - (step - warmup) / (total - warmup)
        return ((lr_init - lr_end) * remaining ** options["power"] + lr_end) / lr_init
    if kind == "inverse_sqrt":
        timescale = options["timescale"]
        if timescale is None:
            timescale = warmup or 10_000
        return 1.0 / math.sqrt((step + timescale - warmup) / timescale)
    raise InputError(f"Unknown lr_scheduler_type {kind!r}.")


def _warmup_stable_decay(
    step: int,
    warmup: int,
    total: int,
    *,
    num_decay_steps: int,
    num_stable_steps: int | None,
    warmup_type: str,
    decay_type: str,
    min_lr_ratio: float,
    num_cycles: float,
) -> float:
    """transformers' ``get_wsd_schedule``: warm-up, a stable peak, a decay of ``num_decay_steps`` (the stable
    steps: the rest of ``total``, unless given), then ``min_lr_ratio``."""
    stable = total - warmup - num_decay_steps if num_stable_steps is None else num_stable_steps
    if step < warmup:
        progress = step / max(1, warmup)
        shape = {"linear": progress, "cosine": 0.5 * (1.0 - math.cos(math.pi * progress))}
        factor = shape.get(warmup_type, 1.0 - math.sqrt(1.0 - progress))
        return max(0.0, factor * (1.0 - min_lr_ratio) + min_lr_ratio)
    if step < warmup + stable:
        return 1.0
    if step < warmup + stable + num_decay_steps:
        progress = (step - warmup - stable) / max(1, num_decay_steps)
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        else:  # "1-sqrt"
            factor = 1.0 - math.sqrt(progress)
        return max(0.0, factor * (1.0 - min_lr_ratio) + min_lr_ratio)
    return min_lr_ratio


def _cosine_warmup_with_min_lr(
    step: int, warmup: int, total: int, *, num_cycles: float, min_lr_rate: float, warmup_lr_rate: float | None
) -> float:
    """transformers' ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``: the warm-up from
    ``warmup_lr_rate`` (else from one warm-up step in), the cosine down to ``min_lr_rate``."""
    if step < warmup:
        if warmup_lr_rate is None:
            return (step + 1.0) / max(1.0, warmup)
        return warmup_lr_rate + (1.0 - warmup_lr_rate) * step / max(1, warmup - 1)
    progress = (step - warmup + 1.0) / max(1.0, total - warmup)
    factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
    return max(0.0, factor * (1 - min_lr_rate) + min_lr_rate)


def scheduler(
    optimizer: torch.optim.Optimizer,
    kind: str,
    warmup: int,
    total: int,
    options: dict[str, Any] | None = None,
) -> torch.optim.lr_scheduler.LRScheduler:
    """The schedule ``kind`` as transformers' ``get_scheduler`` makes it: a ``LambdaLR`` of
    :func:`schedule_factor`, stepped after each optimizer step, or for ``"reduce_lr_on_plateau"`` torch's
    ``ReduceLROnPlateau``, stepped on the metric of each of the run's evaluations
    (:func:`steps_on_metric`)."""
    chosen = schedule_options(kind, options, optimizer.defaults["lr"])
    if kind == "warmup_stable_decay" and chosen["num_stable_steps"] is not None:  # its notice, as there
        warn_at_caller(
            "Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used."
        )
    if kind == "reduce_lr_on_plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **chosen)
    if kind == "greedy":
        return _greedy(optimizer, chosen)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule_factor(kind, step, warmup, total, **chosen)
    )


def _greedy(optimizer: torch.optim.Optimizer, options: dict[str, Any]) -> Any:
    """transformers' ``GreedyLR`` (transformers 5), the schedule its ``"greedy"`` names: the same rates step
    by step, its checks and messages."""
    try:
        from transformers.optimization import GreedyLR
    except ImportError:
        raise BackendUnavailableError(
            "lr_scheduler_type='greedy' is transformers' GreedyLR, which this transformers version lacks: "
            "upgrade transformers (pip install -U transformers), or pick another lr_scheduler_type."
        ) from None
    return GreedyLR(optimizer, **options)


def steps_on_metric(schedule: Any) -> bool:
    """Whether ``schedule`` moves on an evaluation's metric (``ReduceLROnPlateau``, transformers'
    ``GreedyLR``) rather than on each optimizer step, as transformers' trainer tells them apart."""
    if isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
        return True
    transformers_optimization = sys.modules.get("transformers.optimization")  # (no GreedyLR without it)
    greedy = getattr(transformers_optimization, "GreedyLR", None)
    return greedy is not None and isinstance(schedule, greedy)


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
