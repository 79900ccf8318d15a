"""Devices: which ones this machine has, and the one check of a requested device.

``"cpu"`` (and torch's ``"cpu:0"``) is accepted without importing torch (ONNX models run without it); any
other device is parsed and looked up with torch, so a typo or a GPU this machine lacks fails here with one
line naming what is there, not deep inside torch.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from .._errors import CudaNotCompiledError, UnavailableDeviceError, torch_installed
from .._st_loggers import ST_MODEL

# Device types with numbered devices, and how torch counts them.
_NUMBERED = ("cuda", "xpu")
# Device files of the GPU drivers torch's "cuda" runs on (NVIDIA, ROCm, WSL): without one, no GPU is there
# and the default device is the CPU, known without importing torch.
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


class DeviceName(str):
    """A model's device as its name (``"cpu"``, ``"cuda:0"``), with ``type`` and ``index`` as a
    ``torch.device`` has them, which code written for sentence-transformers reads (no torch needed)."""

    @property
    def type(self) -> str:
        return str(self.partition(":")[0])  # a plain str, as torch's (partition may hand back self)

    @property
    def index(self) -> int | None:
        number = self.partition(":")[2]
        return int(number) if number.isdigit() else None

    # Equal to the torch.device of the same name too (``tensor.device == model.device``, either way round:
    # torch.device's own comparison defers to this one for anything but a torch.device).
    def __eq__(self, other: object) -> bool:
        if _is_torch_device(other):
            return str.__eq__(self, str(other))
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__


def device_name(device: str) -> DeviceName:
    """``device`` named as torch names the device of tensors moved there, which sentence-transformers'
    ``model.device`` is (its parameters'): ``cuda`` is ``cuda:<current>``, ``mps`` is ``mps:0``, ``cpu:0`` is
    ``cpu``."""
    kind, _, index = str(device).partition(":")
    if kind == "cpu" or index:
        return DeviceName(kind if kind == "cpu" else device)
    return DeviceName(f"{kind}:{_current_index(kind)}")


def _current_index(kind: str) -> int:
    """The index torch places tensors on for a bare ``kind`` (``torch.cuda.current_device()``); 0 for a
    device kind that has no such counter (``mps``)."""
    try:
        import torch
    except ImportError:  # ONNX Runtime on an accelerator without torch: its first device
        return 0
    current = getattr(getattr(torch, kind, None), "current_device", None)
    return int(current()) if current is not None and kind in _NUMBERED else 0


def _is_torch_device(value: object) -> bool:
    kind = type(value)
    return kind.__module__ == "torch" and kind.__name__ == "device"


def default_device() -> str:
    """Where a model runs when given no device: ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if not torch_installed() or not any(os.path.exists(path) for path in GPU_DEVICE_FILES):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def note_default_device(
    device: str | None, model_kwargs: dict[str, Any] | None, torch_load: bool = False
) -> None:
    """sentence-transformers' info record when a model class is built with no device ("No device provided,
    using cpu"), on its model logger's name; none where ``model_kwargs``' ``device_map`` places the model.
    ``torch_load``: a named model loaded on torch, where sentence-transformers warns that a ``device`` given
    beside a ``device_map`` is ignored (xinference passes both)."""
    logger = logging.getLogger(ST_MODEL)
    device_map = (model_kwargs or {}).get("device_map")
    if device is not None and device_map is not None and torch_load:
        logger.warning(f"Ignoring `device={device}` because `model_kwargs['device_map']` takes priority.")
    if device is not None or device_map is not None:
        return
    if logger.isEnabledFor(logging.INFO):  # naming the device may import torch: only for a record shown
        logger.info(f"No device provided, using {process_device_name()}")


def process_device_name() -> str:
    """The device this process should use, as sentence-transformers' ``get_device_name`` names it:
    ``"cuda:<LOCAL_RANK>"`` (``cuda:0`` outside distributed runs), else ``"xpu"``, ``"mps"``, ``"cpu"``."""
    if default_device() == "cuda":
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    if not torch_installed():
        return "cpu"
    import torch

    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    xpu = getattr(torch, "xpu", None)
    return "xpu" if xpu is not None and xpu.is_available() else "cpu"


def available_devices() -> list[str]:
    """The devices torch can use here: ``cpu``, then ``cuda:0``..., ``xpu:0``..., ``mps`` when present."""
    import torch

    found = ["cpu"]
    for kind in _NUMBERED:
        runtime = getattr(torch, kind, None)
        if runtime is not None and runtime.is_available():
            found += [f"{kind}:{i}" for i in range(runtime.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def check_device(device: Any) -> str | None:
    """``device`` (a string or ``torch.device``) as a string if this machine has it; ``None`` stays ``None``.

    Raises :class:`UnavailableDeviceError` (an ``InputError`` and a ``RuntimeError``; for CUDA on a torch
    built without it, :class:`CudaNotCompiledError`, also an ``AssertionError`` as torch's) naming the
    available devices otherwise.
    """
    if device is None:
        return None
    text = str(device)
    if re.fullmatch(r"cpu(:\d+)?", text):  # "cpu", or torch's "cpu:0": the CPU, no torch needed to say so
        return text
    import torch

    try:
        parsed = torch.device(text)
    except (RuntimeError, TypeError, ValueError):
        parsed = None
    available = available_devices()
    if parsed is not None and _listed(parsed, available):
        return text
    unbuilt = (
        parsed is not None
        and parsed.type == "cuda"
        and not (torch.backends.cuda.is_built() or torch.cuda.is_available())
    )
    raise (CudaNotCompiledError if unbuilt else UnavailableDeviceError)(
        f"device {text!r} is not available on this machine; available: {', '.join(available)}"
        + (" (this torch was built without CUDA)." if unbuilt else ".")
    )


def _listed(device: Any, available: list[str]) -> bool:
    if device.type == "cpu":
        return True
    if device.type in _NUMBERED:
        return f"{device.type}:{device.index or 0}" in available
    return device.type in available and not device.index


def batch_to_device(batch: dict[str, Any], target_device: Any) -> dict[str, Any]:
    """``batch`` with its torch tensors moved to ``target_device`` (in place, and returned)."""
    for key, value in batch.items():
        if hasattr(value, "to") and type(value).__module__.startswith("torch"):
            batch[key] = value.to(target_device)
    return batch
