"""Torch modules of a sentence-embedding pipeline: Transformer -> Pooling -> Dense -> Normalize.

Each module maps a dict of tensors to a dict of tensors, saves its own config in its own folder and loads
from a local folder only (names are resolved to folders before any module sees them). Which class serves
which modules.json entry is decided by the one registry, ``sbert._format.layout.MODULE_TYPES``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from .._errors import InputError, ModelLoadError, SbertError
from .._format.layout import (
    CUSTOM,
    MODULE_TYPES,
    MODULES_FILE,
    ModuleEntry,
    check_plain_folder,
    default_pooling_mode,
    encoder_config_file,
    loads_as_plain,
    model2vec_entries,
    modules_json,
    read_json,
    read_modules,
)

# The attribute a loaded module keeps its modules.json entry's "kwargs" in (written back on save).
ENTRY_KWARGS = "modules_json_kwargs"


def module_class(kind: str) -> Any:
    """The torch class for a registered module kind (imported now: torch loads with it)."""
    implementation = MODULE_TYPES[kind].implementation
    if not implementation.startswith("sbert."):  # a file of this package
        implementation = f"{__name__}.{implementation}"
    return getattr(importlib.import_module(implementation), kind)


def registered_kind(module: Any) -> str:
    """The registry kind a module is saved as: its class's name, or the ``saved_as`` kind its class names
    (a class saved under an older type string that more releases read)."""
    kind = type(module)
    return getattr(kind, "saved_as", kind.__name__)


def load_modules(
    folder: Path,
    *,
    allow_pickle: bool,
    trust_remote_code: bool,
    transformer_options: dict[str, Any] | None = None,
    entries: list[ModuleEntry] | None = None,
    model_type: str | None = None,
) -> list[Any]:
    """The modules of the model saved in ``folder``, their widths checked against each other.

    ``transformer_options`` (``model_kwargs``, ``config_kwargs``, ``processor_kwargs``) go to the Transformer
    only. ``entries``: the modules to load in place of the folder's own list (its modules.json read and
    changed by the caller, e.g. another library's type names mapped to sbert's kinds). ``model_type``: the
    loading class, which converts another class's folder (see ``layout.loads_as_plain``).
    """
    options = {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code}
    if entries is None:
        if loads_as_plain(folder, model_type):  # a plain Hugging Face folder, or another class's, converted
            return _plain_encoder(folder, {**options, **(transformer_options or {})})
        entries = model2vec_entries(folder) or read_modules(folder)  # a model2vec folder: a static model
    modules = [
        load_custom_module(folder, entry, trust_remote_code=trust_remote_code)
        if entry.kind == CUSTOM
        else module_class(entry.kind).load(
            folder / entry.path,
            **options,
            **(transformer_options or {} if entry.kind == "Transformer" else {}),
        )
        for entry in entries
    ]
    for module, entry in zip(modules, entries):
        if entry.kwargs:  # what encode hands this module's forward (sentence-transformers' module_kwargs)
            setattr(module, ENTRY_KWARGS, entry.kwargs)
    check_input_module(modules, ModelLoadError)
    check_widths(modules, entries, folder)
    return modules


def load_custom_module(
    folder: Path, entry: ModuleEntry, *, trust_remote_code: bool, config_file: str = MODULES_FILE
) -> Any:
    """A module of the user's own class (``entry.type_string``, a class path), loaded as
    sentence-transformers loads it: ``load(folder, subfolder=path, ...)`` for a :class:`Module` subclass,
    ``load(sub-folder)`` for an older one. Importing the class runs its code, so only when trusted."""
    where = f"{folder / config_file}: module {entry.name}"  # the file that names it (a Router's config)
    if not trust_remote_code:
        raise ModelLoadError(
            f"{where} is {entry.type_string!r}, a class outside sbert and sentence-transformers; importing "
            "it runs its code. Pass trust_remote_code=True if you trust this model."
        )
    cls = custom_class(entry.type_string, folder, where)
    from .base import is_new_style

    if is_new_style(cls):
        return cls.load(str(folder), subfolder=entry.path, trust_remote_code=True, local_files_only=True)
    return cls.load(str(folder / entry.path))


def is_custom_module(module: Any) -> bool:
    """Whether a pipeline module is the user's own class, not one of sbert's registered module types."""
    return not (registered_kind(module) in MODULE_TYPES and type(module).__module__.startswith("sbert."))


def save_modules(modules: Any, folder: Path) -> None:
    """Write each module of a pipeline in its own folder (the first, input module at the root, as
    sentence-transformers saves it) and the ``modules.json`` that lists them."""
    entries = []
    for i, module in enumerate(modules):
        name = type(module).__name__
        custom = is_custom_module(module)
        if custom and not callable(getattr(module, "save", None)):
            raise InputError(
                f"Module {i} ({name}) cannot be saved: sbert saves {sorted(MODULE_TYPES)} and "
                "custom modules with a save(output_path) method (subclass sbert.models.Module)."
            )
        at_root = i == 0 and getattr(module, "save_in_root", name == "Transformer")
        sub = "" if at_root else f"{i}_{name}"
        (folder / sub).mkdir(parents=True, exist_ok=True)
        if custom:  # the user's own module, under its class path (loading it needs trust_remote_code)
            save_custom_module(module, folder / sub)
        else:
            module.save(folder / sub)
        entries.append((custom_class_path(module) if custom else registered_kind(module), sub))
    kwargs = [getattr(module, ENTRY_KWARGS, ()) for module in modules]
    (folder / MODULES_FILE).write_text(json.dumps(modules_json(entries, kwargs), indent=2))


def custom_class_path(module: Any) -> str:
    """The ``modules.json`` type of a custom module: its class's import path."""
    kind = type(module)
    return f"{kind.__module__}.{kind.__qualname__}"


def save_custom_module(module: Any, folder: Path) -> None:
    """``module.save(folder)`` as sentence-transformers calls it: with ``safe_serialization`` where the
    method takes it (sentence-transformers 5's modules), with the folder alone for older ones."""
    import inspect

    parameters = inspect.signature(module.save).parameters
    takes_option = "safe_serialization" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    module.save(str(folder), **({"safe_serialization": True} if takes_option else {}))


def custom_class(type_string: str, folder: Path, where: str) -> type:
    """The class a custom module's type names: from an installed module, else from a ``.py`` file of that
    module path in the model folder (as a hub repository ships its module code)."""
    import sys

    module_path, _, class_name = type_string.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError:
        source = folder.joinpath(*module_path.split(".")).with_suffix(".py")
        if not source.is_file():
            raise ModelLoadError(
                f"{where}: cannot import {module_path!r} (not installed, and the model folder has no "
                f"{source.name}); install the package that defines {class_name}."
            ) from None
        spec = importlib.util.spec_from_file_location(module_path, source)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_path] = module  # dataclasses and pickling look a class's module up
        spec.loader.exec_module(module)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not hasattr(cls, "load"):
        raise ModelLoadError(f"{where}: {module_path} has no module class {class_name!r} with a load method")
    return cls


def _plain_encoder(folder: Path, options: dict[str, Any]) -> list[Any]:
    check_plain_folder(folder)
    mode = default_pooling_mode(read_json(encoder_config_file(folder)))
    transformer = module_class("Transformer")(folder, **options)
    return [transformer, module_class("Pooling")(transformer.get_embedding_dimension(), mode)]


def output_width(module: Any) -> int | None:
    """The width of the vectors a module hands on (token embeddings for the Transformer); ``None`` for a
    module that keeps the width it is given (Normalize) or writes another feature (a Dense's
    ``module_output_name``)."""
    if getattr(module, "module_output_name", "sentence_embedding") not in (
        "sentence_embedding",
        "token_embeddings",
    ):
        return None
    # get_embedding_dimension: sentence-transformers 6's name; a custom module may define an older one only
    for method in (
        "get_embedding_dimension",
        "get_sentence_embedding_dimension",
        "get_word_embedding_dimension",
    ):
        if hasattr(module, method):
            width = getattr(module, method)()
            return None if width is None else int(width)  # None: a module that does not say
    return None


def check_input_module(modules: list[Any], error: type[SbertError]) -> None:
    """The first module turns texts into features with sbert's batching (a ``tokenizer`` and
    ``to_features``): sbert's own input modules do, a custom one (``tokenize`` only) cannot run here."""
    first = modules[0]
    # A Router reads with its routes' first modules: each must be one of sbert's input modules.
    for reader in first.input_modules() if hasattr(first, "input_modules") else [first]:
        if not (hasattr(reader, "to_features") and getattr(reader, "tokenizer", None) is not None):
            where = " (of a route of the Router)" if reader is not first else ""
            raise error(
                f"{type(reader).__name__} cannot be the first module{where}: sbert feeds texts through its "
                "own input modules (Transformer, StaticEmbedding, WordEmbeddings, Router), which tokenize "
                "for its batching. Put the custom module after one of them."
            )


def check_widths(
    modules: list[Any],
    entries: list[ModuleEntry] | None = None,
    folder: Path | None = None,
    *,
    error: type[SbertError] = ModelLoadError,
) -> None:
    """Each module must take the width the modules before it give, or encode would fail or mislead later.

    ``error``: :class:`ModelLoadError` for a saved model (its files are wrong), :class:`InputError` for one
    being built from modules (the caller's arguments are).
    """
    width, source = None, 0  # the width handed on, and the module that set it
    for i, module in enumerate(modules):
        expected = getattr(module, "input_width", None)
        if expected is not None and width is not None and expected != width:
            kind = type(module).__name__
            where = f"{folder}: " if folder is not None else ""
            fix = (
                f"its config in {entries[i].path or '.'} is wrong"
                if entries
                else f"make {kind} take {width}-dim inputs"
            )
            raise error(
                f"{where}module {i} ({kind}) expects {expected}-dim inputs but module {source} "
                f"({type(modules[source]).__name__}) outputs {width}-dim vectors; {fix}."
            )
        if output_width(module) is not None:
            width, source = output_width(module), i
