"""What the modules with a config and weights of their own (LayerNorm, CNN, LSTM, WordEmbeddings, ...) share:
the ``ConfigModule`` base and the helpers that read and write their files as sentence-transformers does."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._errors import ModelLoadError, log_once
from .._format.layout import config_repr, module_config
from .._st_loggers import ST_DECORATORS
from .base import Module
from .loading import st_loading

WEIGHTS_FILE = "model.safetensors"


def renamed_keywords(**renames: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A constructor that also takes sentence-transformers' older keyword names (``old="new"``), logging once
    the new one (as there, not a Python warning); the new name wins where both are given."""

    def decorate(init: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(init)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    log_once(
                        f"The `{old}` argument was renamed and is now deprecated. "
                        f"Please use `{new}` instead.",
                        ST_DECORATORS,
                    )
                    value = kwargs.pop(old)
                    kwargs.setdefault(new, value)
            return init(*args, **kwargs)

        return wrapper

    return decorate


def build_from_config(cls: Any, folder: str | os.PathLike, **extra: Any) -> Any:
    """``cls(**config)`` from the module's config file; a bad config is a ModelLoadError naming the file."""
    path, config = module_config(Path(folder), cls.__name__)
    try:
        return cls(**config, **extra)
    except (TypeError, ValueError) as e:  # InputError is a ValueError
        raise ModelLoadError(f"{path}: invalid {cls.__name__} config ({e})") from e


def read_weights(folder: str | os.PathLike, *, allow_pickle: bool) -> dict[str, torch.Tensor]:
    """The tensors of ``folder``'s ``model.safetensors`` (``pytorch_model.bin`` with ``allow_pickle``)."""
    from .._format.weights import check_encoder_weights

    path = check_encoder_weights(Path(folder), allow_pickle=allow_pickle)
    if path.name.endswith(".json"):
        raise ModelLoadError(f"{path}: sharded weights are not supported for this module")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def load_weights(module: nn.Module, folder: str | os.PathLike, *, allow_pickle: bool) -> Any:
    """Load the module's saved weights into it; weights of other shapes or names are a ModelLoadError."""
    try:
        module.load_state_dict(read_weights(folder, allow_pickle=allow_pickle))
    except RuntimeError as e:
        raise ModelLoadError(f"{folder}: the weights do not fit {module!r}: {e}") from e
    return module


def save_config_and_weights(module: Any, folder: str | os.PathLike, config_file: str = "config.json") -> None:
    """The module's config as JSON and its weights as safetensors, the files sentence-transformers writes."""
    from safetensors.torch import save_file

    folder = Path(folder)
    (folder / config_file).write_text(json.dumps(module.get_config_dict(), indent=4), encoding="utf-8")
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    save_file(state, folder / WEIGHTS_FILE)


class ConfigModule(Module):
    """A module saved as sentence-transformers saves it: ``config_keys`` in ``config_file_name``, weights in
    ``model.safetensors``; printed as ``Kind({config})``."""

    config_keys: list[str] = []
    input_key: str | None = None  # the config key holding the width of the vectors it takes

    @property
    def input_width(self) -> int | None:
        return getattr(self, self.input_key) if self.input_key else None

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def __repr__(self) -> str:
        return config_repr(type(self).__name__, self.get_config_dict())

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        save_config_and_weights(self, folder, self.config_file_name)

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, *, allow_pickle: bool = False, **options: Any) -> Any:
        return load_weights(build_from_config(cls, folder), folder, allow_pickle=allow_pickle)
