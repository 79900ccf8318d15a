"""The README.md model card written next to a saved model.

It follows the standard sentence-transformers card: front matter, what the model does, usage with sbert,
with sentence-transformers and with plain transformers plus the model's own pooling (runnable as written),
evaluation results, the full architecture and the citation.
"""

from __future__ import annotations

from typing import Any

# Pooling functions for the plain-transformers snippet, one per mode; each takes (token_embeddings,
# attention_mask) and mirrors sbert's pooling exactly.
_POOLING_SOURCE = {
    "mean": """def mean_pooling(token_embeddings, attention_mask):
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    return (token_embeddings * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
""",
    "cls": """def cls_pooling(token_embeddings, attention_mask):
    first = attention_mask.argmax(dim=1)  # first real token (0 with right padding)
    return token_embeddings[torch.arange(token_embeddings.shape[0]), first]
""",
    "max": """def max_pooling(token_embeddings, attention_mask):
    masked = token_embeddings.masked_fill(attention_mask.unsqueeze(-1) == 0, float("-inf"))
    return masked.max(dim=1).values
""",
    "mean_sqrt_len_tokens": """def mean_sqrt_len_tokens_pooling(token_embeddings, attention_mask):
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    return (token_embeddings * mask).sum(1) / mask.sum(1).clamp(min=1e-9).sqrt()
""",
    "weightedmean": """def weightedmean_pooling(token_embeddings, attention_mask):
    positions = torch.arange(1, token_embeddings.shape[1] + 1, dtype=token_embeddings.dtype)
    weights = ((positions - attention_mask.argmax(dim=1, keepdim=True)) * attention_mask).unsqueeze(-1)
    return (token_embeddings * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
""",
    "lasttoken": """def lasttoken_pooling(token_embeddings, attention_mask):
    last = attention_mask.shape[1] - 1 - attention_mask.flip(1).argmax(dim=1)
    return token_embeddings[torch.arange(token_embeddings.shape[0]), last]
""",
}

_ACTIVATION_SOURCE = {
    "torch.nn.modules.activation.Tanh": "torch.tanh({x})",
    "torch.nn.modules.linear.Identity": "{x}",
    "torch.nn.modules.activation.ReLU": "torch.relu({x})",
    "torch.nn.modules.activation.GELU": "torch.nn.functional.gelu({x})",
    "torch.nn.modules.activation.Sigmoid": "torch.sigmoid({x})",
    "torch.nn.modules.activation.SiLU": "torch.nn.functional.silu({x})",
}

_CITATION = """@inproceedings{reimers-2019-sentence-bert,
    title = "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2019",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/1908.10084",
}"""


def model_card(model: Any, model_name: str) -> str:
    """Markdown for ``model`` saved under ``model_name`` (the name users will load it by)."""
    dim = model.get_sentence_embedding_dimension()
    card_data = model.model_card_data
    sections = [
        _front_matter(card_data),
        f"# {model_name}\n",
        f"This is a sentence-embedding model made with [sbert](https://www.SBERT.net) (Sentence-BERT): it maps "
        f"sentences & paragraphs to a {dim} dimensional dense vector space and can be used for tasks like "
        f"clustering or semantic search. Similarity function: {model.similarity_fn_name}. Texts longer than "
        f"{model.max_seq_length} tokens are truncated.\n",
        _usage_sbert(model_name),
        _usage_sentence_transformers(model_name),
        _usage_transformers(model, model_name),
        _evaluation(card_data.get("evaluation") or {}),
        _training(card_data.get("training")),
        f"## Full Model Architecture\n```\n{model!r}\n```\n",
        f"## Citing & Authors\n\nIf you use this model, please cite Sentence-BERT:\n\n```bibtex\n{_CITATION}\n```\n",
    ]
    return "\n".join(s for s in sections if s)


def _front_matter(card_data: dict[str, Any]) -> str:
    lines = [
        "---",
        "pipeline_tag: sentence-similarity",
        "library_name: sentence-transformers",
        "tags:",
        "- sentence-transformers",
        "- feature-extraction",
        "- sentence-similarity",
        "- transformers",
        "- sbert",
    ]
    if card_data.get("base_model"):
        lines.append(f"base_model: {card_data['base_model']}")
    datasets = card_data.get("datasets") or []
    if datasets:
        lines.append("datasets:")
        lines += [f"- {d}" for d in datasets]
    lines.append("---\n")
    return "\n".join(lines)


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
    pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
    modes = pooling.modes if pooling is not None else ("mean",)
    functions = "\n\n".join(_POOLING_SOURCE[m] for m in dict.fromkeys(modes))
    calls = [f"{m}_pooling(token_embeddings, attention_mask)" for m in modes]
    pooled = calls[0] if len(calls) == 1 else "torch.cat([" + ", ".join(calls) + "], dim=-1)"
    lower = ".lower()" if getattr(model.transformer, "do_lower_case", False) else ""
    steps = [f"sentence_embeddings = {pooled}"]
    loads = ""
    for i, module in enumerate(model):
        kind = type(module).__name__
        if kind == "Dense":
            loads += f"dense_{i} = load_file(os.path.join(model_dir, '{i}_Dense', 'model.safetensors'))\n"
            linear = f"sentence_embeddings @ dense_{i}['linear.weight'].T" + (
                f" + dense_{i}['linear.bias']" if module.bias else ""
            )
            steps.append(
                "sentence_embeddings = " + _ACTIVATION_SOURCE[module.activation_name].format(x=linear)
            )
        elif kind == "Normalize":
            steps.append("sentence_embeddings = F.normalize(sentence_embeddings, p=2, dim=1)")
    needs_files = bool(loads)
    header = (
        "import torch\nimport torch.nn.functional as F\nfrom transformers import AutoModel, AutoTokenizer\n"
    )
    if needs_files:
        header = (
            "import os\n\n"
            + header
            + "from huggingface_hub import snapshot_download\nfrom safetensors.torch import load_file\n"
        )
    model_dir = (
        f"model_dir = {name!r} if os.path.isdir({name!r}) else snapshot_download({name!r})\n"
        if needs_files
        else ""
    )
    source = f"{name!r}" if not needs_files else "model_dir"
    steps_text = "\n".join(steps)
    return f"""## Usage (HuggingFace Transformers)

Without sbert or sentence-transformers: run the encoder, then apply this model's pooling
({", ".join(modes)}) to the token embeddings{", then its other modules" if len(steps) > 1 else ""}.

```python
{header}

{functions}

sentences = ["This is an example sentence", "Each sentence is converted"]

{model_dir}tokenizer = AutoTokenizer.from_pretrained({source})
model = AutoModel.from_pretrained({source})
{loads}
encoded = tokenizer([s{lower} for s in sentences], padding=True, truncation=True, max_length={model.max_seq_length}, return_tensors="pt")
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


def _training(training: dict[str, Any] | None) -> str:
    if not training:
        return ""
    rows = "\n".join(f"- **{key}**: {value}" for key, value in training.items())
    return f"## Training\n\n{rows}\n"
