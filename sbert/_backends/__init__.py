"""Backends: what computes the embeddings of a loaded model. The one registry, and the choice among them.

Adding a backend (OpenVINO, a GPU runtime) is one module defining a ``BACKEND`` (see ``base.Backend``)
plus one entry in ``BACKENDS``; the model code does not change.
"""

from __future__ import annotations

from .._errors import InputError, torch_installed, warn_at_caller
from .base import Backend, BackendContext, Runner
from .cpu import slow_precision_warning
from .devices import default_device
from .onnx_runner import BACKEND as ONNX
from .static_runner import BACKEND as STATIC
from .torch_runner import BACKEND as TORCH

# Order matters for backend="auto": the first that can run the precision on the device and is ready now
# wins, else the last (torch, which can always start). Static is ready for static-embedding models only;
# ONNX for the models whose graph is cached or built from their files at once (``onnx_runner._is_ready``).
BACKENDS: dict[str, Backend] = {b.name: b for b in (STATIC, ONNX, TORCH)}
# Every precision some backend runs, fp32 (the faithful default) first.
PRECISIONS: tuple[str, ...] = tuple(
    dict.fromkeys(("fp32", *(p for b in BACKENDS.values() for p in b.precisions)))
)
CHOICES: tuple[str, ...] = ("auto", *BACKENDS)

__all__ = [
    "BACKENDS",
    "CHOICES",
    "PRECISIONS",
    "Backend",
    "BackendContext",
    "Runner",
    "check_choice",
    "choose_backend",
]


def check_choice(requested: str, precision: str) -> None:
    """A backend name (or "auto") and a precision that some backend runs, else InputError."""
    if requested == "openvino":  # sentence-transformers' third backend (optimum-intel)
        raise InputError(
            "backend='openvino': sbert does not run OpenVINO; choose one of "
            f"{CHOICES} (backend='onnx' runs ONNX Runtime, on the CPU without torch)."
        )
    if requested not in CHOICES:
        raise InputError(f"Unknown backend {requested!r}; choose one of {CHOICES}.")
    if precision not in PRECISIONS:
        raise InputError(f"Unknown precision {precision!r}; choose one of {PRECISIONS}.")


def refuse_adapter_backend() -> None:
    """sentence-transformers' error for a PEFT adapter folder loaded on a backend other than torch (a graph
    holds no adapter)."""
    raise InputError(
        "PEFT models can currently only be loaded with the `torch` backend. To use other backends, "
        'load the model with `backend="torch"`, call `model.transformers_model.merge_and_unload()`, '
        "save that model with `model.save_pretrained()` and then load the model with the desired "
        "backend."
    )


def choose_backend(requested: str, context: BackendContext) -> Backend:
    """The backend that runs ``context.precision`` on ``context.device`` for ``requested`` (a name or "auto").

    A named backend runs as asked or is refused with the reason, never replaced by another one. A precision
    this CPU only emulates (bf16 without bf16 units) warns, once per process and precision.
    """
    backend = _choose(requested, context)
    if not backend.needs_torch_modules or torch_installed():  # else starting it fails, naming the extra
        _warn_if_slow(context.precision, context.device)
    return backend


def _choose(requested: str, context: BackendContext) -> Backend:
    check_choice(requested, context.precision)
    precision = context.precision
    if context.export_only:
        wanted = ONNX if requested == "auto" else BACKENDS[requested]
        if wanted.needs_torch_modules or precision not in ONNX.precisions:
            raise InputError(
                f"{context.folder} is an ONNX-only export; it runs on backend='onnx' (fp32 or int8)."
            )
        subject = f"{context.folder} is an ONNX-only export: it"
        return _on_its_device(ONNX, context, subject, "load the original model with backend='torch'")
    if context.pipeline is not None and context.pipeline.adapter:
        # a PEFT adapter runs inside the torch modules (peft wraps their layers); no graph holds it
        if requested not in ("auto", "torch"):
            refuse_adapter_backend()
        requested = "torch"
    if context.pipeline is not None and context.pipeline.converted:
        if requested not in ("auto", "torch"):
            raise InputError(
                f"{context.folder} holds another model class (a cross-encoder, a sparse encoder, ...), whose "
                "encoder this model runs on torch: save it (model.save(path)) and load the saved folder for "
                f"backend={requested!r}."
            )
        requested = "torch"
    able = [b for b in BACKENDS.values() if precision in b.precisions]
    if requested != "auto":
        backend = BACKENDS[requested]
        if precision not in backend.precisions:
            raise InputError(
                f"precision={precision!r} runs on the {' or '.join(b.name for b in able)} backend, not on "
                f"{requested}; use backend={able[0].name!r} (or 'auto'), or {' / '.join(backend.precisions)} "
                f"with {requested}."
            )
        return _on_its_device(backend, context, f"the {requested} backend")
    if len(able) == 1:
        return _on_its_device(
            able[0], context, f"precision={precision!r} runs on the {able[0].name} backend, which"
        )
    # No device: the one torch would pick (a GPU when there is one), so a CPU-only backend never takes it.
    device = context.device or default_device()
    return next((b for b in able[:-1] if b.runs_on(device) and b.is_ready(context)), able[-1])


def _on_its_device(
    backend: Backend, context: BackendContext, subject: str, fix: str | None = None
) -> Backend:
    """``backend`` if it runs on the requested device, else the refusal naming what would run there."""
    device = context.device
    if backend.runs_on(device):
        return backend
    if fix is None:
        there = [b for b in BACKENDS.values() if b.runs_on(device)]
        fix = ", or ".join(f"backend={b.name!r} with {' / '.join(b.precisions)}" for b in there)
    raise InputError(
        f"{subject} runs on {' / '.join(backend.devices or ())} only, not on {device!r}; use device='cpu'"
        + (f", or {fix} on {device!r}" if fix else "")
        + "."
    )


# The precisions already warned about as slow on this CPU: a warning per process, not per model loaded.
_WARNED_SLOW: set[str] = set()


def _warn_if_slow(precision: str, device: str | None) -> None:
    """A UserWarning at the user's line, once per precision and process."""
    if precision in _WARNED_SLOW:
        return
    message = slow_precision_warning(precision, device)
    if message is None:
        return
    _WARNED_SLOW.add(precision)
    warn_at_caller(message)  # the line that asked for the precision
