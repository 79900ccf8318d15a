"""The process-wide torch settings a training run asks for, by Hugging Face's argument names: full
determinism (``full_determinism``), TF32 matrix products (``tf32``), compiling the model for the run
(``torch_compile``, ``torch_compile_backend``, ``torch_compile_mode``); mixed precision (``bf16``, ``fp16``)
is :func:`sbert._losses.precision.mixed_precision`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

from .._errors import InputError
from .._losses.precision import loss_forward_name
from .._losses.user_loss import model_forward

# what Hugging Face's enable_full_determinism sets, for CUDA, Ascend and flash-attention kernels
DETERMINISM_ENVIRONMENT = {
    "CUDA_LAUNCH_BLOCKING": "1",
    "CUBLAS_WORKSPACE_CONFIG": ":16:8",
    "ASCEND_LAUNCH_BLOCKING": "1",
    "HCCL_DETERMINISTIC": "1",
    "FLASH_ATTENTION_DETERMINISTIC": "1",
}


def enable_full_determinism() -> None:
    """Deterministic kernels only, for the rest of the process, as Hugging Face's
    ``enable_full_determinism`` (the trainer seeds the generators itself)."""
    os.environ.update(DETERMINISM_ENVIRONMENT)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def tf32_available() -> bool:
    """Whether this machine has a GPU with TF32 matrix units (NVIDIA Ampere or newer), as transformers
    checks it."""
    if not torch.cuda.is_available() or torch.version.cuda is None:
        return False
    return torch.cuda.get_device_properties(torch.cuda.current_device()).major >= 8


def set_tf32(tf32: bool | None, *, compile_model: bool, fp16: bool, bf16: bool) -> None:
    """Hugging Face's training arguments' TF32 rules, applied when the arguments are made: ``tf32=True``
    turns TF32 on (an InputError without such a GPU, where transformers raises), ``False`` off, ``None``
    leaves it, except that ``torch_compile`` turns it on where the GPU has it (unless fp16 without bf16)."""
    if compile_model and tf32_available() and ((tf32 is None and not fp16) or bf16):
        _use_tf32(True)
    if tf32 is None:
        return
    if tf32 and not tf32_available():
        raise InputError(
            "tf32=True needs an NVIDIA GPU of the Ampere generation or newer (CUDA >= 11), which this "
            "machine lacks; leave tf32 unset (None) or False (sentence-transformers refuses it too)."
        )
    if tf32_available():
        _use_tf32(bool(tf32))


def _use_tf32(enable: bool) -> None:
    if hasattr(torch.backends, "fp32_precision"):  # torch >= 2.9: one switch for every backend
        torch.backends.fp32_precision = "tf32" if enable else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = enable
        torch.backends.cudnn.allow_tf32 = enable


@contextlib.contextmanager
def compiled(model: Any, backend: str | None = None, mode: str | None = None) -> Iterator[None]:
    """For the block, the forward the losses run (a CrossEncoder's ``logits``) is compiled by
    ``torch.compile(backend, mode)`` (backend default ``"inductor"``), as sentence-transformers' trainer
    hands its losses the compiled model; evaluators and ``encode`` run the model uncompiled, there as here."""
    name = loss_forward_name(model)
    if not callable(getattr(model, name, None)):
        raise InputError(
            f"torch_compile=True needs a model with a {name} method; {type(model).__name__} has none."
        )

    def compile_forward(forward: Any) -> Any:
        return torch.compile(forward, backend=backend or "inductor", mode=mode)

    with model_forward(model, compile_forward, name):
        yield
