"""The Transformer module's settings as sentence-transformers 6 names them, read and written without torch.

A classic ``sentence_bert_config.json`` holds ``max_seq_length`` and ``do_lower_case`` only;
sentence-transformers 6 adds ``transformer_task``, ``modality_config`` (which model method and output give the
features), ``module_output_name``, ``processing_kwargs`` and ``unpad_inputs``. sbert writes the newer keys
only where they differ from their defaults, so a default model's folder stays readable by every release.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .._errors import InputError, log_once
from .._st_loggers import ST_TRANSFORMER

# The feature each task's model output becomes, and where it comes from (sentence-transformers 6's
# TRANSFORMER_TASK_DEFAULTS for the tasks sbert runs).
TASK_DEFAULTS: dict[str, tuple[dict[Any, dict[str, Any]], str]] = {
    "feature-extraction": (
        {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "token_embeddings",
    ),
    "sequence-classification": ({"text": {"method": "forward", "method_output_name": "logits"}}, "scores"),
    "fill-mask": ({"text": {"method": "forward", "method_output_name": "logits"}}, "token_embeddings"),
}
# sentence-transformers 6's other tasks: generative rerankers and multi-vector retrieval, not in sbert.
OTHER_TASKS = ("text-generation", "any-to-any", "retrieval")
_CAUSAL_LOGITS = ({"text": {"method": "forward", "method_output_name": "logits"}}, "causal_logits")
_RETRIEVAL = {"method": "forward", "method_output_name": "embeddings"}
# sentence-transformers 6's table of all its tasks, by its name (its base.modules.transformer path)
TRANSFORMER_TASK_DEFAULTS: dict[str, tuple[dict[Any, dict[str, Any]], str]] = {
    "feature-extraction": TASK_DEFAULTS["feature-extraction"],
    "sequence-classification": TASK_DEFAULTS["sequence-classification"],
    "text-generation": _CAUSAL_LOGITS,
    "any-to-any": _CAUSAL_LOGITS,
    "fill-mask": TASK_DEFAULTS["fill-mask"],
    "retrieval": ({"text": _RETRIEVAL, "image": _RETRIEVAL}, "token_embeddings"),
}
# sentence-transformers 6.3's Transformer.config_keys: the settings its get_config_dict can hold.
CONFIG_KEYS = (
    "transformer_task",
    "modality_config",
    "module_output_name",
    "processing_kwargs",
    "unpad_inputs",
    "query_length",
    "document_length",
    "query_expansion",
)
# Top-level keys of processing_kwargs: the modalities, "common" (every modality) and "chat_template".
PROCESSING_KEYS = ("common", "text", "audio", "image", "video", "chat_template")
# Keys older folders (and sentence-transformers 5) store the constructor's option dicts under, newer first.
OPTION_DICT_KEYS = (
    "model_kwargs",
    "model_args",
    "processor_kwargs",
    "tokenizer_args",
    "config_kwargs",
    "config_args",
)


def check_task(task: Any) -> str:
    if task in TASK_DEFAULTS:
        return task
    if task in OTHER_TASKS:
        raise InputError(
            f"transformer_task {task!r} is not supported by sbert's Transformer; it runs "
            f"{list(TASK_DEFAULTS)} (CrossEncoder for rerankers, SparseEncoder for fill-mask models)."
        )
    raise InputError(f"Unsupported transformer_task {task!r}. Supported tasks are: {list(TASK_DEFAULTS)}")


def check_modality_config(config: Any, output_name: Any) -> dict[Any, dict[str, Any]]:
    """A caller's ``modality_config``: each entry a dict with ``method`` and ``method_output_name``; it needs
    ``module_output_name``, the feature the output is written to."""
    if not isinstance(config, dict):
        raise InputError(
            f"modality_config must be a dict of modality -> settings, got {type(config).__name__}"
        )
    if output_name is None:
        raise InputError(
            "Loading the Transformer module with a custom modality_config requires also providing "
            'module_output_name, the feature this module writes, e.g. "token_embeddings" or '
            '"sentence_embedding".'
        )
    for key, params in config.items():
        if not isinstance(params, dict) or "method" not in params or "method_output_name" not in params:
            raise InputError(
                f"Invalid modality_config entry for {key!r}: each entry must be a dict with 'method' and "
                f"'method_output_name' keys, but got {params!r}"
            )
    return config


def unknown_processing_keys(processing_kwargs: dict[str, Any]) -> list[str]:
    return sorted(str(k) for k in processing_kwargs if k not in PROCESSING_KEYS)


def merge_processing(instance: dict[str, Any], per_call: dict[str, Any] | None) -> dict[str, Any]:
    """Per-call ``processing_kwargs`` over the module's, one level deep (a per-call ``text.max_length``
    keeps the module's ``text.truncation``); neither is changed."""
    if not per_call:
        return instance
    if unknown := unknown_processing_keys(per_call):  # ignored and logged once, as sentence-transformers
        log_once(
            f"processing_kwargs of this call has keys {unknown} that no modality reads; they are ignored "
            f"(the keys are {list(PROCESSING_KEYS)}).",
            ST_TRANSFORMER,
        )
    return {
        key: {**instance.get(key, {}), **per_call.get(key, {})}
        for key in PROCESSING_KEYS
        if instance.get(key) or per_call.get(key)
    }


def modality_key_to_file(key: Any) -> str:
    """``("image", "text")`` -> ``"image+text"``, as sentence-transformers writes tuple modalities in JSON."""
    return "+".join(key) if isinstance(key, tuple) else key


def modality_key_from_file(key: str) -> Any:
    return tuple(key.split("+")) if "+" in key else key


def config_dict(settings: dict[str, Any]) -> dict[str, Any]:
    """sentence-transformers 6's ``Transformer.get_config_dict()`` (and repr): task, modality_config (tuple
    keys joined), output name; ``processing_kwargs`` only when set, ``unpad_inputs`` only when not None."""
    task = settings.get("transformer_task", "feature-extraction")
    default_config, default_name = TASK_DEFAULTS.get(task, TASK_DEFAULTS["feature-extraction"])
    modality_config = settings.get("modality_config") or default_config
    result: dict[str, Any] = {
        "transformer_task": task,
        "modality_config": {modality_key_to_file(k): v for k, v in modality_config.items()},
        "module_output_name": settings.get("module_output_name") or default_name,
    }
    if settings.get("processing_kwargs"):
        result["processing_kwargs"] = settings["processing_kwargs"]
    if settings.get("unpad_inputs") is not None:
        result["unpad_inputs"] = settings["unpad_inputs"]
    return result


def file_dict(max_seq_length: int | None, do_lower_case: bool, settings: dict[str, Any]) -> dict[str, Any]:
    """What ``sentence_bert_config.json`` holds: the classic keys every release reads (``max_seq_length``:
    Text Embeddings Inference requires it; the tokenizer's ``model_max_length`` holds the same limit, where
    sentence-transformers 6 and transformers read it), and the newer ones where they differ from the task's
    defaults (a folder with them loads in sentence-transformers 6)."""
    newer = config_dict(settings)
    default_config, default_name = TASK_DEFAULTS[newer["transformer_task"]]
    if newer["transformer_task"] == "feature-extraction":
        del newer["transformer_task"]
    if newer["modality_config"] == default_config and newer["module_output_name"] == default_name:
        del newer["modality_config"], newer["module_output_name"]
    return {"max_seq_length": max_seq_length, "do_lower_case": do_lower_case, **newer}


def settings_from_file(config: dict[str, Any]) -> dict[str, Any]:
    """The newer settings of a read ``sentence_bert_config.json`` (those it has), as constructor keywords."""
    settings = {
        k: config[k] for k in ("transformer_task", "processing_kwargs", "unpad_inputs") if k in config
    }
    if "modality_config" in config:
        settings["modality_config"] = {
            modality_key_from_file(k): v for k, v in (config["modality_config"] or {}).items()
        }
        settings["module_output_name"] = config.get("module_output_name")
    return settings


def load_config_view(config: dict[str, Any]) -> dict[str, Any]:
    """sentence-transformers 6's ``Transformer.load_config``: the file's keys, tuple modalities restored,
    ``trust_remote_code`` removed from the option dicts (a downloaded file must not switch it on), and the
    task's ``modality_config`` / ``module_output_name`` for folders saved without them."""
    config = copy.deepcopy(config)
    for key in OPTION_DICT_KEYS:
        if isinstance(config.get(key), dict):
            config[key].pop("trust_remote_code", None)
    settings = settings_from_file(config)
    if "modality_config" not in settings:
        task = config.get("transformer_task", "feature-extraction")
        default_config, default_name = TASK_DEFAULTS.get(task, TASK_DEFAULTS["feature-extraction"])
        settings["modality_config"], settings["module_output_name"] = (
            copy.deepcopy(default_config),
            default_name,
        )
    return {**config, **settings}


def disable_kv_cache(config: Any, config_kwargs: dict[str, Any]) -> None:
    """sentence-transformers 6's Transformer turns a loaded config's KV cache off (``use_cache=False``, in its
    sub-configs too) unless ``config_kwargs`` sets ``use_cache``: an encoder never reuses past keys, and the
    saved config.json then says so as theirs does."""
    use_cache = config_kwargs.get("use_cache", False)
    if hasattr(config, "use_cache"):
        config.use_cache = use_cache
    for name in getattr(config, "sub_configs", None) or {}:
        sub_config = getattr(config, name, None)
        if sub_config is not None:
            disable_kv_cache(sub_config, {"use_cache": use_cache, **(config_kwargs.get(name) or {})})


def config_options(config_kwargs: dict[str, Any] | None, *, trust_remote_code: bool) -> dict[str, Any]:
    """``AutoConfig.from_pretrained``'s keywords: the caller's ``config_kwargs`` over the constructor's
    ``trust_remote_code``, which they may repeat (sentence-transformers merges them over its hub keywords)."""
    return {"trust_remote_code": trust_remote_code, **(config_kwargs or {})}


def model_options(
    model_kwargs: dict[str, Any] | None, *, trust_remote_code: bool, weights: Path
) -> dict[str, Any]:
    """A transformers model's ``from_pretrained`` keywords: the caller's ``model_kwargs`` over the
    constructor's ``trust_remote_code`` and wrong-shaped weights reported, not raised (the loading info the
    loader checks), as sentence-transformers merges them; the loader's own two stay: the format of the
    ``weights`` file its safety check read (no pickle file it refused) and the loading info it checks."""
    return {
        "trust_remote_code": trust_remote_code,
        "ignore_mismatched_sizes": True,
        **(model_kwargs or {}),
        "use_safetensors": weights.name.startswith("model.safetensors"),
        "output_loading_info": True,
    }
