"""Checkpoints: everything needed to resume a run exactly, written atomically.

``OUTPUT/checkpoint-120/`` (Hugging Face's trainer's name) is itself a loadable sbert / sentence-transformers
model folder (the model's files at its root, as there), with beside them Hugging Face's resume files
(``optimizer.pt``, ``scheduler.pt`` and ``rng_state.pth``, ``rng_state_<rank>.pth`` for several processes:
sentence-transformers' trainer resumes from them too), ``training_state.pt`` (the losses' own weights such as
SoftmaxLoss's classifier; these files left out with ``save_only_model``, and then no run resumes from it),
``state.json`` (step, epoch, best metric) and Hugging Face's ``trainer_state.json``. The folder is built
beside its final name and renamed into place, so a run killed at any moment leaves only complete
checkpoints. Checkpoints of older sbert versions (``checkpoint-000120/`` with the model in ``model/``; all
the resume state in ``training_state.pt``) are still found and resumed from; one that sentence-transformers
wrote (Hugging Face's files without ``state.json``) resumes from its ``trainer_state.json`` and those files.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError, ModelFolderNotFoundError
from .._io.atomic import atomic_directory
from .._st_loggers import ST_MODEL
from . import trainer_state

PATTERN = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "state.json"
TENSORS_FILE = "training_state.pt"
# the resume state's parts Hugging Face's trainer reads from files of its own (older sbert: in TENSORS_FILE)
OPTIMIZER_FILE, SCHEDULER_FILE = "optimizer.pt", "scheduler.pt"
OLD_MODEL_DIR = "model"  # where older sbert versions put the model inside a checkpoint


def checkpoint_name(step: int) -> str:
    return f"checkpoint-{step}"


def path_of(output_dir: Path, step: int) -> Path:
    """The checkpoint of ``step`` in ``output_dir``: an older sbert's zero-padded name where only that
    one is there."""
    path = output_dir / checkpoint_name(step)
    old = output_dir / f"checkpoint-{step:06d}"
    return old if not path.is_dir() and old.is_dir() else path


def model_folder(path: Path) -> Path:
    """The model's folder in the checkpoint at ``path``: the checkpoint itself, or an older sbert's
    ``model/``."""
    old = path / OLD_MODEL_DIR
    return old if old.is_dir() and not (path / "modules.json").is_file() else path


def list_checkpoints(output_dir: Path, complete: bool = True) -> list[Path]:
    """Complete checkpoints in ``output_dir`` (with ``complete=False``, every ``checkpoint-<step>`` folder),
    oldest first."""
    if not output_dir.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in output_dir.iterdir()
        if (m := PATTERN.match(p.name)) and p.is_dir() and (not complete or _complete(p))
    ]
    return [p for _, p in sorted(found)]


def _complete(path: Path) -> bool:
    """Whether the checkpoint at ``path`` is whole: sbert's, or one sentence-transformers wrote (its
    ``trainer_state.json`` is written after the rest there)."""
    return (path / STATE_FILE).is_file() or (path / trainer_state.FILE).is_file()


def latest(output_dir: Path) -> Path | None:
    """The newest ``checkpoint-<step>`` folder in ``output_dir``, whoever wrote it (Hugging Face's trainer
    resumes from that one): :func:`load` says whether a run can resume from it. None if there is none."""
    found = list_checkpoints(output_dir, complete=False)
    return found[-1] if found else None


def remove_partial(output_dir: Path) -> None:
    """Remove the temporary folders a killed run may have left beside its checkpoints."""
    if output_dir.is_dir():
        for p in output_dir.iterdir():
            # (a checkpoint's model is saved atomically too: its temporary sits beside the checkpoint's)
            if p.name.startswith((".checkpoint-", "..checkpoint-", ".best.", ".final.")) and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


def save(
    output_dir: Path,
    step: int,
    model: Any,
    state: dict[str, Any],
    tensors: dict[str, Any] | None,
    keep: int | None,
    hf_state: dict[str, Any] | None = None,
    best: Path | None = None,
    write_model: Callable[[Path], None] | None = None,
    model_in_place: bool = False,
) -> Path:
    """Write the checkpoint of ``step`` (``hf_state``: its ``trainer_state.json``; ``write_model(folder)``
    writes the model's files, default ``model.save``), then keep the ``keep`` newest, and the ``best``
    checkpoint besides (see :func:`rotate`). With ``model_in_place``, ``write_model`` gets the checkpoint's
    own path, not made yet, as Hugging Face's trainer gives it to a subclass's ``save_model`` / ``_save``
    (:func:`_write_in_place`)."""
    path = output_dir / checkpoint_name(step)
    # sentence-transformers' "Saving model to <path>" names the checkpoint, not the temporary folder
    st_log = logging.getLogger(ST_MODEL)
    st_log.info(f"Saving model to {path}")
    quiet, st_log.disabled = st_log.disabled, True
    try:
        earlier = _write_in_place(path, write_model) if model_in_place and write_model else None
        try:
            with atomic_directory(path) as tmp:
                if model_in_place and write_model:
                    if path.is_dir():
                        os.rename(path, tmp)  # onto the empty temporary folder: one rename
                else:
                    (write_model or model.save)(tmp)
                if tensors is not None:  # None: the model only (save_only_model)
                    _write_tensors(tmp, tensors)
                if hf_state is not None:
                    trainer_state.write(tmp, hf_state)
                (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))
        except BaseException:
            if earlier is not None and not path.exists():
                os.rename(earlier, path)
            raise
    finally:
        st_log.disabled = quiet
    if earlier is not None:
        shutil.rmtree(earlier, ignore_errors=True)
    if keep is not None:
        rotate(output_dir, keep, best)
    return path


def _rng_file(rank: int, processes: int) -> str:
    return "rng_state.pth" if processes == 1 else f"rng_state_{rank}.pth"  # Hugging Face's names


def _write_tensors(folder: Path, tensors: dict[str, Any]) -> None:
    """``tensors`` (optimizer, scheduler, each process's RNG state, the losses' own weights) as Hugging Face's
    trainer writes the first three, the losses' in ``TENSORS_FILE``."""
    torch.save(tensors["optimizer"], folder / OPTIMIZER_FILE)
    torch.save(tensors["scheduler"], folder / SCHEDULER_FILE)
    for rank, state in enumerate(tensors["rng"]):
        torch.save(state, folder / _rng_file(rank, len(tensors["rng"])))
    torch.save({"losses": tensors["losses"]}, folder / TENSORS_FILE)


def _read_tensors(folder: Path, processes: int) -> dict[str, Any]:
    """What :func:`_write_tensors` wrote (or an older sbert's ``TENSORS_FILE``, which held it all); from a
    checkpoint sentence-transformers wrote, its files without the losses' own weights (``losses``: None)."""
    from transformers.trainer_pt_utils import safe_globals  # numpy's RNG state, as Hugging Face loads it

    own = folder / TENSORS_FILE
    tensors = torch.load(own, map_location="cpu", weights_only=True) if own.is_file() else {"losses": None}
    if "optimizer" in tensors:
        return tensors
    with safe_globals():
        rng = [
            torch.load(folder / _rng_file(rank, processes), weights_only=True)
            for rank in range(processes)
            if (folder / _rng_file(rank, processes)).is_file()
        ]
    return {
        **tensors,
        "optimizer": torch.load(folder / OPTIMIZER_FILE, map_location="cpu", weights_only=True),
        "scheduler": torch.load(folder / SCHEDULER_FILE, map_location="cpu", weights_only=True),
        "rng": rng,
    }


def _write_in_place(path: Path, write_model: Callable[[Path], None]) -> Path | None:
    """``write_model(path)``, the checkpoint's model written at its own path before its temporary folder is
    made (the rest of the checkpoint is written there, then it takes ``path`` whole: until then ``path`` holds
    the model's files only, no ``state.json``, and is no complete checkpoint). An earlier checkpoint at
    ``path`` is set aside meanwhile, as a ``.checkpoint-`` folder that :func:`remove_partial` clears, put back
    if the write fails: returned, to remove once the new checkpoint is in place."""
    earlier = None
    if path.exists():
        earlier = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.rename(path, earlier)
    try:
        write_model(path)
    except BaseException:
        if earlier is not None:
            shutil.rmtree(path, ignore_errors=True)
            os.rename(earlier, path)
        raise
    return earlier


def rotate(output_dir: Path, keep: int, best: Path | None) -> None:
    """Delete the oldest checkpoints until ``keep`` remain, never the newest (to resume from) nor ``best``:
    Hugging Face's trainer's rule, so with ``keep=1`` and an older best, two remain."""
    found = list_checkpoints(output_dir)
    if keep <= 0 or len(found) <= keep:
        return
    protected = {found[-1].name} | ({best.name} if best is not None else set())
    remaining = len(found)
    for old in found:
        if remaining <= max(keep, len(protected)):
            break
        if old.name not in protected:
            _remove(old)
            remaining -= 1


def keep_only(output_dir: Path, best: Path) -> None:
    """Delete every checkpoint but ``best`` (the end of a run with ``save_total_limit=1``, as Hugging Face's
    trainer)."""
    for old in list_checkpoints(output_dir):
        if old.name != best.name:
            _remove(old)


def _remove(path: Path) -> None:
    # renamed first (atomic), so a run killed mid-delete never leaves a half-deleted checkpoint
    doomed = path.with_name(f".{path.name}.deleting")
    os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def load(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(state, tensors)`` of the checkpoint at ``path``. A checkpoint sentence-transformers wrote (no
    ``state.json``) gives the state :func:`hugging_face_state` reads from its ``trainer_state.json``, without
    the position in the epoch (``epoch``, ``batch_in_epoch``), which the trainer places by the step."""
    if not path.is_dir():  # a FileNotFoundError, as sentence-transformers' trainer raises it
        raise ModelFolderNotFoundError(f"Path {path} not found: no checkpoint there to resume from.")
    if (path / STATE_FILE).is_file():
        state = json.loads((path / STATE_FILE).read_text())
    elif (path / trainer_state.FILE).is_file():
        state = hugging_face_state(path)
    else:
        raise InputError(f"{path} is not a complete checkpoint (no {STATE_FILE} or {trainer_state.FILE}).")
    if not (path / TENSORS_FILE).is_file() and not (path / OPTIMIZER_FILE).is_file():
        raise InputError(
            f"{path} holds the model only (a run with save_only_model=True wrote it): no optimizer, schedule "
            f"or random state to resume from. Start a new run from its weights ({model_folder(path)}), or "
            "resume from a checkpoint written with save_only_model=False."
        )
    return state, _read_tensors(path, state.get("world_size", 1))


def hugging_face_state(path: Path) -> dict[str, Any]:
    """The resume state of a checkpoint Hugging Face's trainer (sentence-transformers') wrote, from its
    ``trainer_state.json``: the step, the best metric and its step, and the processes that wrote it (one
    ``rng_state_<rank>.pth`` each where there were several). The losses summed before it are not kept there:
    a resumed run's mean loss counts its own steps only, as there."""
    saved = json.loads((path / trainer_state.FILE).read_text(encoding="utf-8"))
    ranks = len(list(path.glob("rng_state_*.pth")))
    return {
        "step": int(saved.get("global_step") or 0),
        "best_metric": saved.get("best_metric"),
        "best_step": saved.get("best_global_step"),
        "loss_sum": 0.0,
        "world_size": max(ranks, 1),
    }
