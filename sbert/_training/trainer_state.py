"""``trainer_state.json``: Hugging Face's ``TrainerState`` of a run, written into each checkpoint.

Tools written for Hugging Face's trainer read it (loss plots from ``log_history``, ``best_model_checkpoint``,
``global_step``); its keys are those ``TrainerState.save_to_json`` writes, sorted as there. sbert resumes
from its own ``state.json`` (from this file's step where sentence-transformers wrote the checkpoint); a
resumed run takes the log history and the best checkpoint (``best_metric``, ``best_global_step``,
``best_model_checkpoint``) from this file, as Hugging Face's trainer restores them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FILE = "trainer_state.json"
# TrainerState's fields (transformers 5), without importing transformers
FIELDS = (
    "epoch",
    "global_step",
    "max_steps",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "train_batch_size",
    "num_train_epochs",
    "num_input_tokens_seen",
    "total_flos",
    "log_history",
    "best_metric",
    "best_global_step",
    "best_model_checkpoint",
    "is_local_process_zero",
    "is_world_process_zero",
    "is_hyper_param_search",
    "trial_name",
    "trial_params",
    "stateful_callbacks",
)
CONTROL_FLAGS = ("should_epoch_stop", "should_evaluate", "should_log", "should_save", "should_training_stop")


def record(state: Any, control: Any, callbacks: list[Any]) -> dict[str, Any]:
    """The JSON of the callbacks' ``state``, its ``stateful_callbacks`` brought up to date with ``control``
    and the stateful Hugging Face ``callbacks`` (``EarlyStoppingCallback``), as Hugging Face's trainer does
    before it saves the state."""
    values = vars(state)
    out = {name: values.get(name) for name in FIELDS}
    stateful = dict(values.get("stateful_callbacks") or {})
    for callback in [*callbacks, control]:
        if any(c.__name__ == "ExportableState" for c in type(callback).__mro__):
            name = type(callback).__name__
            if isinstance(stateful.get(name), list):
                stateful[name] = [*stateful[name], callback.state()]
            else:
                stateful[name] = callback.state()
    if "TrainerControl" not in stateful:  # sbert's own control (no Hugging Face callback in the run)
        args = {flag: bool(getattr(control, flag, False)) for flag in CONTROL_FLAGS}
        stateful["TrainerControl"] = {"args": args, "attributes": {}}
    out["stateful_callbacks"] = stateful
    out["log_history"] = [dict(entry) for entry in out["log_history"] or []]
    return out


def write(folder: Path, state: dict[str, Any]) -> None:
    (folder / FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def log_history(folder: Path) -> list[dict[str, Any]]:
    """The log history in ``folder``'s ``trainer_state.json`` (none in a checkpoint of an older sbert)."""
    path = folder / FILE
    if not path.is_file():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("log_history") or [])


BEST_FIELDS = ("best_metric", "best_global_step", "best_model_checkpoint")


def best_fields(folder: Path) -> dict[str, Any]:
    """The best metric, its step and checkpoint in ``folder``'s ``trainer_state.json`` (none in a checkpoint
    of an older sbert)."""
    path = folder / FILE
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    return {name: saved.get(name) for name in BEST_FIELDS}
