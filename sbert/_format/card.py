"""The README.md model card written next to a saved model.

It follows the standard sentence-transformers card: front matter, what the model does, usage with sbert,
with sentence-transformers and with plain transformers plus the model's own pooling (runnable as written),
evaluation results, the full architecture and the citation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .card_data import ST_TASK_NAME
from .card_training import training_details
from .encoder_class import plain_transformers_class


def model_card(model: Any, model_name: str, *, export_only: bool = False) -> str:
    """Markdown for ``model`` saved under ``model_name`` (the name users will load it by); ``export_only``:
    a folder of ``sbert export``, whose weights are in its ONNX graph only."""
    dim = model.get_embedding_dimension()
    card_data = model.model_card_data
    title = card_data.get("model_name") or model_name
    model_name = card_data.get("model_id") or model_name  # the name the usage code loads
    task = card_data.get("task_name")
    if task in (None, ST_TASK_NAME):  # the seed cards' words for sentence-transformers' default task
        task = "clustering or semantic search"
    sections = [
        card_front_matter(model, card_data, export_only=export_only),
        f"# {title}\n",
        "This is a sentence-embedding model made with [sbert](https://www.SBERT.net) (Sentence-BERT): "
        f"it maps sentences & paragraphs to a {dim} dimensional dense vector space and can be used for "
        f"tasks like {task}. Similarity function: {model.similarity_fn_name}. "
        f"{length_note(model.max_seq_length)}\n",
        _usage_sbert(model_name),
        *(
            [export_note("sentence-transformers or transformers")]
            if export_only
            else [_usage_sentence_transformers(model_name), _usage_transformers(model, model_name)]
        ),
        _evaluation(card_data.get("evaluation") or {}),
        results_section("Training", card_data.get("training")),
        training_details(card_data),
        f"## Full Model Architecture\n```\n{model!r}\n```\n",
        citation_section(card_data.get("citations") or {}),
    ]
    return "\n".join(s for s in sections if s)


def citation_section(citations: dict[str, str]) -> str:
    """The card's "Citation" section as sentence-transformers' card writes it: one BibTeX block per entry of
    ``citations`` (names -> entry: Sentence-BERT and the training losses', as the trainer recorded them);
    empty for a model no trainer has trained, as there."""
    blocks = [f"#### {names}\n```bibtex\n{entry.strip()}\n```\n" for names, entry in citations.items()]
    return "## Citation\n\n### BibTeX\n\n" + "\n".join(blocks)


def card_front_matter(model: Any, card_data: dict[str, Any], *, export_only: bool = False) -> str:
    """The front matter of ``model``'s card (each model class's; a dense model's adds the seed cards'
    ``transformers`` tag, as its folder also loads in plain transformers, but for an export-only folder);
    ``card_data.to_yaml()`` gives it too."""
    from .card_data_surface import model_kind

    kind = model_kind(model) if model is not None else None
    if kind == "SparseEncoder":
        from .._sparse.card import model_type

        return front_matter(card_data, model_type(model))
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


def _usage_sbert(name: str) -> str:
    return f"""## Usage (sbert)

```
pip install sbert
```

```python
from sbert import SentenceTransformer

sentences = ["This is an example sentence", "Each sentence is converted"]
model = SentenceTransformer({name!r})
embeddings = model.encode(sentences)
print(embeddings.shape)
print(model.similarity(embeddings, embeddings))
```
"""


def export_note(libraries: str) -> str:
    """What the card of an export-only folder says instead of the other libraries' usage."""
    return (
        "## An ONNX export\n\nThis folder was written by `sbert export`: its weights are in the ONNX graph "
        "under `onnx/` only, so it loads in sbert, which needs neither torch nor transformers for it. For "
        f"{libraries}, use the model it was exported from.\n"
    )


def _usage_sentence_transformers(name: str) -> str:
    return f"""## Usage (Sentence-Transformers)

The folder uses the sentence-transformers format, so that library loads it too:

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer({name!r})
embeddings = model.encode(["This is an example sentence", "Each sentence is converted"])
```
"""


def _usage_transformers(model: Any, name: str) -> str:
    # Each module after the encoder says what it adds to the example (its `usage_code`): function
    # definitions, weights to load, and the step that transforms `sentence_embeddings`.
    # (a module's usage_code is None where its settings have no plain-transformers form).
    modules = list(model)
    parts = [m.usage_code(i) for i, m in enumerate(modules) if i and hasattr(m, "usage_code")]
    expressible = len(parts) == len(modules) - 1 and all(part is not None for part in parts)
    if type(modules[0]).__name__ != "Transformer" or not expressible:
        kinds = ", ".join(type(m).__name__ for m in modules)
        return (
            "## Usage (HuggingFace Transformers)\n\nThis pipeline "
            f"({kinds}) has modules that plain `transformers` does not provide; use sbert or "
            "sentence-transformers as shown above.\n"
        )
    if hasattr(modules[0], "usage_code"):
        parts.insert(0, modules[0].usage_code(0))
    functions = "\n\n".join(p["functions"] for p in parts if "functions" in p)
    loads = "".join(p["load"] + "\n" for p in parts if "load" in p)
    steps_text = "\n".join(p["step"] for p in parts)
    pooling = ", ".join(p["what"] for p in parts if "what" in p)
    lower = ".lower()" if getattr(modules[0], "do_lower_case", False) else ""
    loader = plain_transformers_class(getattr(modules[0], "auto_model", None))
    imported = "AutoModel, AutoTokenizer" if loader == "AutoModel" else f"AutoTokenizer, {loader}"
    header = f"import torch\nimport torch.nn.functional as F\nfrom transformers import {imported}\n"
    model_dir, source = "", repr(name)
    if loads:  # weights of later modules are read from the model's files
        header = (
            "import os\n\n" + header + "from huggingface_hub import snapshot_download\n"
            "from safetensors.torch import load_file\n"
        )
        model_dir = f"model_dir = {name!r} if os.path.isdir({name!r}) else snapshot_download({name!r})\n"
        source = "model_dir"
    later = ", then its other modules" if len(parts) > 1 else ""
    return f"""## Usage (HuggingFace Transformers)

Without sbert or sentence-transformers: run the encoder, then apply this model's pooling
({pooling}) to the token embeddings{later}.

```python
{header}

{functions}

sentences = ["This is an example sentence", "Each sentence is converted"]

{model_dir}tokenizer = AutoTokenizer.from_pretrained({source})
model = {loader}.from_pretrained({source})
{loads}
encoded = tokenizer(
    [s{lower} for s in sentences],
    padding=True,
    truncation=True,
    max_length={model.max_seq_length},
    return_tensors="pt",
)
with torch.no_grad():
    token_embeddings = model(**encoded).last_hidden_state
attention_mask = encoded["attention_mask"]

{steps_text}
print(sentence_embeddings)
```
"""


def _evaluation(results: dict[str, Any]) -> str:
    if not results:
        return (
            "## Evaluation Results\n\nThis model has not been evaluated with sbert yet; "
            "`sbert eval sts FILE.tsv --model PATH` measures STS Spearman correlation.\n"
        )
    rows = "\n".join(f"| {name} | {value} |" for name, value in results.items())
    return f"## Evaluation Results\n\n| metric | value |\n|---|---|\n{rows}\n"


def results_section(title: str, results: dict[str, Any] | None) -> str:
    """A card section listing ``results`` (name -> value: the evaluation's metrics, the training record);
    empty without any."""
    if not results:
        return ""
    rows = "\n".join(f"- **{key}**: {value}" for key, value in results.items())
    return f"## {title}\n\n{rows}\n"


def length_note(limit: Any, inputs: str = "Texts") -> str:
    """The card's sentence on the length limit; a StaticEmbedding's is ``inf`` (None: a module without one,
    BoW), as sentence-transformers reports it."""
    if isinstance(limit, int):
        return f"{inputs} longer than {limit} tokens are truncated."
    return f"Its max_seq_length is {limit}: {inputs.lower()} are not cut to a model limit."
