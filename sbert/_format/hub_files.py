"""sentence-transformers' file helpers (``util.load_file_path``, ``util.load_dir_path``, ``util.http_get``):
one file or subfolder of a local model folder or a hub repository, and a URL downloaded to a file.

A local folder is read as it is; only a name that is not a local folder goes to the hub, and only a clear
"not there" (no such file, repository name or cached copy) becomes ``None``: authentication, rate-limit and
network errors reach the caller, so a missing file is never mistaken for one the hub did not answer for.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from .._errors import InputError


def _check_relative(part: str | os.PathLike) -> None:
    path = PurePosixPath(Path(part).as_posix())
    if path.is_absolute() or Path(part).is_absolute() or ".." in path.parts:
        raise InputError(f"{str(part)!r} must be a path inside the model folder (relative, without '..').")


def _hub_options(revision: Any, token: Any, cache_folder: Any, local_files_only: bool) -> dict[str, Any]:
    """The keywords both hub downloads take, sentence-transformers' library name among them."""
    return {
        "revision": revision,
        "token": token,
        "cache_dir": cache_folder,
        "local_files_only": local_files_only,
        "library_name": "sentence-transformers",
    }


def _not_found_errors() -> tuple[type[Exception], ...]:
    from huggingface_hub.errors import EntryNotFoundError, HFValidationError, LocalEntryNotFoundError

    return EntryNotFoundError, HFValidationError, LocalEntryNotFoundError


def load_file_path(
    model_name_or_path: str,
    filename: str | os.PathLike,
    subfolder: str = "",
    token: bool | str | None = None,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
) -> str | None:
    """The local path of ``subfolder/filename`` of a model folder, or of a hub repository's (downloaded into
    the cache); ``None`` where it does not exist."""
    _check_relative(subfolder)
    _check_relative(filename)
    local = Path(model_name_or_path, subfolder, filename)
    if local.exists():
        return str(local)
    if Path(model_name_or_path).is_dir():
        return None
    from huggingface_hub import hf_hub_download

    inside = Path(subfolder, filename)
    where = _hub_options(revision, token, cache_folder, local_files_only)
    try:
        return hf_hub_download(
            model_name_or_path, filename=inside.name, subfolder=inside.parent.as_posix(), **where
        )
    except _not_found_errors():
        return None


def load_dir_path(
    model_name_or_path: str,
    subfolder: str | os.PathLike,
    token: bool | str | None = None,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
) -> str | None:
    """The local path of a model folder's ``subfolder``, or of a hub repository's (its files downloaded into
    the cache); ``None`` where the local folder lacks it or the name is no repository."""
    _check_relative(subfolder)
    subfolder = Path(subfolder).as_posix()
    local = Path(model_name_or_path, subfolder)
    if local.exists():
        return str(local)
    if Path(model_name_or_path).is_dir():
        return None
    from huggingface_hub import snapshot_download

    wanted = subfolder not in ("", ".")
    try:
        root = snapshot_download(
            repo_id=model_name_or_path,
            allow_patterns=f"{subfolder}/**" if wanted else None,
            **_hub_options(revision, token, cache_folder, local_files_only),
        )
    except _not_found_errors():
        return None
    if wanted and not Path(root, subfolder).is_dir():
        raise OSError(f"{model_name_or_path!r} has no folder {subfolder!r} on the hub or in the local cache.")
    return str(Path(root, subfolder))


def http_get(url: str, path: str) -> None:
    """Download ``url`` to ``path`` (its folders made), with a progress bar; the file appears whole or not
    at all (written to ``<path>_part`` first, removed on failure). HTTP errors raise
    ``httpx.HTTPStatusError``."""
    import httpx
    from tqdm.auto import tqdm

    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    part = path + "_part"
    with httpx.stream("GET", url, follow_redirects=True) as response:
        response.raise_for_status()
        size: Any = response.headers.get("Content-Length")
        bar = tqdm(unit="B", total=int(size) if size else None, unit_scale=True, leave=False)
        bar.set_description(f"Downloading {os.path.basename(path)}")
        try:
            with open(part, "wb") as file:
                for chunk in response.iter_bytes(chunk_size=1 << 16):
                    bar.update(len(chunk))
                    file.write(chunk)
            os.replace(part, path)
        except BaseException:
            if os.path.exists(part):
                os.remove(part)
            raise
        finally:
            bar.close()
