"""Reading what a graph is built from: config.json fields and safetensors tensors, each checked, so a
truncated or foreign file fails with a ModelLoadError naming the file and the field or tensor."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import ModelLoadError, WeightsMismatchError
from ..._format.weights import check_safetensors_file, read_numpy_tensor
from .ops import NotBuildable

FIX = "Download or save the model again, or load it with backend='torch'."
_FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")
_MISSING = object()


def field(
    config: dict[str, Any], path: Path, key: str, default: Any = _MISSING, kind: type = int, minimum: int = 1
) -> Any:
    """``config[key]`` checked to be a ``kind`` (ints at least ``minimum``, floats positive); ``default``
    when absent."""
    value = config.get(key, default)
    if value is _MISSING:
        raise ModelLoadError(f"{path} has no {key!r}, which the ONNX graph builder needs. {FIX}")
    valid = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        valid = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    elif kind is int:
        valid = valid and value >= minimum
    if not valid:
        wanted = f"an int >= {minimum}" if kind is int else f"a positive {kind.__name__}"
        raise ModelLoadError(f"{path}: {key!r} must be {wanted}, found {value!r}. {FIX}")
    return value


SHARD_INDEX = "model.safetensors.index.json"


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files of an encoder folder (one file or the shards its index names)."""
    single, index = folder / "model.safetensors", folder / SHARD_INDEX
    if single.is_file():
        return [single]
    if not index.is_file():
        raise NotBuildable(f"{folder} has no model.safetensors")
    try:
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelLoadError(f"{index} is not a valid safetensors index ({e}). {FIX}") from e
    return [folder / str(name) for name in shards]


def copy_checkpoint(source: Path, folder: Path) -> None:
    """The encoder's ``config.json`` and safetensors weights (a sharded checkpoint's index too) in
    ``source``, copied into ``folder``: a model on ONNX saved as the files its graph was built from."""
    for path in [source / "config.json", *weight_files(source)]:
        shutil.copyfile(path, folder / path.name)
    if (source / SHARD_INDEX).is_file():
        shutil.copyfile(source / SHARD_INDEX, folder / SHARD_INDEX)


class Checkpoint:
    """The tensors of safetensors files by name, under an optional prefix found from an anchor tensor
    (``bert.`` in checkpoints saved from a task model)."""

    def __init__(self, files: Sequence[Path], anchor: str) -> None:
        from safetensors import safe_open

        self.files = list(files)
        self.where: dict[str, tuple[Any, Path]] = {}  # tensor name -> its open file and the file's path
        for path in self.files:
            check_safetensors_file(path)
            handle = safe_open(str(path), framework="numpy")
            self.where.update(dict.fromkeys(handle.keys(), (handle, path)))
        prefixes = sorted((k[: -len(anchor)] for k in self.where if k.endswith(anchor)), key=len)
        if not prefixes:
            raise ModelLoadError(f"{self._name()} has no tensor {anchor!r}. {FIX}")
        self.prefix = prefixes[0]

    def _name(self) -> str:
        return str(self.files[0]) if len(self.files) == 1 else f"{self.files[0].parent} (safetensors shards)"

    def get(self, name: str, shape: Sequence[int], *, prefixed: bool = True) -> np.ndarray:
        """The float32 tensor ``name`` (under the prefix unless not ``prefixed``: a task model's head);
        ModelLoadError if it is missing or not of ``shape``."""
        key = self.prefix + name if prefixed else name
        if key not in self.where:
            raise ModelLoadError(f"{self._name()} has no tensor {key!r}. {FIX}")
        handle, path = self.where[key]
        tensor_slice = handle.get_slice(key)
        if tensor_slice.get_dtype() not in _FLOAT_DTYPES:
            raise NotBuildable(f"{key} is stored as {tensor_slice.get_dtype()}")
        found = tuple(tensor_slice.get_shape())
        if found != tuple(shape):
            raise WeightsMismatchError(
                f"{self._name()}: tensor {key!r} has shape {list(found)}, config.json says {list(shape)}. "
                f"{FIX}"
            )
        return read_numpy_tensor(handle, path, key).astype(np.float32, copy=False)
