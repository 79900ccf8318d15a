"""What every evaluator shares: a name, a primary metric, and where results go (card, JSON)."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .._errors import InputError
from .._format.card_data import ModelCardData, card_data_for
from .._io.atomic import atomic_write_bytes
from .._numeric import similarity_matrix
from . import metrics


class Evaluator:
    """Base class: ``evaluator(model) -> {metric: value}``, keys prefixed by the evaluator's ``name``.

    ``main_metric`` names the value used to pick the best checkpoint during training (higher is better);
    ``primary_key`` is its key in the results, and ``primary_metric`` the same once the evaluator has been
    called (before that, what sentence-transformers' evaluator of the kind holds). Called as
    sentence-transformers calls an evaluator, ``evaluator(model, output_path, epoch, steps)``, it also
    appends the results to a CSV file in ``output_path``.
    """

    name = ""
    main_metric = ""
    greater_is_better = True
    write_csv = True  # sentence-transformers' option: False leaves output_path without a CSV
    csv_stem = ""  # the result CSV is "<csv_stem>_<name>_results.csv" (sentence-transformers' names)
    # sentence-transformers' from_input_examples: the constructor's first arguments, filled from each
    # InputExample ("text0".."text2": one of its texts, "texts": all of them as a pair, "label"); none: not
    # built from examples
    example_fields: tuple[str, ...] = ()
    # sentence-transformers' INFO lines of an evaluation, for the evaluators sbert gives them for: the logger
    # (a name from _st_loggers; none logs nothing) and the heading, with "{name}" and "{when}" (" after epoch
    # 1", ...) to fill in ("{evaluator.<attribute>}" too); the result lines are result_lines'
    st_logger: ClassVar[str | None] = None
    st_heading: ClassVar[str] = ""
    # sentence-transformers' evaluators of this kind work out their primary metric on every call, replacing
    # one a subclass set (BinaryClassification, EmbeddingSimilarity, Triplet); the others keep it
    st_primary_per_call: ClassVar[bool] = False
    # sentence-transformers' primary_metric before the first call: the metric without the evaluator's name
    # ("accuracy"; the call prefixes it, "dev_accuracy"), or None where only the call works it out
    # (BinaryClassification, EmbeddingSimilarity, Triplet, InformationRetrieval, NanoBEIR, Sequential;
    # CrossEncoderClassification has no primary_metric attribute until then)
    st_primary_from_call: ClassVar[bool] = False

    @classmethod
    def from_input_examples(cls, examples: Sequence[Any], **kwargs: Any) -> Any:
        """The evaluator of ``examples`` (``InputExample`` s, as sentence-transformers' classic scripts
        build their dev sets); ``kwargs`` are the constructor's other options (``name=...``)."""
        if not cls.example_fields:
            raise InputError(
                f"{cls.__name__} is not built from InputExamples; call it with its own arguments."
            )
        examples = list(examples)
        columns = [
            [_example_field(e, field, i, cls.__name__) for i, e in enumerate(examples)]
            for field in cls.example_fields
        ]
        return cls(*columns, **kwargs)

    def __call__(
        self, model: Any, output_path: str | os.PathLike | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        self.log_st_heading(epoch, steps)
        if self.st_resets_primary(model):
            self.primary_metric = None
        results = {metric: float(value) for metric, value in self.compute(model).items()}
        self.settle_primary()
        self.log_st_results(results)
        row = {"epoch": epoch, "steps": steps, **self.csv_columns(results)}
        self.note_csv_headers(row)
        if output_path is not None and self.write_csv:
            append_csv_row(self.csv_path(output_path), row)
        named = {self.key(metric): value for metric, value in results.items()}
        card = {self.key(metric): value for metric, value in self.card_metrics(results).items()}
        note_evaluator_results(model, self, card, epoch, steps)
        return named

    def card_metrics(self, results: dict[str, float]) -> dict[str, Any]:
        """What a call keeps in the model card data (its ``eval_results_dict``: the front matter's
        ``metrics`` and model-index), unprefixed: the results, unless sentence-transformers' evaluator of
        this kind keeps other values there."""
        return results

    def compute(self, model: Any) -> dict[str, float]:
        raise NotImplementedError

    def st_resets_primary(self, model: Any) -> bool:
        """Whether this call replaces a primary metric a subclass chose, as sentence-transformers' evaluator
        of this kind does (``st_primary_per_call``)."""
        return self.st_primary_per_call

    def settle_primary(self) -> None:
        """After a call: ``primary_metric`` is from now on the primary metric's key in the results, as
        sentence-transformers' evaluators hold it once called (a subclass's own choice prefixed)."""
        self.__dict__["_primary_settled"] = True
        self.name_chosen_primary()

    def name_chosen_primary(self) -> None:
        """A primary metric a subclass chose, prefixed with the evaluator's name as the results' keys are
        (sentence-transformers' ``prefix_name_to_metrics`` does this at the end of each call)."""
        chosen = self.__dict__.get("_primary_metric")
        if chosen and self.name and not chosen.startswith(self.name + "_"):
            self.primary_metric = f"{self.name}_{chosen}"

    def st_when(self, epoch: int, steps: int) -> str:
        """When the evaluation runs, in sentence-transformers' heading: " after epoch 1", " in epoch 1
        after 10 steps", or nothing outside training; then " (truncated to 64)" for a truncate_dim."""
        if epoch == -1:
            when = ""
        else:
            when = f" after epoch {epoch}" if steps == -1 else f" in epoch {epoch} after {steps} steps"
        truncate_dim = getattr(self, "truncate_dim", None)
        return when + (f" (truncated to {truncate_dim})" if truncate_dim is not None else "")

    def log_st_heading(self, epoch: int, steps: int) -> None:
        """Log sentence-transformers' heading of an evaluation (``st_heading`` filled in; ``{evaluator}``
        is the evaluator, for its other attributes)."""
        if self.st_logger:
            heading = self.st_heading.format(name=self.name, when=self.st_when(epoch, steps), evaluator=self)
            log_lines(self.st_logger, [heading])

    def result_lines(self, results: dict[str, float]) -> list[str]:
        """sentence-transformers' INFO lines of ``results`` (unprefixed), for an evaluator with st_logger."""
        return []

    def log_st_results(self, results: dict[str, float]) -> None:
        """Log sentence-transformers' INFO lines after an evaluation (a sparse evaluator adds its own); the
        lines are only built where the record would be shown (some count over every sample)."""
        if self.st_logger and logging.getLogger(self.st_logger).isEnabledFor(logging.INFO):
            log_lines(self.st_logger, self.result_lines(results))

    # How the evaluator embeds texts and reads embeddings: numpy arrays here; the sparse evaluators
    # (sbert._evaluation.sparse) override these four for sparse torch tensors and keep the metric code.

    def embed_texts(
        self,
        model: Any,
        texts: Sequence[str],
        *,
        role: str | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Any:
        """``texts`` embedded by ``model`` in batches of ``self.batch_size`` (``progress=False``: without
        the evaluator's progress bar); ``role`` and ``options`` as for :func:`encode`."""
        show = getattr(self, "show_progress_bar", False) if progress else False
        return encode(model, texts, getattr(self, "batch_size", 32), show, role=role, **options)

    def embed_inputs(
        self, model: Any, sentences: Sequence[str], encode_fn_name: str | None = None, **kwargs: Any
    ) -> Any:
        """sentence-transformers' embedding step, which a subclass overrides or calls: ``sentences``
        embedded by ``model`` (``encode_query`` / ``encode_document`` for ``encode_fn_name`` "query" /
        "document") with the evaluator's batch size, truncation and precision (:meth:`encode_options`)."""
        role = encode_fn_name if encode_fn_name in ("query", "document") else None
        return self.embed_texts(model, sentences, role=role, **{**self.encode_options(), **kwargs})

    def encode_options(self) -> dict[str, Any]:
        """The ``encode`` options the evaluator embeds with (its truncation)."""
        return {"truncate_dim": getattr(self, "truncate_dim", None)}

    def embedded_by_user(self, model: Any, texts: Sequence[str], role: str | None = None, **hook: Any) -> Any:
        """``texts`` embedded by a user's override of :meth:`embed_inputs`, called as sentence-transformers
        calls it (``encode_fn_name`` for a role; ``hook``: more of its arguments, a prompt), as the evaluator
        reads embeddings (a dense tensor as numpy); ``None`` where the evaluator has no such override."""
        if not user_method(self, "embed_inputs"):
            return None
        found = self.embed_inputs(model, list(texts), **({"encode_fn_name": role} if role else {}), **hook)
        return self.read_embeddings(found)

    def read_embeddings(self, embeddings: Any) -> Any:
        """Embeddings a user's code returned (a tensor, a list of row tensors, an array) as the evaluator
        reads them: a numpy array here (the sparse evaluators read sparse tensors)."""
        if isinstance(embeddings, (list, tuple)):  # rows (a TranslationEvaluator's are tensors)
            return np.stack([np.asarray(_dense(row)) for row in embeddings])
        return _dense(embeddings)

    def embed_column(self, model: Any, texts: Sequence[str], role: str | None = None) -> Any:
        """``texts`` embedded as the evaluator embeds one column: by a user's :meth:`embed_inputs` where
        there is one, else with its :meth:`encode_options`."""
        found = self.embedded_by_user(model, texts, role)
        return (
            found if found is not None else self.embed_texts(model, texts, role=role, **self.encode_options())
        )

    def take_rows(self, embeddings: Any, rows: Sequence[int]) -> Any:
        """The embeddings of ``rows``, in that order."""
        return embeddings[list(rows)]

    def paired_scores(self, a: Any, b: Any, function: str) -> np.ndarray:
        """``(n,)`` float64 similarity of row i of ``a`` with row i of ``b``; distances negated."""
        return metrics.paired_scores(a, b, function)

    def score_matrix(self, a: Any, b: Any, function: str) -> np.ndarray:
        """``(n, m)`` float32 similarity of every row of ``a`` with every row of ``b``, computed in float64
        and rounded: a float32 matrix product's last bit depends on where a row sits in the matrix, which
        would break the exact ties of repeated texts (a corpus's duplicate documents, scored in different
        chunks) that sentence-transformers keeps."""
        return similarity_matrix(a, b, function, dtype=np.float64).astype(np.float32)

    def get_config_dict(self) -> dict[str, Any]:
        """The evaluator's settings for the model card, as sentence-transformers' (``truncate_dim`` when
        set)."""
        truncate_dim = getattr(self, "truncate_dim", None)
        return {"truncate_dim": truncate_dim} if truncate_dim is not None else {}

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        """The CSV row after ``epoch`` and ``steps``: the results, unless an evaluator names its columns as
        sentence-transformers' does."""
        return results

    @property
    def csv_headers(self) -> list[str]:
        """The CSV file's header row, sentence-transformers' attribute: the one set, else the row of the
        latest call, else the columns known before a call (:meth:`csv_header_columns`) after ``epoch`` and
        ``steps``."""
        if "_csv_headers" not in self.__dict__:
            return ["epoch", "steps", *self.csv_header_columns()]
        return self.__dict__["_csv_headers"]

    @csv_headers.setter
    def csv_headers(self, value: list[str]) -> None:
        self.__dict__["_csv_headers"] = value

    def csv_header_columns(self) -> list[str]:
        """The CSV columns after ``epoch`` and ``steps`` that sentence-transformers' evaluator of this kind
        names before its first call (none where the call works them out, from the model's function)."""
        return []

    def note_csv_headers(self, row: dict[str, Any]) -> None:
        """Keep the header of a call's CSV row (written or not) as :attr:`csv_headers`, as
        sentence-transformers' evaluators hold it from their first call on."""
        self.csv_headers = list(row)

    def key(self, metric: str) -> str:
        return f"{self.name}_{metric}" if self.name else metric

    @property
    def primary_key(self) -> str:
        """The key of the primary metric in the results: the one a subclass set as ``primary_metric`` (as
        sentence-transformers' custom evaluators do), else ``main_metric`` under the evaluator's name."""
        chosen = self.__dict__.get("_primary_metric")
        return chosen if chosen else self.key(self.main_metric)

    @property
    def primary_metric(self) -> str | None:
        """The primary metric as sentence-transformers' evaluator of this kind holds it: before the first
        call the metric without the evaluator's name (``"accuracy"``), or None (``st_primary_from_call``);
        from the first call on, its key in the results (``"dev_accuracy"``, :attr:`primary_key`, which
        sbert's trainers and SequentialEvaluator read at any time). A subclass's own choice as it set it
        (prefixed by a call); None for an evaluator that names none (a user's subclass that has not set
        one yet, as sentence-transformers' base class starts it)."""
        chosen = self.__dict__.get("_primary_metric")
        if chosen or not self.main_metric:
            return chosen or None
        if self.__dict__.get("_primary_settled"):
            return self.primary_key
        return None if self.st_primary_from_call else self.main_metric

    @primary_metric.setter
    def primary_metric(self, value: str | None) -> None:
        self.__dict__["_primary_metric"] = value

    # sentence-transformers' helpers for evaluators written against its base class

    def prefix_name_to_metrics(self, metrics: dict[str, Any], name: str) -> dict[str, Any]:
        """``metrics`` with their keys prefixed ``<name>_`` (and the primary metric set, likewise)."""
        values = {key: _as_float(value) for key, value in metrics.items()}
        if not name:
            return values
        # the primary metric as it reads now (a built-in's too, as sentence-transformers renames any)
        current = self.primary_metric
        if current and not current.startswith(name + "_"):
            self.primary_metric = f"{name}_{current}"
        return {f"{name}_{key}": value for key, value in values.items()}

    def store_metrics_in_model_card_data(
        self, model: Any, metrics: dict[str, Any], epoch: int = 0, step: int = 0
    ) -> None:
        """Record ``metrics`` in the model card's evaluation results (and as this evaluator's latest)."""
        note_evaluator_results(model, self, metrics, epoch, step)
        record_results(model, {k: v for k, v in metrics.items() if isinstance(v, (int, float))})

    @property
    def description(self) -> str:
        """The class name in words, as sentence-transformers' cards name an evaluator: "Binary
        Classification" for BinaryClassificationEvaluator, "CrossEncoder ..." for a CE... class."""
        name = type(self).__name__
        name = "CrossEncoder" + name[2:] if name.startswith("CE") else name
        name = name[: name.index("Evaluator")] if "Evaluator" in name else name
        return re.sub(r"([a-z])([A-Z])", r"\g<1> \g<2>", name)

    def csv_path(self, output_path: str | os.PathLike) -> Path:
        return Path(output_path) / self.csv_file

    @property
    def csv_file(self) -> str:
        """The name of the CSV file in ``output_path`` (sentence-transformers' attribute; a subclass may set
        its own, as there): the one set, else :attr:`default_csv_file`."""
        return self.__dict__.get("_csv_file") or self.default_csv_file

    @csv_file.setter
    def csv_file(self, value: str) -> None:
        self.__dict__["_csv_file"] = value

    @property
    def default_csv_file(self) -> str:
        """The CSV file's name as sentence-transformers' evaluator of this kind names it."""
        stem = self.csv_stem or type(self).__name__
        return f"{stem}{'_' + self.name if self.name else ''}_results.csv"

    def describe(self) -> str:
        return f"{type(self).__name__}({self.name or 'unnamed'})"


def _as_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _last(scores: list[float]) -> float:
    return scores[-1]


class SequentialEvaluator(Evaluator):
    """Several evaluators run one after the other, as sentence-transformers' ``SequentialEvaluator``: the
    results of all, plus ``sequential_score``, the primary metric: ``main_score_function`` of their primary
    scores in order (default: the last one's)."""

    main_metric = "sequential_score"
    st_primary_from_call = True

    def __init__(
        self, evaluators: Sequence[Evaluator], main_score_function: Callable[[list[float]], float] = _last
    ) -> None:
        self.evaluators = list(evaluators)
        self.main_score_function = main_score_function

    def __call__(
        self, model: Any, output_path: str | os.PathLike | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        results: dict[str, float] = {}
        scores = []
        for index, evaluator in enumerate(self.evaluators):
            found = evaluator(model, output_path, epoch, steps)
            if not isinstance(found, dict):  # an evaluator of sentence-transformers' older kind: one float
                found = {f"evaluator_{index}": found}
            key = getattr(evaluator, "primary_key", None)
            scores.append(found[key] if key in found else next(iter(found.values())))
            results.update(found)
        # no evaluators: 0.0, as sentence-transformers' (main_score_function is not called)
        results["sequential_score"] = float(self.main_score_function(scores)) if scores else 0.0
        self.settle_primary()
        return results

    def describe(self) -> str:
        return ", ".join(e.describe() for e in self.evaluators)


def as_torch(embeddings: Any) -> Any:
    """A numpy array as a torch tensor (what sentence-transformers' ``embed_inputs`` returns where it asks
    ``encode`` for tensors); a tensor or a list of rows as it is."""
    if not isinstance(embeddings, np.ndarray):
        return embeddings
    import torch

    return torch.from_numpy(np.ascontiguousarray(embeddings))


def _dense(embeddings: Any) -> Any:
    """A dense torch tensor as a float numpy array; anything else (numpy, a sparse tensor) as it is."""
    is_dense_tensor = hasattr(embeddings, "detach") and not getattr(embeddings, "is_sparse", False)
    return embeddings.detach().float().cpu().numpy() if is_dense_tensor else embeddings


def user_method(evaluator: Any, name: str) -> bool:
    """Whether a user's subclass (or the instance) replaces the evaluator's method ``name``: sbert then calls
    it where sentence-transformers does, and keeps its own faster path otherwise."""
    method = vars(evaluator).get(name) or getattr(type(evaluator), name, None)
    return not (getattr(method, "__module__", None) or "").startswith("sbert.")


def count_summary(counts: Sequence[int]) -> str:
    """ "Min 1.0, Mean 1.5, Max 2.0": how sentence-transformers' reranking logs summarize counts."""
    return f"Min {np.min(counts):.1f}, Mean {np.mean(counts):.1f}, Max {np.max(counts):.1f}"


def log_lines(logger_name: str, lines: Sequence[str], level: int = logging.INFO) -> None:
    """``lines`` as records of ``logger_name`` (a name from _st_loggers), one a line, as sentence-transformers
    logs them."""
    logger = logging.getLogger(logger_name)
    if logger.isEnabledFor(level):
        for line in lines:
            logger.log(level, line)


def append_csv_row(path: Path, row: dict[str, Any]) -> None:
    """One row of results, the header first when the file is new (sentence-transformers' result log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(list(row))
        writer.writerow(list(row.values()))


def record_results(model: Any, results: dict[str, float], path: str | os.PathLike | None = None) -> None:
    """Store ``results`` in the model card's Evaluation Results (4 decimals, as sentence-transformers' cards)
    and, given ``path``, in a JSON file."""
    card = model.model_card_data
    if not isinstance(card, ModelCardData):
        card = model.model_card_data = card_data_for(model)
    card.record_evaluation(results)
    if path is not None:
        atomic_write_bytes(path, (json.dumps(results, indent=2) + "\n").encode())


def note_evaluator_results(
    model: Any, evaluator: Any, results: dict[str, Any], epoch: int = 0, step: int = 0
) -> None:
    """Keep ``results`` as ``evaluator``'s latest in the model's card data, as every call of a
    sentence-transformers evaluator does (its ``eval_results_dict``: the front matter's ``metrics`` and
    ``model-index``); the card's Evaluation Results section stays the trainer's. Another card data (a
    sentence-transformers model's, a test's stand-in) gets what sentence-transformers' evaluators call on
    it: ``set_evaluation_metrics(evaluator, results, epoch, step)``."""
    card = getattr(model, "model_card_data", None)
    if isinstance(card, ModelCardData):
        card.note_evaluator(evaluator, results)
    elif callable(getattr(card, "set_evaluation_metrics", None)):
        card.set_evaluation_metrics(evaluator, dict(results), epoch, step)


def _example_field(example: Any, field: str, row: int, kind: str) -> Any:
    if field == "label":
        return example.label
    texts = getattr(example, "texts", None)
    if not isinstance(texts, (list, tuple)):
        raise InputError(f"{kind}.from_input_examples: item {row} is not an InputExample (it has no texts).")
    if field == "texts":
        return tuple(texts)
    index = int(field.removeprefix("text"))
    if index >= len(texts):
        raise InputError(
            f"{kind}.from_input_examples: example {row} has {len(texts)} texts; {kind} needs {index + 1}."
        )
    return texts[index]


def encode(
    model: Any,
    texts: Sequence[str],
    batch_size: int,
    show_progress_bar: bool | None = False,
    *,
    role: str | None = None,
    **options: Any,
) -> np.ndarray:
    """Embeddings of ``texts`` by the model's ``encode`` (which puts it in eval mode and leaves it so, as
    sentence-transformers' evaluators leave it); ``options``: ``encode``'s (a prompt, ``truncate_dim``),
    those given as None left out. ``role`` ``"query"`` or ``"document"`` embeds with ``encode_query`` /
    ``encode_document`` (the role's prompt and Router route) where the model has them."""
    method = getattr(model, f"encode_{role}", None) if role else None
    given = {name: value for name, value in options.items() if value is not None}
    embed = method or model.encode
    return embed(list(texts), batch_size=batch_size, show_progress_bar=show_progress_bar, **given)


def check_lengths(where: str, **columns: Sequence[Any]) -> int:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise InputError(f"{where}: columns differ in length: {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise InputError(f"{where}: no examples to evaluate on.")
    return n
