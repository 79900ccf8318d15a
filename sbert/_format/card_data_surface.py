"""The members of sentence-transformers 6.3's card-data dataclasses (``SentenceTransformerModelCardData``,
``CrossEncoderModelCardData``, ``SparseEncoderModelCardData``, ``MultiVectorEncoderModelCardData``) that
sbert's card-data dict (:class:`~sbert._format.card_data.ModelCardData`) answers besides its keys: every
field with its default, ``model``, ``vars()``, and the methods scripts call (``get_default_model_name``,
``get_model_specific_metadata``, ``format_training_logs``, ``run_usage_snippet``, ``generate_usage_snippet``,
``to_dict``, ``to_yaml``), each with the values and rules of the model class's dataclass there.

The one place that knows those classes' fields: the dict keeps only what is set, and sbert's card writers
read its keys as before (``to_yaml`` gives their front matter). Nothing here imports torch; the methods that
need the model run it (``run_usage_snippet`` encodes, as there).
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from .._errors import BackendUnavailableError
from .card_training import installed_versions, st_release, training_times
from .front_matter import ARCHITECTURE_NAMES, card_front_matter, evaluation_index, model_kind
from .layout import kind_of_module

_INIT, _FACTORY, _DEFAULT = "init", "factory", "default"

# sentence-transformers' BaseModelCardData fields in their order: name -> (default, how the dataclass
# sets it: an __init__ argument, a default_factory (both always in vars()), or a class default (in vars()
# once assigned)); a factory's default is copied for each card (a list or dict that can grow)
_FIELDS: dict[str, tuple[Any, str]] = {
    "language": ([], _INIT),
    "license": (None, _INIT),
    "model_name": (None, _INIT),
    "model_id": (None, _INIT),
    "train_datasets": ([], _INIT),
    "eval_datasets": ([], _INIT),
    "task_name": (None, _INIT),
    "tags": ([], _INIT),
    "local_files_only": (False, _INIT),
    "generate_widget_examples": (True, _INIT),
    "base_model": (None, _DEFAULT),
    "base_model_revision": (None, _DEFAULT),
    "non_default_hyperparameters": ({}, _FACTORY),
    "all_hyperparameters": ({}, _FACTORY),
    "eval_results_dict": ({}, _FACTORY),
    "training_logs": ([], _FACTORY),
    "widget": ([], _FACTORY),
    "usage_examples": (None, _DEFAULT),
    "usage_examples_display": (None, _DEFAULT),
    "label_example_list": ([], _FACTORY),
    "code_carbon_callback": (None, _DEFAULT),
    "_training_start_time": (None, _DEFAULT),
    "evaluation_duration": (0.0, _DEFAULT),
    "citations": ({}, _FACTORY),
    "best_model_step": (None, _DEFAULT),
    "ir_model": (None, _DEFAULT),
    "datasets": ([], _FACTORY),
    "similarities": (None, _DEFAULT),
    "first_save": (True, _DEFAULT),
    "widget_step": (-1, _DEFAULT),
    "save_dir": (None, _DEFAULT),
    "_asset_cache": ({}, _FACTORY),
    "_cached_dict": (None, _DEFAULT),
    "pipeline_tag": (None, _DEFAULT),
    "library_name": ("sentence-transformers", _DEFAULT),
    "version": (None, _FACTORY),  # framework_versions(), read once
    "template_path": (None, _DEFAULT),  # sbert's cards are written without a template
    "model": (None, _DEFAULT),  # the model that holds the card data (register_model)
}
# the fields only some classes have, after the base's (as the dataclasses append them)
_CLASS_FIELDS = {
    "SparseEncoder": {"model_type": (None, _DEFAULT)},
    "MultiVectorEncoder": {
        "usage_query_shape": (None, _DEFAULT),
        "usage_document_shape": (None, _DEFAULT),
        "model_type": ("Multi-Vector Encoder", _DEFAULT),
    },
}
# sbert's dict keys for fields it records under another name
CARD_KEYS = {"_training_start_time": "training_start_time"}
# where a written card's default name is kept: the field reads it, sbert's card writers (which title a
# nameless model by the folder it is saved to) do not
SAVED_NAME = "model_name_at_save"
# what to_dict() leaves out and what to_yaml() writes, as sentence-transformers' lists
_IGNORED = ("model", "trainer", "eval_results_dict", "save_dir", "usage_examples_display", "_asset_cache")
_IGNORED += ("_cached_dict", "_training_start_time", "evaluation_duration")
# set on each card by sbert (the dict's keys), by sentence-transformers' register_model only for some classes
_SEEDED = frozenset({"pipeline_tag", "library_name"})
_REGISTERED = {
    "CrossEncoder": ("pipeline_tag",),
    "SparseEncoder": ("pipeline_tag", "model_type"),
    "MultiVectorEncoder": ("pipeline_tag", "ir_model"),
}
_SIMILARITY_NAMES = {
    "cosine": "Cosine Similarity",
    "dot": "Dot Product",
    "euclidean": "Euclidean Distance",
    "manhattan": "Manhattan Distance",
    "maxsim": "MaxSim",
    "meanmaxsim": "MeanMaxSim",
    "xtr": "XTR",
}
_TEXTS = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
_IR_TEXTS = [
    "Which planet is known as the Red Planet?",
    "Venus is often called Earth's twin because of its similar size and proximity.",
    "Mars, known for its reddish appearance, is often referred to as the Red Planet.",
    "Saturn, famous for its rings, is sometimes mistaken for the Red Planet.",
]
_QUESTION = "How many calories in an egg"
_PAIRS = [
    [_QUESTION, "There are on average between 55 and 80 calories in an egg depending on its size."],
    [
        _QUESTION,
        "Egg whites are very low in calories, have no fat, no cholesterol, and are loaded with protein.",
    ],
    [_QUESTION, "Most of the calories in an egg come from the yellow yolk in the center."],
]


def field_names(model: Any) -> list[str]:
    """The card-data fields of ``model``'s class in sentence-transformers, in their order."""
    return [*_FIELDS, *_CLASS_FIELDS.get(model_kind(model), {})]


def framework_versions() -> dict[str, str]:
    """sentence-transformers' ``version`` field: Python's version and the libraries' (from their installed
    metadata, none imported; accelerate and datasets only where installed, as there); sbert answers for
    the sentence-transformers release it stands in for."""
    versions = {"python": platform.python_version(), "sentence_transformers": st_release()}
    installed = installed_versions()
    versions |= {
        name: v for name, v in installed.items() if v or name in ("transformers", "torch", "tokenizers")
    }
    return versions


class CardDataSurface:
    """sentence-transformers' card-data members for the card-data dict (mixed into ``ModelCardData``, which
    holds ``_model`` and reads its keys through :meth:`_field`)."""

    __slots__ = ()

    # --- fields -------------------------------------------------------------------------------------

    def _field(self, name: str) -> Any:
        """A field's value: the dict's key where set, else the class's default (a list or dict kept, so
        that it can grow in place, as a dataclass's factory default)."""
        card: dict[str, Any] = self  # type: ignore[assignment]
        if name == "model":
            return self._model  # type: ignore[attr-defined]
        fields = {**_FIELDS, **_CLASS_FIELDS.get(model_kind(self._model), {})}  # type: ignore[attr-defined]
        key = CARD_KEYS.get(name, name)
        if key in card:
            return card[key]
        if name == "model_name" and SAVED_NAME in card:  # the name a written card gave it (note_card_written)
            return card[SAVED_NAME]
        default, _ = fields[name]
        if name == "version":
            return card.setdefault(key, framework_versions())
        if name == "ir_model":
            return self._registered_ir_model()
        if name == "model_type" and model_kind(self._model) in ARCHITECTURE_NAMES:  # type: ignore[attr-defined]
            return ARCHITECTURE_NAMES[model_kind(self._model)](self._model)  # type: ignore[attr-defined]
        if isinstance(default, (list, dict)):
            return card.setdefault(key, type(default)())
        return default

    def _registered_ir_model(self) -> bool | None:
        """sentence-transformers' ``register_model`` rule for ``ir_model``: True for a cross-encoder or a
        multi-vector encoder, and for a model with a Router module or a query / document prompt."""
        model = self._model  # type: ignore[attr-defined]
        if model is None:
            return None
        if model_kind(model) in ("CrossEncoder", "MultiVectorEncoder"):
            return True
        if "Router" in _module_kinds(model):
            return True
        prompts = getattr(model, "prompts", None) or {}
        return True if any(prompts.get(name) for name in ("query", "document", "passage", "corpus")) else None

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        """What ``vars()`` gives for sentence-transformers' dataclass: its ``__init__`` arguments and
        factory fields, and the other fields once set (a snapshot: write through attributes)."""
        card: dict[str, Any] = self  # type: ignore[assignment]
        model = self._model  # type: ignore[attr-defined]
        fields = {**_FIELDS, **_CLASS_FIELDS.get(model_kind(model), {})}
        kind = model_kind(model) if model is not None else None
        registered = {*_REGISTERED.get(kind, ()), *(("model",) if model is not None else ())}
        if kind in ("SentenceTransformer", "SparseEncoder") and self._registered_ir_model():  # found there
            registered.add("ir_model")
        shown = [
            name
            for name, (_, how) in fields.items()
            if how != _DEFAULT
            or name in registered
            or (CARD_KEYS.get(name, name) in card and name not in _SEEDED)
        ]
        return {name: self._field(name) for name in shown}

    def register_model(self, model: Any) -> None:
        """Hold ``model`` as the card's ``model`` (sentence-transformers' models call it as they are made)."""
        object.__setattr__(self, "_model", model)

    # --- sentence-transformers' methods --------------------------------------------------------------

    def get_default_model_name(self) -> str:
        """The card's name for a model its card data names none: "<class> based on <base model>", or the
        kind of sparse or multi-vector encoder, as sentence-transformers' card data names it."""
        model = self._model  # type: ignore[attr-defined]
        kind = model_kind(model)
        if kind in ("SparseEncoder", "MultiVectorEncoder"):
            return self._field("model_type")
        base = self._field("base_model")
        name = type(model).__name__
        return f"{name} based on {base}" if base else name

    def get_model_specific_metadata(self) -> dict[str, Any]:
        """What the card's template reads off the model: its length limit, repr and modalities, and per
        class its output width and similarity's name (dense, sparse with ``max_active_dims``,
        multi-vector) or its number of labels (cross-encoder)."""
        model = self._model  # type: ignore[attr-defined]
        if model is None:
            return {}
        transformer = next((m for m in model if kind_of_module(m) == "Transformer"), None)
        modalities = ["+".join(m) if isinstance(m, tuple) else m for m in model.modalities]
        found = {
            "model_max_length": model.max_seq_length,
            "model_string": str(model),
            "supported_modalities": [m.title() for m in modalities],
            "query_length": getattr(transformer, "query_length", None),
            "document_length": getattr(transformer, "document_length", None),
        }
        kind = model_kind(model)
        if kind == "CrossEncoder":
            return {**found, "model_num_labels": model.num_labels}
        name = model.similarity_fn_name
        default = {"SentenceTransformer": "Cosine Similarity", "SparseEncoder": "Dot Product"}.get(kind)
        similarity = _SIMILARITY_NAMES.get(name, name.replace("_", " ").title()) if name else default
        found |= {"output_dimensionality": model.get_embedding_dimension(), "similarity_fn_name": similarity}
        if kind == "SparseEncoder":
            found["max_active_dims"] = getattr(model, "max_active_dims", None)
        if kind == "MultiVectorEncoder":
            expansion = getattr(transformer, "query_expansion", None) or {}
            if expansion.get("strategy") == "fixed":
                found["query_length"] = expansion["length"]
        return found

    def format_training_logs(self) -> dict[str, Any]:
        """The card's training-logs table (the loaded checkpoint's row in bold) and whether it has bold."""
        from .card_training import training_log_table

        table = training_log_table(self._field("training_logs"), self._field("best_model_step"))
        return {"eval_lines": table, "explain_bold_in_eval": "**" in table}

    def run_usage_snippet(self) -> None:
        """Pick the usage example's inputs (where none are set) and, with ``generate_widget_examples``,
        compute the scores the usage example prints into ``similarities``, as sentence-transformers' card
        does (encoding with the model; a torch tensor's or numpy's print-out, 4 decimals)."""
        card: dict[str, Any] = self  # type: ignore[assignment]
        model, kind, ir_model = self._model, model_kind(self._model), self._field("ir_model")  # type: ignore[attr-defined]
        self._pick_usage_examples()
        if not self._field("generate_widget_examples"):
            return
        examples = card["usage_examples"]
        if kind == "CrossEncoder":
            import numpy as np

            scores = model.predict(examples, convert_to_numpy=True, show_progress_bar=False)
            with np.printoptions(precision=4):
                card["similarities"] = _commented(str(scores))
            return
        import torch

        if kind == "MultiVectorEncoder":
            examples = card["usage_examples"] = examples[:4]
            queries, documents = (examples[:1], examples[1:]) if len(examples) >= 2 else (examples, examples)
            query = model.encode_query(queries, show_progress_bar=False)
            document = model.encode_document(documents, show_progress_bar=False)
            card["usage_query_shape"] = tuple(query[0].shape)
            card["usage_document_shape"] = tuple(document[0].shape)
            similarity = model.similarity(query, document)
        elif ir_model and kind == "SentenceTransformer":
            query = model.encode_query(examples[0], convert_to_tensor=True, show_progress_bar=False)
            document = model.encode_document(examples[1:], convert_to_tensor=True, show_progress_bar=False)
            similarity = model.similarity(query, document)
        else:
            examples = card["usage_examples"] = examples[:3]
            embeddings = model.encode(examples, convert_to_tensor=True, show_progress_bar=False)
            similarity = model.similarity(embeddings, embeddings)
        similarity = torch.as_tensor(similarity).cpu()
        with torch._tensor_str.printoptions(precision=4, sci_mode=False):
            card["similarities"] = _commented(str(similarity))

    def _pick_usage_examples(self) -> None:
        """The usage example's default inputs for the model's class, where none are set."""
        kind = model_kind(self._model)  # type: ignore[attr-defined]
        if self._field("usage_examples") is None:
            ir_model = self._field("ir_model")
            defaults = {"CrossEncoder": _PAIRS, "MultiVectorEncoder": _IR_TEXTS}
            self["usage_examples"] = list(  # type: ignore[index]
                defaults.get(kind, _IR_TEXTS if ir_model and kind != "SparseEncoder" else _TEXTS)
            )

    def generate_usage_snippet(self) -> str:
        """The card's Python usage example for the model's class, with the scores of
        :meth:`run_usage_snippet` where it has run (else the outputs' shapes), as sentence-transformers'."""
        model, kind = self._model, model_kind(self._model)  # type: ignore[attr-defined]
        examples = self._field("usage_examples_display") or self._field("usage_examples")
        similarities = self._field("similarities")
        model_id = self._field("model_id")
        width = _width(model)
        if kind == "CrossEncoder":
            return _cross_encoder_snippet(model_id, examples or _PAIRS, model, similarities)
        if kind == "MultiVectorEncoder":
            shapes = (self._field("usage_query_shape"), self._field("usage_document_shape"))
            return _multi_vector_snippet(shapes, model_id, examples or _IR_TEXTS, width, similarities)
        if kind == "SentenceTransformer" and self._field("ir_model"):
            return _retrieval_snippet(model_id, examples or _IR_TEXTS, width, similarities)
        name = "SparseEncoder" if kind == "SparseEncoder" else "SentenceTransformer"
        default_id = (
            "sparse_encoder_model_id" if kind == "SparseEncoder" else "sentence_transformers_model_id"
        )
        texts = examples or _TEXTS
        lines = [
            *_snippet_head(name, model_id or default_id),
            "# Run inference",
            "sentences = [",
            *(f"    {text!r}," for text in texts),
            "]",
            "embeddings = model.encode(sentences)",
            "print(embeddings.shape)",
            f"# [{len(texts)}, {width}]",
            "",
            "# Get the similarity scores for the embeddings",
            "similarities = model.similarity(embeddings, embeddings)",
            *_scores_or_shape("similarities", similarities, f"# [{len(texts)}, {len(texts)}]"),
        ]
        return _code(lines)

    def to_dict(self) -> dict[str, Any]:
        """The card data as sentence-transformers' ``to_dict()`` gives it to its card template: each field
        (but the internal ones), the default model name where none is set, the usage snippet (after
        :meth:`run_usage_snippet`), the training logs' table, the training time and the model's metadata.
        sbert's own keys (``evaluation``, ``training``, ...) are not in it; ``dict(card)`` has them. Unlike
        there, the card's ``model_name`` is not set by it (sbert's card titles a nameless model by the
        name it is saved under)."""
        card: dict[str, Any] = self  # type: ignore[assignment]
        try:
            self.run_usage_snippet()
        except Exception:  # as there: the card is written without the scores
            pass
        names = field_names(self._model)  # type: ignore[attr-defined]
        data = {name: self._field(name) for name in names}
        if not data["model_name"] and self._model is not None:  # type: ignore[attr-defined]
            data["model_name"] = self.get_default_model_name()
        data["usage_snippet"] = self.generate_usage_snippet()
        if data["eval_results_dict"]:
            data.update(self._eval_metrics())
        if data["training_logs"]:
            data.update(self.format_training_logs())
        data["hide_eval_lines"] = len(data["training_logs"]) > 100
        data.update(training_times(card))
        data.update(self.get_model_specific_metadata())
        for name in _IGNORED:
            data.pop(name, None)
        return data

    def note_card_written(self, path: Any, generated: bool) -> None:
        """What a save leaves on the card data in sentence-transformers, before its card is written:
        ``save_dir`` (the folder the save
        was asked for, as given), and, where a new card was ``generated`` (its ``to_dict`` ran), the usage
        example's inputs and scores, the default model name and the end of the first save. The scores need
        torch: a model that runs without it (ONNX, torch never imported) keeps its inputs only."""
        card: dict[str, Any] = self  # type: ignore[assignment]
        card["save_dir"] = path
        if not generated:
            return
        card["first_save"], card["_cached_dict"] = False, None
        if not self._field("model_name") and self._model is not None:  # type: ignore[attr-defined]
            card[SAVED_NAME] = self.get_default_model_name()
        if "torch" not in sys.modules:  # a save does not import it
            self._pick_usage_examples()
            return
        try:
            self.run_usage_snippet()
        except Exception:  # as there: the card is written without the scores
            pass

    def _eval_metrics(self) -> dict[str, Any]:

        kind = model_kind(self._model)  # type: ignore[attr-defined]
        model_type = (
            self.get_default_model_name() if kind in ("SparseEncoder", "MultiVectorEncoder") else kind
        )
        names, index = evaluation_index(self, model_type)  # type: ignore[arg-type]
        return {"metrics": names, "model-index": index}

    def to_yaml(self, line_break: str | None = None) -> str:
        """The card's YAML front matter (without its ``---`` lines), as sbert's README.md of this model has
        it."""

        text = card_front_matter(self._model, self)  # type: ignore[attr-defined]
        body = text.strip().removeprefix("---").removesuffix("---").strip()
        return body.replace("\n", line_break) if line_break else body


def _commented(text: str) -> str:
    return "\n".join(f"# {line}" for line in text.splitlines())


def _width(model: Any) -> int | str:
    try:
        return model.get_embedding_dimension()
    except Exception:  # as there: no model, or one without a width
        return "?"


def _snippet_head(model_class: str, model_id: str) -> list[str]:
    return [
        f"from sentence_transformers import {model_class}",
        "",
        "# Download from the \U0001f917 Hub",
        f'model = {model_class}("{model_id}")',
    ]


def _scores_or_shape(name: str, scores: str | None, shape: str) -> list[str]:
    return [f"print({name})", scores] if scores else [f"print({name}.shape)", shape]


def _code(lines: list[str]) -> str:
    return "```python\n" + "\n".join(lines) + "\n```"


def _retrieval_snippet(model_id: str | None, examples: list[Any], width: Any, scores: str | None) -> str:
    documents = len(examples) - 1
    lines = [
        *_snippet_head("SentenceTransformer", model_id or "sentence_transformers_model_id"),
        "# Run inference",
        "queries = [",
        f"    {_value(examples[0])},",
        "]",
        "documents = [",
        *(f"    {_value(item)}," for item in examples[1:]),
        "]",
        "query_embeddings = model.encode_query(queries)",
        "document_embeddings = model.encode_document(documents)",
        "print(query_embeddings.shape, document_embeddings.shape)",
        f"# [1, {width}] [{documents}, {width}]",
        "",
        "# Get the similarity scores for the embeddings",
        "similarities = model.similarity(query_embeddings, document_embeddings)",
        *_scores_or_shape("similarities", scores, f"# [1, {documents}]"),
    ]
    return _code(lines)


def _multi_vector_snippet(
    shapes: tuple[Any, Any], model_id: str | None, examples: list[Any], width: Any, scores: Any
) -> str:
    """``shapes``: the card data's ``usage_query_shape`` and ``usage_document_shape`` (None where not run)."""
    queries, documents = (examples[:1], examples[1:]) if len(examples) >= 2 else (examples, examples)
    query_shape = shapes[0] or f"(num_query_tokens, {width})"
    document_shape = shapes[1] or f"(num_document_tokens, {width})"
    lines = [
        *_snippet_head("MultiVectorEncoder", model_id or "multi_vector_encoder_model_id"),
        "# Run inference: each input becomes a sequence of per-token vectors (variable length).",
        "queries = [",
        *(f"    {_value(item)}," for item in queries),
        "]",
        "documents = [",
        *(f"    {_value(item)}," for item in documents),
        "]",
        "query_embeddings = model.encode_query(queries)",
        "document_embeddings = model.encode_document(documents)",
        "print(query_embeddings[0].shape, document_embeddings[0].shape)",
        f"# {query_shape} {document_shape}",
        "",
        "# Get the MaxSim similarity scores",
        "similarities = model.similarity(query_embeddings, document_embeddings)",
        *_scores_or_shape("similarities", scores, f"# [{len(queries)}, {len(documents)}]"),
    ]
    return _code(lines)


def _cross_encoder_snippet(model_id: str | None, pairs: list[Any], model: Any, scores: str | None) -> str:
    labels = model.num_labels if model is not None else 1
    shape = f"({len(pairs)}, {labels})" if labels > 1 else f"({len(pairs)},)"
    lines = [
        *_snippet_head("CrossEncoder", model_id or "cross_encoder_model_id"),
        "# Get scores for pairs of inputs",
        "pairs = [",
        *(f"    {_value(pair)}," for pair in pairs),
        "]",
        "scores = model.predict(pairs)",
        *_scores_or_shape("scores", scores, f"# {shape}"),
    ]
    texts_only = all(isinstance(part, str) for pair in pairs for part in pair)
    if labels == 1 and texts_only:
        lines += [
            "",
            "# Or rank different texts based on similarity to a single text",
            "ranks = model.rank(",
            f"    {pairs[0][0]!r},",
            "    [",
            *(f"        {pair[1]!r}," for pair in pairs),
            "    ]",
            ")",
            "# [{'corpus_id': ..., 'score': ...}, {'corpus_id': ..., 'score': ...}, ...]",
        ]
    return _code(lines)


def _value(value: Any) -> str:
    """A usage example's input as Python code (lists and dicts item by item)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return repr(value)


def _module_kinds(model: Any) -> list[str]:
    """The kinds of ``model``'s top-level modules. Where torch is not installed a SentenceTransformer runs
    on ONNX, whose pipelines hold no Router (the graph covers Transformer-first pipelines only), and its
    torch modules cannot load: none are named then."""
    try:
        return list(map(kind_of_module, model))
    except (TypeError, BackendUnavailableError):  # TypeError: a model that is not a sequence of modules
        return []
