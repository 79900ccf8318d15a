"""Checks on weight files before anything is loaded: present, safe format, not truncated."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelLoadError

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# What a weights file is called (whole, sharded or indexed), in any framework: an export leaves them out.
WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".ot"}


def is_weights_file(path: Path) -> bool:
    return bool(WEIGHT_SUFFIXES & set(path.suffixes))


def check_encoder_weights(folder: Path, *, allow_pickle: bool) -> Path:
    """Return the weight file the encoder will load from, or raise ModelLoadError saying what is wrong."""
    for name in SAFE_WEIGHTS:
        if (folder / name).is_file():
            path = folder / name
            if name.endswith(".safetensors"):
                check_safetensors_file(path)
            return path
    for name in PICKLE_WEIGHTS:
        if (folder / name).is_file():
            if not allow_pickle:
                raise ModelLoadError(
                    f"{folder / name} is a pickle file, which can run arbitrary code when loaded, so sbert "
                    "refuses it by default. If you trust its source, pass allow_pickle=True "
                    "(or --allow-pickle); better, convert it to model.safetensors."
                )
            return folder / name
    raise ModelLoadError(
        f"No weights in {folder}: expected model.safetensors (or pytorch_model.bin with allow_pickle=True)."
    )


def check_safetensors_file(path: Path) -> None:
    """Validate the header and size of a safetensors file without reading the tensors."""
    size = path.stat().st_size
    header_len, header = _read_header(path, size)
    try:
        ends = [_data_end(name, entry) for name, entry in header.items() if name != "__metadata__"]
    except ValueError as e:
        raise ModelLoadError(f"{path} is not a valid safetensors file (truncated or corrupt): {e}") from e
    end = max(ends, default=0)
    if 8 + header_len + end > size:
        raise ModelLoadError(
            f"{path} is truncated: its header describes {8 + header_len + end} bytes "
            f"but the file has {size}. "
            "Download or save the model again."
        )


def safetensors_names(path: Path) -> list[str]:
    """The names of the tensors a safetensors file holds, from its header alone."""
    return [name for name in _read_header(path, path.stat().st_size)[1] if name != "__metadata__"]


def _read_header(path: Path, size: int) -> tuple[int, dict[str, Any]]:
    """A safetensors file's header length and header (ModelLoadError if it is truncated or not one)."""
    try:
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len <= 0 or 8 + header_len > size:
                raise ValueError(f"header length {header_len} does not fit a {size}-byte file")
            header = json.loads(f.read(header_len))
        if not isinstance(header, dict):
            raise ValueError(f"the header is a JSON {type(header).__name__}, not an object")
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{path} is not a valid safetensors file (truncated or corrupt): {e}") from e
    return header_len, header


def _data_end(name: str, entry: object) -> int:
    """Where the bytes of tensor ``name`` end, from its header entry
    ``{"data_offsets": [begin, end], ...}``."""
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise ValueError(f"tensor {name!r} has no valid data_offsets in the header")
    return offsets[1]


def read_numpy_tensor(handle: Any, path: Path, key: str) -> np.ndarray:
    """Tensor ``key`` of an open safetensors file (``safe_open(..., framework="numpy")``) as a numpy array;
    a BF16 tensor, which numpy has no type for and safetensors' numpy reader refuses, widened to float32
    (exactly: bfloat16 is float32's upper 16 bits)."""
    if handle.get_slice(key).get_dtype() != "BF16":
        return handle.get_tensor(key)
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        entry = json.loads(f.read(header_len))[key]
        begin, end = entry["data_offsets"]
        f.seek(8 + header_len + begin)
        raw = np.frombuffer(f.read(end - begin), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def read_numpy_tensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a numpy array (BF16 widened to float32, as read_numpy_tensor);
    of a pickled ``pytorch_model.bin`` (which :func:`check_encoder_weights` lets through only with
    ``allow_pickle``), through torch's weights-only unpickler, the one reader there is for it."""
    if path.suffix == ".bin":
        return _read_pickled_tensors(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return {key: read_numpy_tensor(handle, path, key) for key in handle.keys()}


def _read_pickled_tensors(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError as e:
        raise ModelLoadError(
            f"{path} is a pickled torch file: reading it needs torch (pip install 'sbert[torch]'), "
            "or convert it to model.safetensors."
        ) from e
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: (t.float() if t.dtype == torch.bfloat16 else t).numpy() for key, t in state.items()}
