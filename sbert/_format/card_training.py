"""The card's "Training Details" section in sentence-transformers 6.3's layout, from what the trainer
recorded in the card data (:mod:`sbert._training.card_record`): each training and evaluation dataset (size,
columns, statistics and samples tables, the loss and its parameters), the hyperparameters (those changed,
then all), the training logs (the row of the checkpoint loaded at the end in bold), the training time and the
framework versions. Empty for a model no sentence-transformers-style trainer has been given data or run."""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pprint import pformat
from textwrap import indent
from typing import Any

from .._version import __version__

LOSS_DOCS = "https://sbert.net/docs/package_reference/{}/losses.html"  # the model class's package
MAX_SHOWN_LOG_ROWS = 100  # more rows are folded into a <details> block, as there
FRAMEWORKS = {  # the card's name -> the distribution whose version it lists
    "Transformers": "transformers",
    "PyTorch": "torch",
    "Accelerate": "accelerate",
    "Datasets": "datasets",
    "Tokenizers": "tokenizers",
}


def training_details(card_data: dict[str, Any], package: str = "sentence_transformer") -> str:
    """The "Training Details" section; empty until a trainer has recorded its datasets or its
    hyperparameters (a trainer made but not run yet shows its datasets, as sentence-transformers' card does).
    ``package``: the model class's package in sentence-transformers' documentation (``cross_encoder``,
    ...), where its losses are."""
    if not any(card_data.get(key) for key in ("all_hyperparameters", "train_datasets", "eval_datasets")):
        return ""
    parts = ["## Training Details\n"]
    for kind, records in (
        ("training", card_data.get("train_datasets")),
        ("evaluation", card_data.get("eval_datasets")),
    ):
        if records:
            parts.append(_datasets(kind, records, package))
    if card_data.get("all_hyperparameters"):  # recorded as training starts
        parts.append(_hyperparameters(card_data))
    parts.append(_training_logs(card_data.get("training_logs") or [], card_data.get("best_model_step")))
    parts.append(_training_time(card_data))
    parts.append(_framework_versions())
    return "\n".join(part for part in parts if part)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows (dicts with the same keys) as a table with centred columns, as transformers'
    ``make_markdown_table`` writes it (floats of more than 4 decimals rounded to 4)."""
    if not rows:
        return ""
    cells = [[_cell(v) for v in row.values()] for row in rows]
    widths = [max(len(str(key)), *(len(row[i]) for row in cells)) for i, key in enumerate(rows[0])]

    def line(values: list[str]) -> str:
        return "".join(f"| {v}" + " " * (w - len(v) + 1) for v, w in zip(values, widths)) + "|\n"

    return (
        line([str(k) for k in rows[0]])
        + "".join("|:" + "-" * w + ":" for w in widths)
        + "|\n"
        + "".join(line(row) for row in cells)
    )


def _cell(value: Any) -> str:
    if isinstance(value, float) and len(str(value).split(".")) > 1 and len(str(value).split(".")[1]) > 4:
        return f"{value:.4f}"
    return str(value)


def _datasets(kind: str, records: list[dict[str, Any]], package: str) -> str:
    folded = len(records) > 3
    text = f"### {kind.title()} Dataset{'s' if len(records) > 1 else ''}\n"
    for record in records:
        name = record.get("name") or "Unnamed Dataset"
        text += f"<details><summary>{name}</summary>\n" if folded else ""
        text += f"\n#### {name}\n" + _dataset(kind, record, package)
        text += "</details>\n" if folded else ""
    return text


def _dataset(kind: str, record: dict[str, Any], package: str) -> str:
    text = ""
    if record.get("name"):
        name, source = record["name"], record.get("id")
        text += (
            f"\n* Dataset: [{name}](https://huggingface.co/datasets/{source})"
            if source
            else f"\n* Dataset: {name}"
        )
        if source and record.get("revision"):
            text += f" at [{record['revision'][:7]}](https://huggingface.co/datasets/{source}/tree/{record['revision']})"
    text += "\n"
    if record.get("size"):
        text += f"* Size: {record['size']:,} {kind} samples\n"
    columns = record.get("columns") or []
    joined = " and ".join(columns) if len(columns) <= 2 else ", ".join(columns[:-1]) + ", and " + columns[-1]
    text += f"* Columns: {joined}\n"
    if record.get("stats"):
        text += (
            f"* Approximate statistics based on the first {min(record.get('size') or 100, 100)} samples:\n"
        )
        text += _stats_table(record["stats"])
    if record.get("examples"):
        text += "* Samples:\n" + _examples_table(record["examples"])
    text += "* Loss: " + _loss(record.get("loss") or {}, package) + "\n"
    return text


def _stats_table(stats: dict[str, dict[str, Any]]) -> str:
    def html_list(data: dict[str, Any]) -> str:
        return (
            "<ul><li>" + "</li><li>".join(f"{k}: {v}" for k, v in data.items()) + "</li></ul>" if data else ""
        )

    rows = [
        {"": "type", **{column: s["dtype"] for column, s in stats.items()}},
        {"": "modality", **{column: s.get("modality", "") for column, s in stats.items()}},
        {"": "details", **{column: html_list(s["data"]) for column, s in stats.items()}},
    ]
    return indent(markdown_table(rows).replace("-:|", "--|"), "  ")


def _examples_table(examples: dict[str, list[Any]]) -> str:
    columns = list(examples)
    rows = [
        {column: f"<code>{_example(examples[column][i])}</code>" for column in columns}
        for i in range(len(examples[columns[0]]))
    ]
    return indent(markdown_table(rows).replace("-:|", "--|"), "  ")


def _example(value: Any) -> str:
    if isinstance(value, list) and len(value) > 5:
        return str(value[:5])[:-1] + ", ...]"
    if isinstance(value, str) and len(value) > 1000:
        value = value[:1000] + "..."
    return str(value).replace("\n", "<br>").replace("|", "\\|")


def _loss(loss: dict[str, Any], package: str) -> str:
    fullname = loss.get("fullname", "")
    name = fullname.split(".")[-1]
    ours = fullname.startswith(("sbert.", "sentence_transformers."))
    text = (
        f"[<code>{name}</code>]({LOSS_DOCS.format(package)}#{name.lower()})"
        if ours
        else f"<code>{fullname}</code>"
    )
    if "config" in loss:
        try:
            code = json.dumps(loss["config"], indent=4)
        except TypeError:
            code = pformat(loss["config"], indent=4)
        text += " with these parameters:\n" + indent(f"```json\n{code}\n```", "  ")
    return text


def _hyperparameters(card_data: dict[str, Any]) -> str:
    changed = card_data.get("non_default_hyperparameters") or {}
    text = "### Training Hyperparameters\n"
    if changed:
        text += "#### Non-Default Hyperparameters\n\n" + "".join(
            f"- `{k}`: {v}\n" for k, v in changed.items()
        )
    every = card_data["all_hyperparameters"]
    text += "\n#### All Hyperparameters\n<details><summary>Click to expand</summary>\n\n"
    return text + "".join(f"- `{k}`: {v}\n" for k, v in every.items()) + "\n</details>\n"


def _training_logs(logs: list[dict[str, Any]], best_step: int | None) -> str:
    if not logs:
        return ""
    table = training_log_table(logs, best_step)
    folded = len(logs) > MAX_SHOWN_LOG_ROWS
    text = (
        "### Training Logs\n" + ("<details><summary>Click to expand</summary>\n\n" if folded else "") + table
    )
    if "**" in table:
        text += "\n* The bold row denotes the saved checkpoint."
    return text + ("\n</details>" if folded else "") + "\n"


def training_log_table(logs: list[dict[str, Any]], best_step: int | None) -> str:
    """The training logs as a markdown table: Epoch, Step, the losses, then the evaluators' metrics; the row
    of ``best_step`` (the checkpoint loaded at the end) in bold; empty without rows."""
    keys = list(dict.fromkeys(key for row in logs for key in row))
    first = {"Epoch": 0, "Step": 1, "Training Loss": 2, "Validation Loss": 3}

    def order(key: str) -> int:
        return first.get(key, 4 if key.endswith("loss") else keys.index(key) + 5)

    columns = sorted(keys, key=order)
    rows = [
        {key: _bold(row, key) if row["Step"] == best_step else row.get(key, "-") for key in columns}
        for row in logs
    ]
    return markdown_table(rows)


def _bold(row: dict[str, Any], key: str) -> str:
    value = row.get(key, "-")
    return f"**{round(value, 4) if isinstance(value, float) else value}**"


def _training_time(card_data: dict[str, Any]) -> str:
    """How long training took (and evaluating, within it), up to the card's writing, as there."""
    times = training_times(card_data)
    if times["training_time"] is None:
        return ""
    text = f"### Training Time\n- **Training**: {times['training_time']}"
    if times["evaluation_time"] is not None:
        text += f"\n- **Evaluation**: {times['evaluation_time']}\n- **Total**: {times['total_time']}"
    return text + "\n"


def training_times(card_data: dict[str, Any]) -> dict[str, str | None]:
    """The training, evaluation and total times up to now, as sentence-transformers' card data gives them
    (each as :func:`duration_text`; the last two only where the run evaluated; all None before a run)."""
    start = card_data.get("training_start_time")
    if start is None:
        return {"training_time": None, "evaluation_time": None, "total_time": None}
    total, evaluating = time.time() - start, card_data.get("evaluation_duration") or 0.0
    return {
        "training_time": duration_text(total - evaluating),
        "evaluation_time": duration_text(evaluating) if evaluating else None,
        "total_time": duration_text(total) if evaluating else None,
    }


def duration_text(seconds: float) -> str:
    """A duration as the card writes it: "23.0 seconds", "1.6 hours"."""
    for unit, size in (("seconds", 1), ("minutes", 60), ("hours", 3600)):
        if seconds / size < (60 if unit != "hours" else 24):
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:.1f} days"


def _framework_versions() -> str:
    """The versions of Python and the libraries training ran on (read from the installed packages' metadata,
    none imported); sbert is named beside the sentence-transformers release it is a drop-in for."""
    lines = [
        f"- Python: {platform.python_version()}",
        f"- Sentence Transformers: {st_release()} (sbert {__version__})",
    ]
    installed = installed_versions()
    lines += [f"- {name}: {installed[distribution]}" for name, distribution in FRAMEWORKS.items()]
    return "### Framework Versions\n" + "\n".join(lines) + "\n"


def st_release() -> str:
    """The sentence-transformers release sbert is a drop-in for (its version without sbert's post-release)."""
    return __version__.split(".post")[0]


def installed_versions() -> dict[str, str]:
    """The installed versions of :data:`FRAMEWORKS`' distributions, in its order ("" where one is not
    installed), from their metadata, none imported."""
    found = {}
    for distribution in FRAMEWORKS.values():
        try:
            found[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            found[distribution] = ""
    return found
