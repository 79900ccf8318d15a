"""sentence-transformers' ``SentenceTransformerModelCardData``: what a user tells the model card up front.

sbert keeps a model's card data as a dict (``model.model_card_data``: evaluation results, training
facts) whose sentence-transformers fields also read as attributes; this dataclass is the object
sentence-transformers' training scripts pass to the constructor, turned into that dict's keys here so the
card writer reads one shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .._errors import InputError
from .card_data_surface import CARD_KEYS, CardDataSurface, field_names
from .hub import hub_origin

ST_TASK_NAME = (
    "semantic textual similarity, semantic search, paraphrase mining, classification, clustering, and more"
)
# sentence-transformers' default tags of a SentenceTransformer's card data (each class has its own)
DENSE_TAGS = ("sentence-transformers", "sentence-similarity", "feature-extraction", "dense")


@dataclass
class SentenceTransformerModelCardData:
    """The card's front matter and title, as sentence-transformers names them.

    Args:
        language: ISO code(s) of the model's language(s), e.g. ``"en"``.
        license: the license's identifier, e.g. ``"apache-2.0"``.
        model_name: the card's title (default: the name the model is saved under).
        model_id: the hub id the model will have (used as the name in the card's usage code).
        train_datasets, eval_datasets: ``{"name": ..., "id": ...}`` dicts; the front matter's ``datasets``
            lists their hub ids (a dataset given by name only is not listed; none with ``local_files_only``).
        task_name: what the model is for, in the card's opening sentence.
        tags: the front matter's tags (default: sentence-transformers' for the model class; a trainer adds
            its own after them).
        local_files_only, generate_widget_examples: accepted for compatibility (sbert's card needs no hub
            lookups and runs no usage snippet; a trainer picks the front matter's ``widget`` examples
            either way, as sentence-transformers' does).

    Example::

        model = SentenceTransformer(
            "my-base", model_card_data=SentenceTransformerModelCardData(language="en", license="mit")
        )
    """

    language: str | list[str] | None = field(default_factory=list)
    license: str | None = None
    model_name: str | None = None
    model_id: str | None = None
    train_datasets: list[dict[str, str]] = field(default_factory=list)
    eval_datasets: list[dict[str, str]] = field(default_factory=list)
    task_name: str = ST_TASK_NAME
    tags: list[str] = field(default_factory=lambda: list(DENSE_TAGS))
    local_files_only: bool = False
    generate_widget_examples: bool = True
    # the front matter's, as sentence-transformers fixes them per class (a CrossEncoder's by its labels)
    pipeline_tag: str | None = field(default="sentence-similarity", init=False)
    library_name: str = field(default="sentence-transformers", init=False)
    # the pipeline tag a class's model gives a card data without one (sentence-transformers' register_model)
    registered_pipeline_tag: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        if isinstance(self.language, str):  # a list, as sentence-transformers keeps it
            self.language = [self.language]

    def card_fields(self) -> dict[str, Any]:
        """The keys of sbert's card-data dict this object sets (unset ones are left out)."""
        languages = [self.language] if isinstance(self.language, str) else list(self.language or [])
        datasets = [] if self.local_files_only else _dataset_ids(self.train_datasets + self.eval_datasets)
        values = {
            "language": languages,
            "license": self.license,
            "model_name": self.model_name,
            "model_id": self.model_id,
            "datasets": datasets,
            "task_name": self.task_name,
            "tags": list(self.tags),
            # as given, for a trainer to fill in (sentence-transformers' records of the datasets)
            "train_datasets": [dict(d) if isinstance(d, dict) else d for d in self.train_datasets],
            "eval_datasets": [dict(d) if isinstance(d, dict) else d for d in self.eval_datasets],
            "local_files_only": self.local_files_only,  # no hub lookups (set_base_model)
            "generate_widget_examples": self.generate_widget_examples,  # run_usage_snippet scores or not
            "pipeline_tag": self.pipeline_tag or self.registered_pipeline_tag,
            "library_name": self.library_name,
        }
        return {key: value for key, value in values.items() if value or value is False}


@dataclass
class CrossEncoderModelCardData(SentenceTransformerModelCardData):
    """:class:`SentenceTransformerModelCardData` for a :class:`sbert.CrossEncoder`'s card (its
    ``task_name`` defaults to sentence-transformers' once the model is made: ``"text reranking and semantic
    search"`` for one label, else ``"text pair classification"``)."""

    task_name: str | None = None  # type: ignore[assignment]
    tags: list[str] = field(default_factory=lambda: ["sentence-transformers", "cross-encoder", "reranker"])
    # "text-ranking" for one label, else "text-classification": set by the model (``register_model``)
    pipeline_tag: str | None = field(default=None, init=False)


def _dataset_ids(datasets: list[dict[str, str]]) -> list[str]:
    """The front matter's ``datasets``: each hub id once, in order, as sentence-transformers lists the ids it
    has looked up on the hub (sbert looks none up: an id is taken as given); a name is no hub id."""
    ids: dict[str, None] = {}
    for dataset in datasets:
        if isinstance(dataset, str):  # a name
            continue
        if not isinstance(dataset, dict) or not (dataset.get("id") or dataset.get("name")):
            raise InputError(f"A card dataset is a {{'name': ..., 'id': ...}} dict, got {dataset!r}.")
        if dataset.get("id"):
            ids[str(dataset["id"])] = None
    return list(ids)


class ModelCardData(CardDataSurface, dict):
    """A model's card data: the dict the card writer reads (``"evaluation"``, ``"training"``, front matter),
    whose sentence-transformers fields are attributes too (``model.model_card_data.model_name``), with their
    defaults there where the dict has no key (``card_data_surface``: the fields, ``model``, ``vars()`` and
    sentence-transformers' methods)."""

    __slots__ = ("_model",)  # the model that holds it (``model``), set by register_model

    def __getattr__(self, name: str) -> Any:
        if name == "_model":  # never registered
            return None
        if name not in field_names(self._model):
            raise AttributeError(f"model_card_data has no field {name!r}")
        return self._field(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("model", "_model"):  # the slot (copy and pickle restore it by name)
            self.register_model(value)
            return
        if name not in field_names(self._model):
            raise AttributeError(
                f"model_card_data has no field {name!r}; set one of {field_names(self._model)}, "
                f"or use it as a dict: model_card_data[{name!r}] = ..."
            )
        name = CARD_KEYS.get(name, name)
        self[name] = [value] if name == "language" and isinstance(value, str) else value

    # sentence-transformers' setters, for scripts, callbacks and evaluators that call them

    def add_tags(self, tags: str | list[str]) -> None:
        """Add ``tags`` (one or a list) to the front matter's tags, each once."""
        held = self.tags
        held.extend(
            tag for tag in dict.fromkeys([tags] if isinstance(tags, str) else tags) if tag not in held
        )

    def set_language(self, language: str | list[str]) -> None:
        self.language = [language] if isinstance(language, str) else list(language)

    def set_license(self, license: str) -> None:
        self.license = license

    def set_model_id(self, model_id: str) -> None:
        self.model_id = model_id

    def set_base_model(self, model_id: str, revision: str | None = None) -> bool:
        """Name ``model_id`` (a hub id) as the model this one was trained from; False, leaving the card as
        it was, for a name that is no hub id (a local folder) or with ``local_files_only``.
        sentence-transformers also looks the id up on the hub: sbert records it as given, offline."""
        if self.local_files_only or not looks_like_hub_id(model_id):
            return False
        self.base_model = model_id
        self.base_model_revision = revision
        return True

    def register_defaults(self, task_name: str) -> None:
        """What sentence-transformers' ``register_model`` sets once the model is known: the model class's
        task (``task_name``) where the card data names none."""
        if self.get("task_name") is None:
            self.task_name = task_name

    def set_evaluation_metrics(
        self, evaluator: Any, metrics: dict[str, Any], epoch: int = 0, step: int = 0
    ) -> None:
        """Record an evaluator's numeric ``metrics`` in the card's evaluation results (what an evaluator's
        ``store_metrics_in_model_card_data`` calls), and all of them as ``evaluator``'s latest results."""
        self.note_evaluator(evaluator, metrics)
        self.record_evaluation(
            {key: value for key, value in metrics.items() if isinstance(value, (int, float))}
        )

    def note_evaluator(self, evaluator: Any, metrics: dict[str, Any]) -> None:
        """Keep ``metrics`` as ``evaluator``'s latest results (the front matter's ``metrics`` and
        ``model-index``), without adding them to the card's Evaluation Results section."""
        self.eval_results_dict[evaluator] = dict(metrics)

    def record_evaluation(self, results: dict[str, float]) -> None:
        """Store ``results`` in the card's Evaluation Results, 4 decimals as sentence-transformers' cards."""
        card = self.setdefault("evaluation", {})
        for metric, value in results.items():
            card[metric] = round(float(value), 4) if math.isfinite(value) else value

    def set_best_model_step(self, step: int) -> None:
        self["best_model_step"] = step


def card_data_dict(
    card_data: SentenceTransformerModelCardData | dict[str, Any] | None,
    data_class: type[SentenceTransformerModelCardData] = SentenceTransformerModelCardData,
    model: Any = None,
) -> ModelCardData:
    """A new model's ``model_card_data`` from the constructor's ``model_card_data`` argument; ``data_class``:
    the model class's card-data class, whose defaults (tags, pipeline tag) a missing one or a dict starts
    from; ``model``: the model that will hold it (its ``model``)."""
    if isinstance(card_data, SentenceTransformerModelCardData):  # a CrossEncoderModelCardData too
        fields = card_data.card_fields()
    elif card_data is None or isinstance(card_data, dict):
        defaults = data_class().card_fields()
        kept = ("tags", "pipeline_tag", "library_name", "task_name")
        fields = {key: defaults[key] for key in kept if key in defaults} | dict(card_data or {})
    else:
        raise InputError(
            "model_card_data must be a SentenceTransformerModelCardData or CrossEncoderModelCardData (from "
            "sbert) or a dict, got "
            f"{type(card_data).__name__}."
        )
    card = ModelCardData({"evaluation": {}, **fields})
    card.register_model(model)
    return card


def looks_like_hub_id(name: Any) -> bool:
    """Whether ``name`` can be a Hugging Face Hub model id (``owner/name`` or ``name``), not a local path:
    the names sentence-transformers' card records as a base model (it checks them on the hub)."""
    if not isinstance(name, str) or not name or Path(name).expanduser().exists():
        return False
    path_like = Path(name).is_absolute() or name.startswith((".", "~")) or "\\" in name
    return not path_like and name.count("/") <= 1


def note_base_model(
    card: ModelCardData, name: Any, folder: Path, revision: str | None, local_files_only: bool
) -> None:
    """Record the base model of a model loaded by ``name`` from ``folder``, by sentence-transformers' rule
    (``set_base_model`` as it loads, unless ``local_files_only``): a name the hub resolved (a download or a
    Hugging Face cache snapshot; the embedded default model as its hub name), with the revision asked for,
    or the snapshot's commit for none or ``"main"``; nothing for a local folder, which is no hub model."""
    if local_files_only or (isinstance(name, (str, Path)) and Path(name).expanduser().is_dir()):
        return
    origin = hub_origin(folder)
    if origin is not None:
        hub_id, commit = origin
        card.set_base_model(hub_id, commit if revision in (None, "main") else revision)


def card_data_for(model: Any) -> ModelCardData:
    """``model.model_card_data`` as the card writer reads it (a card-data object, or none, turned into the
    dict, with the defaults of the model class's card-data class)."""
    held = getattr(model, "model_card_data", None)
    if isinstance(held, ModelCardData):
        if held.model is None:
            held.register_model(model)
        return held
    data_class = getattr(model, "model_card_data_class", SentenceTransformerModelCardData)
    return card_data_dict(held, data_class, model)
