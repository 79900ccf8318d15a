"""The README.md model card written next to a saved model.

It follows the standard sentence-transformers card: front matter, what the model does, usage with sbert,
with sentence-transformers and with plain transformers plus the model's own pooling (runnable as written),
evaluation results, the full architecture and the citation.
"""

from __future__ import annotations

from typing import Any

from .card_data import ST_TASK_NAME
from .card_training import training_details
from .encoder_class import plain_transformers_class
from .front_matter import card_front_matter
from .layout import kind_of_module


def model_card(model: Any, model_name: str, *, export_only: bool = False, modules: list | None = None) -> str:
    """Markdown for ``model`` saved under ``model_name`` (the name users will load it by); ``export_only``:
    a folder of ``sbert export``, whose weights are in its ONNX graph only; ``modules``: its modules as the
    plain-transformers example reads them (default: the model's own; :func:`.usage_code.card_modules` for
    a model saved without torch)."""
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
            else [_usage_sentence_transformers(model_name), _usage_transformers(model, model_name, modules)]
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


def _usage_transformers(model: Any, name: str, modules: list | None = None) -> str:
    # Each module after the encoder says what it adds to the example (its `usage_code`): function
    # definitions, weights to load, and the step that transforms `sentence_embeddings`.
    # (a module's usage_code is None where its settings have no plain-transformers form).
    modules = list(model) if modules is None else modules
    parts = [m.usage_code(i) for i, m in enumerate(modules) if i and hasattr(m, "usage_code")]
    expressible = len(parts) == len(modules) - 1 and all(part is not None for part in parts)
    if kind_of_module(modules[0]) != "Transformer" or not expressible:
        kinds = ", ".join(map(kind_of_module, modules))
        return (
            "## Usage (HuggingFace Transformers)\n\nThis pipeline "
            f"({kinds}) has modules that plain `transformers` does not provide; use sbert or "
            "sentence-transformers as shown above.\n"
        )
    first = modules[0].usage_code(0) if hasattr(modules[0], "usage_code") else None
    if first is not None:
        parts.insert(0, first)
    functions = "\n\n".join(p["functions"] for p in parts if "functions" in p)
    loads = "".join(p["load"] + "\n" for p in parts if "load" in p)
    steps_text = "\n".join(p["step"] for p in parts)
    pooling = ", ".join(p["what"] for p in parts if "what" in p)
    lower = ".lower()" if getattr(modules[0], "do_lower_case", False) else ""
    prompt, texts = _prompt_code(model, lower, counted="prompt_length" in steps_text)
    steps_text += _truncation_step(model)
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
{loads}{prompt}
encoded = tokenizer(
    {texts},
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


def _prompt_code(model: Any, lower: str, *, counted: bool) -> tuple[str, str]:
    """The plain-transformers example's prompt lines (encode puts the model's default prompt before every
    text; ``counted``: a pooling that leaves the prompt out needs its token count) and its texts."""
    name = getattr(model, "default_prompt_name", None)
    prompt = (getattr(model, "prompts", None) or {}).get(name) if name else None
    if not prompt:
        lines = "prompt_length = 0  # no default prompt for the pooling to leave out\n" if counted else ""
        return lines, f"[s{lower} for s in sentences]"
    lines = f"prompt = {prompt!r}  # the default prompt ({name!r}), put before every text\n"
    if counted:  # its tokens, its trailing special token (SEP, EOS) not counted, as sentence-transformers
        lines += (
            f"prompt_ids = tokenizer(prompt{lower})['input_ids']\n"
            "prompt_length = len(prompt_ids) - (prompt_ids[-1] in tokenizer.all_special_ids)\n"
        )
    return lines, f"[(prompt + s){lower} for s in sentences]"


def _truncation_step(model: Any) -> str:
    """The example's last step for a model with a ``truncate_dim`` below its width: encode keeps that many."""
    keep = getattr(model, "truncate_dim", None)
    if not keep or keep >= model.full_embedding_dimension:
        return ""
    return f"\nsentence_embeddings = sentence_embeddings[:, :{keep}]  # the model's truncate_dim"


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
