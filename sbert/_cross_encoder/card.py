"""The README.md model card of a saved cross-encoder: what it scores, usage with sbert, with
sentence-transformers and with plain transformers (runnable as written), evaluation, training, architecture
and citation."""

from __future__ import annotations

from typing import Any

from .._format.card import citation_section, export_note, length_note, results_section
from .._format.card_training import training_details
from .._format.front_matter import card_front_matter
from .activation import TORCH_CODE

_EXAMPLE_PAIRS = (
    '[("How many people live in Berlin?", "Berlin had a population of 3,520,031 in 2019."), '
    '("How many people live in Berlin?", "Berlin is well known for its museums.")]'
)


def model_card(
    model: Any, model_name: str, *, export_only: bool = False, plain_transformers: bool = True
) -> str:
    """Markdown for the cross-encoder ``model`` saved under ``model_name``; ``export_only``: a folder of
    ``sbert export``, whose weights are in its ONNX graph only; ``plain_transformers``: whether transformers
    alone runs it (not a model built from other modules, such as StaticEmbedding and Dense)."""
    card_data = model.model_card_data
    title = card_data.get("model_name") or model_name
    model_name = card_data.get("model_id") or model_name  # the name the usage code loads
    task = card_data.get("task_name") or "reranking search results or classifying pairs"
    labels = "one relevance score" if model.num_labels == 1 else f"{model.num_labels} label scores"
    sections = [
        card_front_matter(model, card_data),
        f"# {title}\n",
        "This is a cross-encoder made with [sbert](https://www.SBERT.net): it reads two texts together and "
        f"gives {labels} per pair ({model.activation!r} on the logits), for {task}. "
        f"{length_note(model.max_seq_length, 'Pairs')}\n",
        _usage_libraries(model_name, model.num_labels, export_only),
        export_note("sentence-transformers or transformers")
        if export_only
        else _usage_transformers(model, model_name)
        if plain_transformers
        else "",
        results_section("Evaluation Results", card_data.get("evaluation")),
        results_section("Training", card_data.get("training")),
        training_details(card_data, "cross_encoder"),
        f"## Full Model Architecture\n```\n{model!r}\n```\n",
        citation_section(card_data.get("citations") or {}),
    ]
    return "\n".join(s for s in sections if s)


def _usage_libraries(name: str, num_labels: int, export_only: bool) -> str:
    rank = (
        '\nranking = model.rank("How many people live in Berlin?", [d for _, d in pairs])\nprint(ranking)'
        if num_labels == 1
        else ""
    )
    usage = (
        f"model = CrossEncoder({name!r})\npairs = {_EXAMPLE_PAIRS}\nscores = model.predict(pairs)\n"
        "print(scores)"
    )
    ours = "## Usage (sbert)\n\n```\npip install sbert\n```\n\n```python\nfrom sbert import CrossEncoder\n\n"
    if export_only:
        return f"{ours}{usage}{rank}\n```\n"
    return (
        f"{ours}{usage}{rank}\n```\n\n## Usage (Sentence-Transformers)\n\nThe folder uses the "
        "sentence-transformers format, so that library loads it too:\n\n```python\n"
        f"from sentence_transformers import CrossEncoder\n\n{usage}\n```\n"
    )


def _usage_transformers(model: Any, name: str) -> str:
    name_in_code = model.activation.name
    activation = TORCH_CODE.get(name_in_code)
    if activation is None:
        return (
            "## Usage (HuggingFace Transformers)\n\nThis model's activation function "
            f"({model.activation.path}) is its own; use sbert or sentence-transformers as shown above.\n"
        )
    squeeze = ".squeeze(-1)" if model.num_labels == 1 else ""
    return f"""## Usage (HuggingFace Transformers)

Without sbert or sentence-transformers: tokenize the pairs together, run the classifier, then apply this
model's activation ({name_in_code}) to the logits.

```python
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

pairs = {_EXAMPLE_PAIRS}

tokenizer = AutoTokenizer.from_pretrained({name!r})
model = AutoModelForSequenceClassification.from_pretrained({name!r})
model.eval()
encoded = tokenizer(
    [query for query, _ in pairs],
    [document for _, document in pairs],
    padding=True,
    truncation="longest_first",
    max_length={model.max_seq_length},
    return_tensors="pt",
)
with torch.no_grad():
    logits = model(**encoded).logits
scores = ({activation}){squeeze}
print(scores)
```
"""
