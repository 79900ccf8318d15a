"""The base classes of a custom module, as sentence-transformers 5+ defines them.

A custom module subclasses :class:`Module` (``sentence_transformers.models.Module``), lists the constructor
arguments it saves in ``config_keys``, and implements ``forward`` (features in, features out) and ``save``.
Loading is inherited: ``cls(**config)`` from the folder's ``config.json`` (and ``load_torch_weights`` for a
module with weights). sbert saves such a module under its class path in ``modules.json``; a model that names
one loads only with ``trust_remote_code=True``, since importing the class runs its code.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from torch import nn

from .._errors import ModelLoadError
from .._format.hub_files import load_dir_path, load_file_path
from .._st_registration import count_module_as_sentence_transformers, register_module_classes
from .loading import module_folder, st_loading
from .renamed_dimension import RenamedDimensionMethods


class Module(RenamedDimensionMethods, ABC, nn.Module):
    """A pipeline module with sentence-transformers' save/load helpers (see the module docstring). ``forward``
    and ``save`` are abstract, as there: a subclass that lacks one is a TypeError when instantiated."""

    config_keys: list[str] = []  # constructor arguments written to config.json and passed back on load
    config_file_name: str = "config.json"
    config_key_renames: dict[str, str] = {}  # an older saved name -> the constructor's
    save_in_root: bool = False  # the first module's files may go in the model's root folder
    forward_kwargs: set[str] = set()  # sentence-transformers' attribute; sbert's encode passes no extras

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        count_module_as_sentence_transformers(cls)  # isinstance(module, models.Pooling), ... as there

    def __new__(cls, *args: Any, **kwargs: Any) -> Module:
        register_module_classes()  # the classes defined by now, once sentence-transformers is imported
        return super().__new__(cls)

    @abstractmethod
    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(features)")

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def on_model_ready(self, model: Any) -> None:
        """sentence-transformers 6.3's hook for state that needs the whole model (its tokenizer); a no-op
        here. Call it after adding a module to a built model, as there."""

    def __repr__(self) -> str:  # the line of the pipeline's repr and of the model card's architecture
        return f"{type(self).__name__}({self.get_config_dict()})"

    @abstractmethod
    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        """Write the module's files into ``output_path``; subclasses say what (``save_config``,
        ``save_torch_weights``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement save(output_path)")

    def save_config(self, output_path: str, filename: str | None = None) -> None:
        path = Path(output_path) / (filename or self.config_file_name)
        path.write_text(json.dumps(self.get_config_dict(), indent=4), encoding="utf-8")

    def save_torch_weights(self, output_path: str, safe_serialization: bool = True) -> None:
        """The module's weights as ``model.safetensors``: always, as sbert saves every model (a pickled
        ``pytorch_model.bin`` is neither written nor read)."""
        from safetensors.torch import save_model

        save_model(self, str(Path(output_path) / "model.safetensors"))

    @classmethod
    @st_loading
    def load(cls, folder: Path, init_defaults: dict[str, Any] | None = None, **kwargs: Any) -> Module:
        """``cls(**config)`` from the saved config; ``init_defaults`` fill the keys it lacks."""
        config = cls.load_config(folder)
        for key, value in (init_defaults or {}).items():
            config.setdefault(key, value)
        return cls(**config)

    @classmethod
    def load_config(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        config_filename: str | None = None,
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
    ) -> dict[str, Any]:
        """The module's saved config (``{}`` where it has none), older key names renamed."""
        found = cls.load_file_path(
            model_name_or_path,
            config_filename or cls.config_file_name,
            subfolder,
            token,
            cache_folder,
            revision,
            local_files_only,
        )
        if found is None:
            return {}
        path = Path(found)
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelLoadError(f"{path} is not valid JSON: {e}") from e
        for old, new in cls.config_key_renames.items():
            if old in config and new not in config:
                config[new] = config.pop(old)
        return config

    @classmethod
    def load_torch_weights(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        model: Module | None = None,
    ) -> Any:
        """Load ``model.safetensors`` into ``model`` (strictly: a missing or unexpected weight is an error),
        or return the weights without a model. A pickled ``pytorch_model.bin`` is not read (sbert loads
        safetensors only)."""
        folder = module_folder(model_name_or_path, subfolder, token, cache_folder, revision, local_files_only)
        if not (folder / "model.safetensors").is_file():
            found = (
                " (a pickled pytorch_model.bin is not read)"
                if (folder / "pytorch_model.bin").exists()
                else ""
            )
            raise ModelLoadError(
                f"Could not find 'model.safetensors' in {folder}{found}; save the module with "
                "safe_serialization=True."
            )
        from safetensors.torch import load_file, load_model

        if model is None:
            return load_file(str(folder / "model.safetensors"))
        load_model(model, str(folder / "model.safetensors"), strict=True)
        return model

    # sentence-transformers' file helpers: a local folder's, or a hub repository's (downloaded)
    load_file_path = staticmethod(load_file_path)
    load_dir_path = staticmethod(load_dir_path)


count_module_as_sentence_transformers(Module)


class InputModule(Module):
    """A module that turns texts into features itself (a pipeline's first), with its files in the model's
    root folder."""

    save_in_root = True

    @property
    def modalities(self) -> list[Any]:
        """The inputs this module reads: ``["text"]``, as sentence-transformers' ``InputModule``."""
        return ["text"]

    def tokenize(self, texts: list[str], **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement tokenize(texts)")

    def preprocess(self, inputs: list[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """``tokenize`` of the inputs, ``prompt`` before each (sentence-transformers' fallback for a module
        that writes ``tokenize`` only)."""
        if prompt:
            inputs = [prompt + text for text in inputs]
        return self.tokenize(inputs, **kwargs)

    def save_tokenizer(self, output_path: str, **kwargs: Any) -> None:
        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
            tokenizer.save_pretrained(output_path)


def is_new_style(module_class: type) -> bool:
    """Whether ``load`` takes sentence-transformers 5's keywords (else only a folder: the older style)."""
    import inspect

    return len(inspect.signature(module_class.load).parameters) != 1
