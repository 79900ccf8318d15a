"""Backends: what computes the embeddings of a loaded model. The one registry, and the choice among them.

Adding a backend (OpenVINO, a GPU runtime) is one module defining a ``BACKEND`` (see ``base.Backend``)
plus one entry in ``BACKENDS``; the model code does not change.
"""

from __future__ import annotations

from .._errors import InputError
from .base import Backend, BackendContext, Runner
from .onnx_runner import BACKEND as ONNX
from .torch_runner import BACKEND as TORCH

# Order matters for backend="auto": the first that can run the precision and is ready now wins, else the
# last (torch, which can always start).
BACKENDS: dict[str, Backend] = {b.name: b for b in (ONNX, TORCH)}
# Every precision some backend runs, fp32 (the faithful default) first.
PRECISIONS: tuple[str, ...] = tuple(
    dict.fromkeys(("fp32", *(p for b in BACKENDS.values() for p in b.precisions)))
)
CHOICES: tuple[str, ...] = ("auto", *BACKENDS)

__all__ = ["BACKENDS", "CHOICES", "PRECISIONS", "Backend", "BackendContext", "Runner", "choose_backend"]


def choose_backend(requested: str, context: BackendContext) -> Backend:
    """The backend that runs ``context.precision`` for a request of ``requested`` (a name or "auto")."""
    if requested not in CHOICES:
        raise InputError(f"Unknown backend {requested!r}; choose one of {CHOICES}.")
    precision = context.precision
    if precision not in PRECISIONS:
        raise InputError(f"Unknown precision {precision!r}; choose one of {PRECISIONS}.")
    if context.export_only:
        if BACKENDS[requested if requested != "auto" else "onnx"].needs_torch_modules or precision not in (
            ONNX.precisions
        ):
            raise InputError(
                f"{context.folder} is an ONNX-only export; it runs on backend='onnx' (fp32 or int8)."
            )
        return ONNX
    able = [b for b in BACKENDS.values() if precision in b.precisions]
    if requested != "auto":
        if precision in BACKENDS[requested].precisions:
            return BACKENDS[requested]
        if requested == "onnx":
            raise InputError(
                f"precision={precision!r} runs on the {able[0].name} backend; "
                f"use {' or '.join(ONNX.precisions)} with onnx."
            )
        return able[0]  # int8 asked of torch runs on ONNX Runtime, the one backend with int8
    if len(able) == 1:
        return able[0]
    return next((b for b in able[:-1] if b.is_ready(context)), able[-1])
