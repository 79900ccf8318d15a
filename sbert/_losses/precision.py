"""Mixed precision as Hugging Face's trainer has it: accelerate wraps the trained model's forward in autocast
and gives its half-precision outputs back as fp32, so a loss's own math (similarities, scale, log-sum-exp)
runs in fp32 outside autocast, and a second model a loss holds (a GIST guide, a teacher) runs as it is.
Under one autocast around the whole loss a bf16 similarity matrix times MultipleNegativesRankingLoss's scale
20 moves each logit by up to 0.08, and the loss follows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import torch

from .user_loss import model_forward

_AUTOCAST: ContextVar[tuple[str, torch.dtype] | None] = ContextVar("sbert_model_autocast", default=None)


def loss_forward_name(model: Any) -> str:
    """The method the losses run the model through: a CrossEncoder's ``logits``, else ``forward``."""
    return "logits" if callable(getattr(model, "logits", None)) else "forward"


@contextlib.contextmanager
def mixed_precision(model: Any, device_type: str, dtype: torch.dtype) -> Iterator[None]:
    """For the block, the forward the losses run is under ``torch.autocast(device_type, dtype)`` and gives
    fp32 tensors back; a loss that runs the model's modules itself (AdaptiveLayerLoss) does so inside
    :func:`model_precision`."""

    def cast_forward(forward: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            with torch.autocast(device_type, dtype=dtype):
                return to_fp32(forward(*args, **kwargs))

        return run

    token = _AUTOCAST.set((device_type, dtype))
    try:
        with model_forward(model, cast_forward, loss_forward_name(model)):
            yield
    finally:
        _AUTOCAST.reset(token)


def model_precision() -> contextlib.AbstractContextManager:
    """The autocast the model's forward runs under in this block of a training step; a no-op outside one."""
    settings = _AUTOCAST.get()
    if settings is None:
        return contextlib.nullcontext()
    return torch.autocast(settings[0], dtype=settings[1])


def to_fp32(output: Any) -> Any:
    """``output`` with its fp16 / bf16 tensors as fp32, a dict's values replaced in place (the features dict
    a SentenceTransformer's forward fills and returns), as accelerate's ``convert_outputs_to_fp32``."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.dtype in (torch.float16, torch.bfloat16) else output
    if isinstance(output, dict):
        for key, value in output.items():
            output[key] = to_fp32(value)
        return output
    if isinstance(output, (list, tuple)):
        return type(output)(to_fp32(value) for value in output)
    return output
