"""What sentence-transformers' trainers write into ``model.model_card_data`` as they are made (its model
card callback's ``on_init_end``): the training and evaluation datasets, the losses as tags, and the tags
``generated_from_trainer`` and ``dataset_size:<rows>``, so that a script reading them before ``train()``
sees the same. sbert's card (its own layout) reads the tags; the dataset records are there to be read."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .._format.card_data import ModelCardData, card_data_for
from .._losses.citations import SENTENCE_BERT

logger = logging.getLogger(__name__)


def record_trainer_start(
    model: Any, train_dataset: Any, eval_dataset: Any, loss: Any, router_mapping: Any = None
) -> None:
    """Record the trainer's datasets (with the statistics of their columns, which ``model`` tokenizes; the
    router mapping names a column's task) and losses in ``model.model_card_data``, as
    sentence-transformers'."""
    if model is None:
        return
    if not isinstance(model.model_card_data, ModelCardData):
        model.model_card_data = card_data_for(model)
    card = model.model_card_data
    card.add_tags("generated_from_trainer")
    if train_dataset is not None:
        card.train_datasets = dataset_records(
            train_dataset, loss, card.train_datasets, "train", model, router_mapping
        )
        size = sum(record.get("size", 0) for record in card.train_datasets)
        if size:
            card.add_tags(f"dataset_size:{size}")
    if eval_dataset is not None:
        card.eval_datasets = dataset_records(
            eval_dataset, loss, card.eval_datasets, "eval", model, router_mapping
        )
    card.add_tags([f"loss:{type(each).__name__}" for each in all_losses(loss)])
    card["citations"] = loss_citations(all_losses(loss))


def loss_citations(losses: list[Any]) -> dict[str, str]:
    """What the card's "Citation" section lists, as sentence-transformers' card data records it:
    Sentence-BERT, then the BibTeX entry of each loss class that has one (a class used twice, SpladeLoss's
    two FlopsLoss regularizers, once: its last instance's entry); the classes citing one entry joined
    ("A and B")."""
    by_class: dict[str, str] = {"Sentence Transformers": SENTENCE_BERT}
    for each in losses:
        entry = getattr(each, "citation", None)
        if isinstance(entry, str):
            by_class[type(each).__name__] = entry
    cited: dict[str, list[str]] = {}
    for name, entry in by_class.items():
        cited.setdefault(entry, []).append(name)
    return {
        (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]): entry
        for entry, names in cited.items()
    }


def all_losses(loss: Any) -> list[Any]:
    """The losses and those inside them (an inner loss, the regularizers), in sentence-transformers' order."""
    losses = list(loss.values()) if isinstance(loss, Mapping) else [loss]
    for each in losses:  # grows as it goes
        for name in ("loss", "document_regularizer", "query_regularizer"):
            inner = getattr(each, name, None)
            if inner is not None and not isinstance(inner, (int, float, str)) and inner not in losses:
                losses.append(inner)
    return losses


def dataset_records(
    dataset: Any,
    loss: Any,
    given: list[dict[str, Any]] | None = None,
    kind: str = "train",
    model: Any = None,
    router_mapping: Any = None,
) -> list[dict[str, Any]]:
    """One record per dataset (each of a dict of them): name, split, size, columns (as the transform, if
    any, gives them), the first three examples and the loss's class. The records the card data was given
    (``train_datasets=[{"name": ..., "id": ...}]``) are kept and filled in, one per dataset; given for a
    different number of datasets, they are dropped with sentence-transformers' warning."""
    parts = list(dataset.items()) if isinstance(dataset, Mapping) else [(None, dataset)]
    given = list(given or [])
    if given and len(given) != len(parts):
        logger.warning(
            f"The number of `{kind}_datasets` in the model card data does not match the number of {kind} "
            f"datasets in the Trainer. Removing the provided `{kind}_datasets` from the model card data."
        )
        given = []
    mapping = router_mapping or {}
    per_dataset = isinstance(next(iter(mapping.values()), None), Mapping)
    return [
        _record(
            part,
            name,
            loss[name] if isinstance(loss, Mapping) else loss,
            given[i] if given else None,
            model,
            mapping.get(name, {}) if per_dataset else mapping,
        )
        for i, (name, part) in enumerate(parts)
    ]


def _record(
    dataset: Any,
    name: str | None,
    loss: Any,
    given: dict[str, Any] | None,
    model: Any = None,
    router_mapping: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    info = getattr(dataset, "info", None)
    record: dict[str, Any] = (
        (dict(given) if isinstance(given, Mapping) else {"name": given})
        if given is not None
        else {
            # sentence-transformers' classic fit names its datasets _dataset_1, ...: no name on the card
            "name": (None if name and re.match(r"_dataset_\d+", name) else name)
            or getattr(info, "dataset_name", None),
            "split": str(getattr(dataset, "split", None)),
        }
    )
    try:
        record["size"] = len(dataset)
        first = dataset[:3]  # a set_transform's columns, as the trainer will read them
    except (TypeError, KeyError):  # an iterable dataset: no length, no slicing
        first = None
    if isinstance(first, Mapping):
        columns = [column for column in first if column != "dataset_name"]
        record["examples"] = {column: first[column] for column in columns}
    else:
        columns = list(getattr(dataset, "column_names", None) or [])
    record["columns"] = [f"<code>{column}</code>" for column in columns]
    if isinstance(first, Mapping) and model is not None:
        task_of = router_mapping or {}
        record["stats"] = {c: column_stats(model, dataset, c, task_of.get(c)) for c in columns}
    kind = type(loss)
    record["loss"] = {"fullname": f"{kind.__module__}.{kind.__qualname__}"}
    if hasattr(loss, "get_config_dict") and getattr(loss, "card_parameters", True):
        record["loss"]["config"] = {key: _config_value(v) for key, v in loss.get_config_dict().items()}
    return record


class DatasetRows:
    """An sbert :class:`~sbert._training.data.TextDataset` as sentence-transformers' card reads a
    ``datasets.Dataset``: its length, column names and a slice of rows as a dict of columns (the texts, then
    the labels under their column's name, as Python values), for sbert's own Trainer's card records."""

    def __init__(self, dataset: Any, labels: bool = True) -> None:
        """``labels=False``: the dataset's labels left out (a column the dataset it stands for lacks)."""
        self.dataset, self.labels = dataset, labels and dataset.labels is not None

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def column_names(self) -> list[str]:
        dataset = self.dataset
        return [*dataset.columns, *([dataset.label_column] if self.labels else [])]

    def __getitem__(self, rows: slice) -> dict[str, list[Any]]:
        dataset = self.dataset
        columns: dict[str, list[Any]] = {name: list(texts[rows]) for name, texts in dataset.columns.items()}
        if self.labels:
            labels = dataset.labels[rows]
            columns[dataset.label_column] = [v.tolist() if hasattr(v, "tolist") else v for v in labels]
        return columns


def record_own_run_start(
    model: Any, names: list[str], datasets: list[Any], losses: list[Any], args: Any
) -> None:
    """As a run of sbert's own Trainer starts: its datasets (by name) and losses, as
    :func:`record_trainer_start`, and its arguments (sbert's ``TrainingArguments``) as
    :func:`record_run_start`, so that its card has the Training Details section of sentence-transformers'
    trainers."""
    views = {name: DatasetRows(dataset) for name, dataset in zip(names, datasets)}
    record_trainer_start(model, views, None, dict(zip(names, losses)), args.router_mapping)
    record_run_start(model, args.to_dict(), type(args)(output_dir=args.output_dir).to_dict())


def record_own_run_logs(
    model: Any, records: list[dict[str, Any]], evaluator: Any, best_step: int | None
) -> None:
    """After a run of sbert's own Trainer: the card's training logs from its ``metrics.jsonl`` records (the
    evaluations' metrics named as Hugging Face's trainer logs them, ``eval_`` first), as
    :func:`record_run_logs`."""
    history = [
        record
        if "loss" in record or "learning_rate" in record
        else {k if k in ("step", "epoch", "time") else f"eval_{k}": v for k, v in record.items()}
        for record in records
    ]
    record_run_logs(model, history, evaluator, best_step)


STATS_ROWS, STATS_CHUNK = 100, 8  # the rows sentence-transformers' card describes, read 8 at a time


def column_stats(model: Any, dataset: Any, column: str, task: str | None = None) -> dict[str, Any]:
    """One column's type, modality and details (token counts of texts, the range of floats, the share of
    each integer or bool, list lengths) over the first 100 rows, as sentence-transformers' card computes
    them."""
    n_rows = min(len(dataset), STATS_ROWS)
    chunks = [dataset[start : start + STATS_CHUNK][column] for start in range(0, n_rows, STATS_CHUNK)]
    first = chunks[0][0]
    if isinstance(first, str):
        suffix, values = "tokens", []
        for chunk in chunks:
            counts = _token_counts(model, chunk, task)
            if counts is None:
                suffix, counts = "characters", [len(text) for text in chunk]
            values += counts
        low, mean, high = min(values), sum(values) / len(values), max(values)
        data = {key: f"{round(v, 2)} {suffix}" for key, v in (("min", low), ("mean", mean), ("max", high))}
        return {"dtype": "string", "modality": "text", "data": data}
    values = [value for chunk in chunks for value in chunk]
    if isinstance(first, (bool, int)):
        counts = Counter(values)
        share = {
            key: f"{'~' if len(counts) > 1 else ''}{counts[key] / len(values):.2%}" for key in sorted(counts)
        }
        return {"dtype": type(first).__name__, "modality": "", "data": share}
    if isinstance(first, float):
        data = {"min": round(min(values), 2), "mean": round(sum(values) / len(values), 2)}
        return {"dtype": "float", "modality": "", "data": {**data, "max": round(max(values), 2)}}
    if isinstance(first, list):
        sizes = [len(value) for value in values]
        if min(sizes) == max(sizes):
            return {"dtype": "list", "modality": "", "data": {"size": f"{sizes[0]} elements"}}
        data = {"min": f"{min(sizes)} elements", "mean": f"{sum(sizes) / len(sizes):.2f} elements"}
        return {"dtype": "list", "modality": "", "data": {**data, "max": f"{max(sizes)} elements"}}
    kind = type(first)
    return {"dtype": f"{kind.__module__}.{kind.__qualname__}", "modality": "", "data": {}}


def _token_counts(model: Any, texts: list[str], task: str | None) -> list[int] | None:
    """Each text's token count as the model's ``preprocess`` cuts it (its attention mask's sum); None for a
    model whose features have no attention mask. A Transformer made for retrieval reads texts as queries."""
    if task is None:
        retrieval = (
            getattr(model[0], "transformer_task", None) == "retrieval"
            if hasattr(model, "__getitem__")
            else False
        )
        task = "query" if retrieval else "document"
    features = model.preprocess(texts, task=task)
    mask = features.get("attention_mask") if isinstance(features, Mapping) else None
    if mask is None:
        return None
    return [int(row.sum()) for row in mask]


def _config_value(value: Any) -> Any:
    """A loss setting as sentence-transformers' card writes it: a model or loss inside as its class name with
    its base model or settings (``CoSENTLoss(scale=20.0, ...)``), anything else as it is."""
    if isinstance(value, (str, int, float, bool, type(None), list, dict, tuple)):
        return value
    parts = []
    card = getattr(value, "model_card_data", None)
    if card is not None:
        parts.append(repr(card.get("base_model") if isinstance(card, Mapping) else card.base_model))
    if getattr(value, "trust_remote_code", False):
        parts.append("trust_remote_code=True")
    if hasattr(value, "get_config_dict"):
        parts += [f"{key}={v!r}" for key, v in value.get_config_dict().items()]
    name = type(value).__name__
    return f"{name}({', '.join(parts)})" if parts else name


# the arguments sentence-transformers' card leaves out of its hyperparameter lists
UNLISTED_ARGUMENTS = frozenset(
    {
        "output_dir",
        "logging_dir",
        "logging_strategy",
        "logging_first_step",
        "logging_steps",
        "evaluation_strategy",
        "eval_strategy",
        "eval_steps",
        "eval_delay",
        "save_strategy",
        "save_steps",
        "save_total_limit",
        "metric_for_best_model",
        "greater_is_better",
        "report_to",
        "samples_per_label",
        "show_progress_bar",
        "do_train",
        "do_eval",
        "do_test",
        "run_name",
        "hub_token",
        "push_to_hub_token",
        # sbert's own Trainer's: where the run's files go and what it shows (no sentence-transformers names)
        "resume",
        "plot",
        "save_final_model",
        "log_last_steps",
    }
)


def record_run_start(model: Any, arguments: dict[str, Any], defaults: dict[str, Any]) -> None:
    """As a run starts: all the training arguments (``to_dict()``) and those that differ from ``defaults``,
    the card's hyperparameter lists, and the start time of the card's Training Time."""
    card = getattr(model, "model_card_data", None)
    if not isinstance(card, ModelCardData):
        return
    listed = {key: value for key, value in arguments.items() if key not in UNLISTED_ARGUMENTS}
    card["all_hyperparameters"] = listed
    card["non_default_hyperparameters"] = {
        key: value for key, value in listed.items() if key in defaults and value != defaults[key]
    }
    card["training_start_time"] = time.time()


def record_run_logs(
    model: Any, history: list[dict[str, Any]], evaluator: Any, best_step: int | None, eval_dataset: Any = None
) -> None:
    """After a run: the card's training logs from the run's records (``log_history``), as
    sentence-transformers' card callback collects them: per step its epoch, the training loss, the
    evaluation losses (``Validation Loss`` for one; a loss's parts, which the log has too, are not in the
    evaluation's metrics there) and the evaluators' primary metrics; ``best_step`` is the
    step of the checkpoint loaded at the end (bold in the table), None where none was."""
    card = getattr(model, "model_card_data", None)
    if not isinstance(card, ModelCardData):
        return
    primary = _primary_metrics(evaluator)
    names = list(eval_dataset) if isinstance(eval_dataset, Mapping) else []
    loss_keys = [f"eval_{name}_loss" for name in names] or ["eval_loss"]
    logs: list[dict[str, Any]] = card.setdefault("training_logs", [])
    for record in history:
        if "loss" in record:
            row = {"Training Loss": record["loss"]}
        elif any(key.startswith("eval_") for key in record):
            losses = {" ".join(key.split("_")[1:]): record[key] for key in loss_keys if key in record}
            if list(losses) == ["loss"]:
                losses = {"Validation Loss": losses["loss"]}
            metrics = {
                key[5:]: record[key] for key in record if key[5:] in primary and key.startswith("eval_")
            }
            row = {**metrics, **losses}  # the evaluator's first, as its callback runs before on_evaluate
            card["evaluation_duration"] = card.get("evaluation_duration", 0.0) + record.get(
                "eval_runtime", 0.0
            )
        else:
            continue
        if logs and logs[-1]["Step"] == record.get("step"):
            logs[-1].update(row)
        else:
            logs.append({"Epoch": record.get("epoch"), "Step": record.get("step"), **row})
    if best_step is not None:
        card["best_model_step"] = best_step


def _primary_metrics(evaluator: Any) -> list[str]:
    """The keys of the evaluator's primary metrics in its results (each of a sequence's evaluators')."""
    if evaluator is None:
        return []
    inner = getattr(evaluator, "evaluators", None)
    if isinstance(evaluator, (list, tuple)) or inner is not None:
        return [key for each in (inner if inner is not None else evaluator) for key in _primary_metrics(each)]
    key = getattr(evaluator, "primary_metric", None)
    return [key] if isinstance(key, str) else []
