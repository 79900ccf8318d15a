"""A model card's YAML front matter, as sentence-transformers writes it (its keys in its order, the
evaluators' ``metrics`` and ``model-index``), for the card writers (:mod:`.card` and each model class's)
and the card data's ``to_yaml``; and which of sentence-transformers' model classes a model is
(:func:`model_kind`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

_KINDS = ("CrossEncoder", "SparseEncoder", "MultiVectorEncoder")  # else a SentenceTransformer's

# the registry of a model kind's architecture name in its card (the model type there), for the kinds that
# name it by their modules: the SparseEncoder's card module registers its rule (SPLADE, CSR, ...) on import
ARCHITECTURE_NAMES: dict[str, Callable[[Any], str]] = {}


def model_kind(model: Any) -> str:
    """Which of sentence-transformers' four card-data classes describes ``model`` (by its classes' names,
    so a subclass counts): "CrossEncoder", "SparseEncoder", "MultiVectorEncoder" or "SentenceTransformer"."""
    names = {kind.__name__ for kind in type(model).__mro__}
    return next((kind for kind in _KINDS if kind in names), "SentenceTransformer")


def card_front_matter(model: Any, card_data: dict[str, Any], *, export_only: bool = False) -> str:
    """The front matter of ``model``'s card (each model class's; a dense model's adds the seed cards'
    ``transformers`` tag, as its folder also loads in plain transformers, but for an export-only folder);
    ``card_data.to_yaml()`` gives it too."""
    kind = model_kind(model) if model is not None else None
    if kind in ARCHITECTURE_NAMES:  # a SparseEncoder's: SPLADE, CSR, ... by its modules
        return front_matter(card_data, ARCHITECTURE_NAMES[kind](model))
    if kind in ("CrossEncoder", "MultiVectorEncoder"):
        return front_matter(card_data, "CrossEncoder" if kind == "CrossEncoder" else "Multi-Vector Encoder")
    # the seed cards' `transformers` tag: the folder also loads in plain transformers (usage below)
    return front_matter(card_data, extra_tags=() if export_only or model is None else ("transformers",))


def front_matter(
    card_data: dict[str, Any], model_type: str = "SentenceTransformer", extra_tags: tuple[str, ...] = ()
) -> str:
    """The card's YAML front matter, its keys in sentence-transformers' order: language, license, tags (the
    card data's: the model class's defaults, then the trainer's, then ``extra_tags``), base model, the
    widget examples a trainer picked, datasets, pipeline tag and library name (the card data's), and the
    evaluators' ``metrics`` and ``model-index``
    (named by the card data's ``model_name``, else ``model_type`` as sentence-transformers names a model it
    has no name for)."""
    lines = ["---"]
    languages = card_data.get("language") or []
    if languages:
        lines.append("language:")
        lines += [f"- {language}" for language in languages]
    if card_data.get("license"):
        lines.append(f"license: {card_data['license']}")
    tags = list(dict.fromkeys([*(card_data.get("tags") or []), *extra_tags]))  # each once
    if tags:
        lines += ["tags:", *[f"- {tag}" for tag in tags]]
    if card_data.get("base_model"):
        lines.append(f"base_model: {card_data['base_model']}")
    widget = card_data.get("widget") or []
    if widget:
        lines += ["widget:", *_yaml_lines(widget, "")]
    datasets = card_data.get("datasets") or []
    if datasets:
        lines.append("datasets:")
        lines += [f"- {d}" for d in datasets]
    for key in ("pipeline_tag", "library_name"):
        if card_data.get(key):
            lines.append(f"{key}: {card_data[key]}")
    lines += evaluation_metadata(card_data, model_type)
    lines.append("---\n")
    return "\n".join(lines)


def evaluation_metadata(card_data: dict[str, Any], model_type: str) -> list[str]:
    """The front matter's ``metrics`` (each evaluator's metric names, its name prefix dropped) and
    ``model-index`` (per evaluator: its task, its name as the dataset, each metric's type, value and name),
    which the Hugging Face Hub shows as evaluation results; sentence-transformers' ``format_eval_metrics``
    and huggingface_hub's ``eval_results_to_model_index``, as YAML lines."""
    metric_names, index = evaluation_index(card_data, model_type)
    if not metric_names:
        return []
    return ["metrics:", *[f"- {_yaml(n)}" for n in metric_names], "model-index:", *_yaml_lines(index, "")]


def evaluation_index(card_data: dict[str, Any], model_type: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The front matter's ``metrics`` and ``model-index`` as data (see :func:`evaluation_metadata`)."""
    metric_names: dict[str, None] = {}
    results: dict[tuple[str, str], dict[str, Any]] = {}  # (task type, dataset type) -> result
    for evaluator, metrics in (card_data.get("eval_results_dict") or {}).items():
        name = getattr(evaluator, "name", None)
        if name and all(key.startswith(name + "_") for key in metrics):
            metrics = {key[len(name) + 1 :]: value for key, value in metrics.items()}
        metric_names.update(dict.fromkeys(metrics))
        task = evaluator.description
        task_type, dataset_type = task.lower().replace(" ", "-"), name or "unknown"
        result = results.setdefault(
            (task_type, dataset_type),
            {
                "task": {"type": task_type, "name": task},
                "dataset": {
                    "name": name.replace("_", " ").replace("-", " ") if name else "Unknown",
                    "type": dataset_type,
                },
                "metrics": [],
            },
        )
        result["metrics"] += [
            {"type": key, "value": number, "name": key.replace("_", " ").title()}
            for key, value in metrics.items()
            if (number := _metric_number(value)) is not None
        ]
    if not metric_names:
        return [], []
    model_name = card_data.get("model_name") or _default_model_name(card_data, model_type)
    return list(metric_names), [{"name": model_name, "results": list(results.values())}]


def _default_model_name(card_data: dict[str, Any], model_type: str) -> str:
    """sentence-transformers' name for a model whose card data has none: "<type> based on <base model>"
    for a base model on the hub (a local folder is none there), else the type."""
    base = card_data.get("base_model")
    if base and model_type in ("SentenceTransformer", "CrossEncoder") and not Path(str(base)).exists():
        return f"{model_type} based on {base}"
    return model_type


def _metric_number(value: Any) -> float | None:
    """A metric's value as a number, as sentence-transformers' ``try_to_float`` reads it ("0.5 (x)" too)."""
    value = value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value
    try:
        return float(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and " " in value:
            return _metric_number(value.split()[0])
        return None


def _yaml(value: Any) -> str:
    """A scalar in YAML: JSON's strings and numbers are YAML's too, each character past ASCII escaped (YAML
    takes no raw control characters, and reads JSON's surrogate pair as two characters: ``\\U`` instead)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    text = json.dumps(value, ensure_ascii=False)
    return "".join(c if ord(c) < 0x7F else _escape(ord(c)) for c in text)


def _escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _yaml_lines(value: Any, indent: str) -> list[str]:
    """Block-style YAML lines of nested lists and dicts of scalars."""
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else [(None, v) for v in value]
    for key, item in items:
        head = f"{indent}{key}:" if key is not None else f"{indent}-"
        if isinstance(item, (dict, list)):
            inner = _yaml_lines(item, indent + "  ")
            if key is None:  # "- first: ..." then the rest at the item's indent
                lines += [f"{head} {inner[0].lstrip()}", *inner[1:]]
            else:
                lines += [head, *inner]
        else:
            lines.append(f"{head} {_yaml(item)}")
    return lines
