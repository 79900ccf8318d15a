"""sentence-transformers' loading parameters for every module's ``load``.

sentence-transformers 5+ loads a module as ``Cls.load(model_name_or_path, subfolder="1_Pooling", token=...,
cache_folder=..., revision=..., local_files_only=...)``: the module's files are in ``subfolder`` of a local
model folder or of a hub repository. sbert's modules read one local folder; :func:`st_loading` resolves that
folder once, here, so each module's own ``load(folder, **options)`` stays a reader of files.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .._format.hub_files import load_dir_path

T = TypeVar("T")


def module_folder(
    model_name_or_path: str | os.PathLike,
    subfolder: str = "",
    token: bool | str | None = None,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
) -> Path:
    """The local folder of ``subfolder`` of a model folder or hub repository (downloaded into the cache).

    A folder found nowhere is returned as the local path it would have, so that the module's ``load``
    names the file it misses, as it does for a local folder."""
    found = load_dir_path(
        str(model_name_or_path),
        subfolder or "",
        token=token,
        cache_folder=cache_folder,
        revision=revision,
        local_files_only=local_files_only,
    )
    return Path(found) if found is not None else Path(model_name_or_path, subfolder or "")


def st_loading(load: Callable[..., T]) -> Callable[..., T]:
    """Give ``load(cls, folder, **options)`` sentence-transformers' parameters (put it under
    ``@classmethod``): the first one by position or as ``model_name_or_path=``, the hub ones consumed here,
    the rest (``trust_remote_code``, ``model_kwargs``, ...) passed on."""

    @functools.wraps(load)
    def load_module(
        cls: Any,
        model_name_or_path: str | os.PathLike,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **options: Any,
    ) -> T:
        folder = module_folder(model_name_or_path, subfolder, token, cache_folder, revision, local_files_only)
        return load(cls, folder, **options)

    del load_module.__wrapped__  # its signature is sentence-transformers', not the wrapped reader's
    return load_module


def st_loading_or_default(load: Callable[..., T]) -> Callable[..., T]:
    """:func:`st_loading`, with ``model_name_or_path`` optional: ``load()`` without it gives the module with
    its defaults (sentence-transformers' ``Normalize.load()`` keeps that older form)."""
    loading = st_loading(load)

    @functools.wraps(loading)
    def load_module(cls: Any, model_name_or_path: str | os.PathLike = "", *args: Any, **kwargs: Any) -> T:
        if not model_name_or_path:
            return cls()
        return loading(cls, model_name_or_path, *args, **kwargs)

    signature = inspect.signature(loading)
    parameters = list(signature.parameters.values())
    parameters[1] = parameters[1].replace(default="")
    load_module.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return load_module
