"""Torch modules of a sentence-embedding pipeline: Transformer -> Pooling -> Dense -> Normalize.

Each module maps a dict of tensors to a dict of tensors, saves its own config in its own folder and loads
from a local folder only (names are resolved to folders before any module sees them). Which class serves
which modules.json entry is decided by the one registry, ``sbert._format.layout.MODULE_TYPES``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._errors import InputError, ModelLoadError, RemoteCodeRequiredError, SbertError, warn_at_caller
from .._format.layout import (
    CUSTOM,
    MODULE_TYPES,
    MODULES_FILE,
    ModuleEntry,
    check_plain_folder,
    default_pooling_mode,
    encoder_config_file,
    kind_of_module,
    loads_as_plain,
    model2vec_entries,
    modules_json,
    pooling_width_note,
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


class NamedModules(list):
    """A pipeline's modules with their names (``nn.Sequential``'s child names: modules.json's ``"name"``,
    or what an edit such as ``add_module("norm2", ...)`` gave), which the network built of them keeps."""

    def __init__(self, modules: Iterable[Any], names: Sequence[str]) -> None:
        super().__init__(modules)
        self.names = [str(name) for name in names]


def child_names(network: Any) -> list[str]:
    """The names of a pipeline's children (``nn.Sequential``'s; ONNX stand-ins give their positions)."""
    return [name for name, _ in network.named_children()]


def module_names(modules: Sequence[Any]) -> list[str]:
    """The names a network built of ``modules`` gives them: a :class:`NamedModules`' names, else positions
    (``nn.Sequential(OrderedDict(zip(module_names(modules), modules)))``)."""
    names = getattr(modules, "names", None)
    if names is not None and len(names) == len(modules):
        return list(names)
    return [str(i) for i in range(len(modules))]


def load_modules(
    folder: Path,
    *,
    allow_pickle: bool,
    trust_remote_code: bool,
    transformer_options: dict[str, Any] | None = None,
    entries: list[ModuleEntry] | None = None,
    model_type: str | None = None,
    class_of: Any = None,
) -> list[Any]:
    """The modules of the model saved in ``folder`` (a :class:`NamedModules`, named as modules.json names
    them), their widths checked against each other.

    ``transformer_options`` (``model_kwargs``, ``config_kwargs``, ``processor_kwargs``) go to the Transformer
    only, and to a Router, which hands them on to its routes' modules as sentence-transformers' does.
    ``entries``: the modules to load in place of the folder's own list (its modules.json read and
    changed by the caller, e.g. another library's type names mapped to sbert's kinds). ``model_type``: the
    loading class, which converts another class's folder (see ``layout.loads_as_plain``). ``class_of``: the
    class each entry loads as, where a model subclass picks it (its ``_load_module_class_from_ref``).
    """
    options = {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code}
    if entries is None:
        if loads_as_plain(folder, model_type):  # a plain Hugging Face folder, or another class's, converted
            return _plain_encoder(folder, {**options, **(transformer_options or {})})
        entries = model2vec_entries(folder) or read_modules(folder)  # a model2vec folder: a static model
    modules = []
    for entry in entries:
        cls = class_of(entry) if class_of is not None else None
        if entry.kind == CUSTOM or (cls is not None and cls is not module_class(entry.kind)):
            module = load_custom_module(
                folder,
                entry,
                trust_remote_code=trust_remote_code,
                transformer_options=transformer_options,
                cls=cls,
            )
        else:
            transformer = transformer_options or {} if entry.kind in ("Transformer", "Router") else {}
            module = module_class(entry.kind).load(folder / entry.path, **options, **transformer)
        modules.append(module)
    for module, entry in zip(modules, entries):
        if entry.kwargs:  # what encode hands this module's forward (sentence-transformers' module_kwargs)
            setattr(module, ENTRY_KWARGS, entry.kwargs)
    check_input_module(modules, ModelLoadError)
    check_widths(modules, entries, folder)
    return NamedModules(modules, [entry.name for entry in entries])


def load_custom_module(
    folder: Path,
    entry: ModuleEntry,
    *,
    trust_remote_code: bool,
    config_file: str = MODULES_FILE,
    transformer_options: dict[str, Any] | None = None,
    cls: type | None = None,
) -> Any:
    """A module of the user's own class (``entry.type_string``, a class path; ``cls``: the class a model
    subclass's ``_load_module_class_from_ref`` picked), loaded as sentence-transformers loads it:
    ``load(folder, subfolder=path, ...)`` for a :class:`Module` subclass; for an older one, its constructor
    with a Transformer's settings where it takes them (jina-embeddings-v3's ``custom_st.Transformer``:
    ``model_args``, ``config_args``, ...), else ``load(sub-folder)``. Importing the class runs its code, so
    only when trusted."""
    where = f"{folder / config_file}: module {entry.name}"  # the file that names it (a Router's config)
    if cls is None:
        if not trust_remote_code:
            raise RemoteCodeRequiredError(
                f"{where} is {entry.type_string!r}, a class outside sbert and sentence-transformers; "
                "importing it runs its code. Pass trust_remote_code=True if you trust this model."
            )
        cls = custom_class(entry.type_string, folder, where)
    from .base import is_new_style

    if is_new_style(cls):
        return cls.load(str(folder), subfolder=entry.path, trust_remote_code=True, local_files_only=True)
    init_kwargs = transformer_init_kwargs(cls, folder, entry.path, transformer_options or {})
    if init_kwargs is not None:
        return cls(str(folder), **init_kwargs)
    return cls.load(str(folder / entry.path))


# sentence-transformers' older names of the Transformer's settings, which older custom modules take
_OLDER_SETTING_NAMES = {
    "model_kwargs": "model_args",
    "processor_kwargs": "tokenizer_args",
    "config_kwargs": "config_args",
}


def transformer_init_kwargs(
    cls: type, folder: Path, subfolder: str, options: dict[str, Any]
) -> dict[str, Any] | None:
    """The constructor keywords sentence-transformers gives an older custom module that looks like a
    Transformer (its ``__init__`` takes ``model_kwargs`` and ``config_kwargs``, or the older ``model_args``,
    ``config_args``, ``tokenizer_args``): its saved settings, the hub keywords in each ``*_kwargs``, the
    caller's ``model_kwargs`` / ``config_kwargs`` / ``processor_kwargs`` over them; ``None`` for another
    module (loaded by ``load(folder)``)."""
    import inspect

    parameters = set(inspect.signature(cls.__init__).parameters)
    older = bool(set(_OLDER_SETTING_NAMES.values()) & parameters)
    if not (older or {"model_kwargs", "config_kwargs"} <= parameters):
        return None
    config = module_class("Transformer").load_config(str(folder), subfolder=subfolder)
    hub = {
        "subfolder": subfolder,
        "token": None,
        "cache_dir": None,
        "revision": None,
        "local_files_only": True,
        "trust_remote_code": True,
    }
    for new, old in _OLDER_SETTING_NAMES.items():
        saved = config.pop(old) if old in config else config.get(new)
        config[new] = {**(saved or {}), **hub, **(options.get(new) or {})}
    if older and not {"model_kwargs", "config_kwargs"} <= parameters:
        config = {_OLDER_SETTING_NAMES.get(key, key): value for key, value in config.items()}
    for optional in ("modality_config", "module_output_name"):  # settings older modules do not take
        if optional not in parameters:
            config.pop(optional, None)
    return {**config, "backend": "torch"}


def is_custom_module(module: Any) -> bool:
    """Whether a pipeline module is the user's own class, not one of sbert's registered module types."""
    return not (kind_of_module(module) in MODULE_TYPES and type(module).__module__.startswith("sbert."))


# sbert's module kinds that leave the ``token_embeddings`` feature as they find it (they write the sentence
# embedding), a Dense or Normalize unless its ``module_output_name`` is ``token_embeddings``.
_TOKEN_KEEPING = frozenset({"Pooling", "Dense", "Normalize", "LayerNorm", "Dropout"})


def keeps_token_embeddings(module: Any) -> bool:
    """Whether ``module``, after the input module, leaves the ``token_embeddings`` feature unchanged (a CNN,
    an LSTM, a WeightedLayerPooling or a Dense on the tokens rewrites it; a custom module may)."""
    if is_custom_module(module) or kind_of_module(module) not in _TOKEN_KEEPING:
        return False
    return getattr(module, "module_output_name", None) != "token_embeddings"


def save_modules(modules: Any, folder: Path) -> None:
    """Write each module of a pipeline in its own folder (the first, input module at the root, as
    sentence-transformers saves it) and the ``modules.json`` that lists them."""
    entries = [save_module(module, folder, i) for i, module in enumerate(modules)]
    kwargs = [getattr(module, ENTRY_KWARGS, ()) for module in modules]
    names = child_names(modules)
    (folder / MODULES_FILE).write_text(json.dumps(modules_json(entries, kwargs, names), indent=2))


def save_module(module: Any, folder: Path, index: int) -> tuple[str, str]:
    """Write module ``index`` of a pipeline saved in ``folder``: its kind (a custom module's class path) and
    its sub-folder, as ``modules.json`` lists it."""
    name = type(module).__name__
    custom = is_custom_module(module)
    if custom and not callable(getattr(module, "save", None)):
        raise InputError(
            f"Module {index} ({name}) cannot be saved: sbert saves {sorted(MODULE_TYPES)} and "
            "custom modules with a save(output_path) method (subclass sbert.models.Module)."
        )
    at_root = index == 0 and getattr(module, "save_in_root", name == "Transformer")
    sub = "" if at_root else f"{index}_{name}"
    (folder / sub).mkdir(parents=True, exist_ok=True)
    if custom:  # the user's own module, under its class path (loading it needs trust_remote_code)
        save_custom_module(module, folder / sub)
        copy_folder_code(module, folder / sub)
    else:
        module.save(folder / sub)
    return (custom_class_path(module) if custom else kind_of_module(module)), sub


def custom_class_path(module: Any) -> str:
    """The ``modules.json`` type of a custom module: its class's import path (for a class of a model
    folder's own file, that file's module path)."""
    kind = type(module)
    return f"{_folder_code_path(kind) or kind.__module__}.{kind.__qualname__}"


def _folder_code_path(kind: type) -> str | None:
    import sys

    return getattr(sys.modules.get(kind.__module__), FOLDER_CODE_PATH, None)


def copy_folder_code(module: Any, folder: Path) -> None:
    """A module whose class came from its model folder's file: that file, copied beside the module (as
    sentence-transformers copies a remote module's code), so the saved model loads anywhere."""
    import shutil
    import sys

    kind = type(module)
    path = _folder_code_path(kind)
    if path is not None:
        target = folder.joinpath(*path.split(".")).with_suffix(".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = Path(sys.modules[kind.__module__].__file__)
        shutil.copyfile(source, target)
        # and the sibling files it imports, as sentence-transformers copies them
        for needed in _relative_import_files(source):
            destination = target.parent / needed.relative_to(source.parent)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(needed, destination)


def _relative_import_files(source: Path) -> list[Path]:
    """The files of the folder that a folder's own code file imports relatively (``from .helpers import x``),
    and those they import in turn: the files transformers' dynamic modules fetch with it."""
    import ast

    found: list[Path] = []
    pending = [source]
    while pending:
        tree = ast.parse(pending.pop().read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level != 1:
                continue
            names = [node.module] if node.module else [alias.name for alias in node.names]
            for name in names:
                file = source.parent.joinpath(*name.split(".")).with_suffix(".py")
                if file.is_file() and file != source and file not in found:
                    found.append(file)
                    pending.append(file)
    return found


def save_custom_module(module: Any, folder: Path) -> None:
    """``module.save(folder)`` as sentence-transformers calls it: with ``safe_serialization`` where the
    method takes it (sentence-transformers 5's modules), with the folder alone for older ones."""
    import inspect

    parameters = inspect.signature(module.save).parameters
    takes_option = "safe_serialization" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    module.save(str(folder), **({"safe_serialization": True} if takes_option else {}))


# The attribute of a module imported from a model folder's own file: the module path its modules.json
# type names (the folder's file, which a save copies beside the module, as sentence-transformers does).
FOLDER_CODE_PATH = "__sbert_folder_code_path__"


def custom_class(type_string: str, folder: Path, where: str) -> type:
    """The class a custom module's type names: from a ``.py`` file of that module path in the model folder
    (as a hub repository ships its module code), else from an installed module, in sentence-transformers'
    order. A folder's file is imported under a name of its own, so two models' ``custom_st.py`` never meet."""
    import hashlib
    import sys

    module_path, _, class_name = type_string.rpartition(".")
    source = folder.joinpath(*module_path.split(".")).with_suffix(".py")
    if source.is_file():
        # a package of the file's own directory, so ``from .helpers import x`` finds the folder's sibling
        # file; named after the directory and its code, so a changed or another folder's file is imported anew
        digest = hashlib.sha256(str(source.parent.resolve()).encode())
        for code in sorted(source.parent.glob("*.py")):
            digest.update(code.read_bytes())
        package = f"sbert_folder_code_{digest.hexdigest()[:16]}"
        if package not in sys.modules:
            spec = importlib.util.spec_from_loader(package, None, is_package=True)
            holder = importlib.util.module_from_spec(spec)
            holder.__path__ = [str(source.parent)]
            sys.modules[package] = holder
        name = f"{package}.{source.stem}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, source)
            module = importlib.util.module_from_spec(spec)
            setattr(module, FOLDER_CODE_PATH, module_path)
            sys.modules[name] = module  # dataclasses and pickling look a class's module up
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_path)
        except ModuleNotFoundError:
            raise ModelLoadError(
                f"{where}: cannot import {module_path!r} (not installed, and the model folder has no "
                f"{source.name}); install the package that defines {class_name}."
            ) from None
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
    """The first module turns inputs into features: one of sbert's input modules (a ``tokenizer`` and
    ``to_features``, for sbert's batching), or a module that reads them itself (``tokenize`` or
    ``preprocess``, run as sentence-transformers runs it: :func:`reads_as_sentence_transformers`)."""
    first = modules[0]
    if not hasattr(first, "input_modules") and _reads_itself(first):
        return
    # A Router reads with its routes' first modules: each must be one of sbert's input modules.
    for reader in first.input_modules() if hasattr(first, "input_modules") else [first]:
        if not _sbert_reader(reader):
            where = " (of a route of the Router)" if reader is not first else ""
            raise error(
                f"{type(reader).__name__} cannot be the first module{where}: it neither tokenizes "
                "(a tokenize or preprocess method) nor is one of sbert's input modules (Transformer, "
                "StaticEmbedding, WordEmbeddings, Router). Put the custom module after one of them."
            )


def _sbert_reader(module: Any) -> bool:
    return hasattr(module, "to_features") and getattr(module, "tokenizer", None) is not None


def _reads_itself(module: Any) -> bool:
    return callable(getattr(module, "tokenize", None)) or callable(getattr(module, "preprocess", None))


def reads_as_sentence_transformers(module: Any) -> bool:
    """Whether a pipeline's first module reads its inputs itself, so that encode runs it as
    sentence-transformers does (its ``preprocess`` or ``tokenize`` for each batch, then the pipeline's
    ``forward``): a module without sbert's batching interface (a user's own input module, jina-embeddings-v3's
    ``custom_st.Transformer``), or a subclass of one of sbert's whose ``tokenize``, ``preprocess`` or
    ``forward`` is the user's (sbert's batching would go round it)."""
    if hasattr(module, "input_modules"):  # a Router: its routes are sbert's input modules
        return False
    if not _sbert_reader(module):
        return _reads_itself(module)
    kind = type(module)
    methods = (getattr(kind, name, None) for name in ("tokenize", "preprocess", "forward"))
    return any(not getattr(m, "__module__", "sbert.").startswith("sbert.") for m in methods if m)


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
        where = f"{folder}: " if folder is not None else ""
        mismatch = expected is not None and width is not None and expected != width
        if mismatch and hasattr(module, "take_input_width"):  # a Pooling, which reads no width
            source_name = f"module {source} ({type(modules[source]).__name__})"
            path = entries[i].path if entries else None
            warn_at_caller(pooling_width_note(where, i, expected, source_name, width, path))
            module.take_input_width(width)
        elif mismatch:
            kind = type(module).__name__
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
