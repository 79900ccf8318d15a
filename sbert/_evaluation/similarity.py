"""Evaluators on pairs and triplets of texts: STS correlation, pair classification, triplet accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from .._errors import InputError
from .._similarity_function import SimilarityFunction
from .._st_loggers import ST_BINARY_CLASSIFICATION, ST_EMBEDDING_SIMILARITY, ST_TRIPLET
from .._st_signature import st_positional
from . import metrics
from .base import Evaluator, check_lengths, user_method

FUNCTIONS = ("cosine", "dot", "euclidean", "manhattan")


@dataclass(eq=False, repr=False, kw_only=True)
class ColumnsEvaluator(Evaluator):
    """The base of the evaluators on aligned columns: their keyword options, declared once (a subclass
    declares its columns as positional fields), the columns' length check, and embedding the texts.

    The columns are stored as lists; a subclass turns its labels into an array if it needs one."""

    name: str = ""
    batch_size: int = 64
    # The similarity functions to report; none: the model's own (``model.similarity_fn_name``), as
    # sentence-transformers does. ``similarity_fn_names`` is sentence-transformers' name for it, holding
    # its value: [] (or main_similarity's name) until the first call gives it the model's function.
    functions: Sequence[str] | None = None
    similarity_fn_names: Sequence[str] | None = None
    # The function whose metric is primary; none: the only reported one, or the best of several ("max").
    main_similarity: str | None = None
    show_progress_bar: bool | None = False
    write_csv: bool = True
    truncate_dim: int | None = None
    # The primary metric's name with "{fn}" for the function, and the key of the best over several.
    metric_template = ""
    st_primary_per_call = True  # worked out from the functions on every call, as in sentence-transformers
    st_primary_from_call = True  # and None until the first call
    max_metric = ""
    # The similarity functions this evaluator knows (the MultiVectorEncoder's: maxsim, meanmaxsim)
    function_names: ClassVar[tuple[str, ...]] = FUNCTIONS

    def __post_init__(self) -> None:
        columns = {f.name: getattr(self, f.name) for f in fields(self) if not f.kw_only}
        check_lengths(f"{type(self).__name__}({self.name})", **columns)
        for name, values in columns.items():
            setattr(self, name, list(values))
        chosen = self.similarity_fn_names if self.similarity_fn_names is not None else self.functions
        known = self.function_names
        unknown = [f for f in chosen or () if not _known_function(f, known)]
        if unknown:  # sentence-transformers' wording, which scripts match
            raise InputError(
                f"`similarity_fn_names` got unexpected names {unknown}, expected names in {list(known)}."
            )
        main = None
        if self.main_similarity is not None:  # held as sentence-transformers holds it: a SimilarityFunction
            main = _function_name(self.main_similarity, known)
            self.main_similarity = SimilarityFunction(main)
            # reported alone when no functions are named; named ones are reported without it, as there
            chosen = chosen or [main]
        self.functions = tuple(dict.fromkeys(_function_name(f, known) for f in chosen)) if chosen else None
        if self.similarity_fn_names is None:  # sentence-transformers' value: main_similarity's name, or []
            self.similarity_fn_names = [main] if main is not None else []
        self.main_metric = self.metric_template.format(fn=main or self.function_names[0])
        if self.functions is not None:
            self._choose_main(self.functions)

    def csv_header_columns(self) -> list[str]:
        # sentence-transformers names the columns of the functions it knows: those given, or none yet
        return [column for fn in self.similarity_fn_names or () for column in self.function_columns(fn)]

    def function_columns(self, fn: str) -> list[str]:
        """The CSV columns of one similarity function's metrics."""
        return []

    def reported_functions(self, model: Any) -> tuple[str, ...]:
        """The functions to report for ``model``; sets the primary metric to match them. Without functions
        given, the first model's similarity function stays the evaluator's for later calls, as in
        sentence-transformers (which stores it in ``similarity_fn_names``)."""
        if self.functions is None:
            model_function = getattr(model, "similarity_fn_name", None) or self.function_names[0]
            self.functions = (_function_name(model_function, self.function_names),)
        if not self.similarity_fn_names:
            self.similarity_fn_names = list(self.functions)
        self._choose_main(self.functions)
        return self.functions

    def _choose_main(self, functions: Sequence[str]) -> None:
        if self.main_similarity is not None:
            self.main_metric = self.metric_template.format(fn=self.main_similarity.value)
        elif len(functions) > 1:
            self.main_metric = self.max_metric
        else:
            self.main_metric = self.metric_template.format(fn=functions[0])

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        # sentence-transformers' CSV holds each function's metrics, not the best over them
        return {k: v for k, v in results.items() if not (k.startswith("max_") or k.endswith("_max"))}

    def embed(
        self,
        model: Any,
        *columns: Sequence[str],
        roles: Sequence[str | None] | None = None,
        **options: Any,
    ) -> list[Any]:
        """Embed each distinct text of a role once; one ``(n, d)`` array per column. ``roles``: each
        column's ``"query"`` / ``"document"`` (``encode_query`` / ``encode_document``), default plain
        ``encode``; ``options``: more of ``encode``'s (a ``precision``)."""
        roles = list(roles or [None] * len(columns))
        if user_method(self, "embed_inputs"):
            return self.embedded_columns_by_user(model, columns, roles, options)
        embedded: list[Any] = [None] * len(columns)
        for role in dict.fromkeys(roles):
            mine = [i for i, r in enumerate(roles) if r == role]
            unique = list(dict.fromkeys(t for i in mine for t in columns[i]))
            vectors = self.embed_texts(model, unique, role=role, truncate_dim=self.truncate_dim, **options)
            index = {text: row for row, text in enumerate(unique)}
            for i in mine:
                embedded[i] = self.take_rows(vectors, [index[t] for t in columns[i]])
        return embedded

    def embedded_columns_by_user(
        self, model: Any, columns: Sequence[Sequence[str]], roles: list[str | None], options: dict[str, Any]
    ) -> list[Any]:
        """The columns embedded by a subclass's ``embed_inputs``, called as sentence-transformers calls it:
        once per column (its role's ``encode_fn_name``)."""
        return [self.embedded_by_user(model, column, role) for column, role in zip(columns, roles)]

    def embedded_in_one_call(
        self, model: Any, columns: Sequence[Sequence[str]], texts: list[str]
    ) -> list[Any]:
        """The columns' rows of one ``embed_inputs`` call on ``texts`` (each of the columns' texts in it)."""
        embedded = self.embedded_by_user(model, texts)
        row = {text: i for i, text in enumerate(texts)}
        return [self.take_rows(embedded, [row[t] for t in column]) for column in columns]


@dataclass(eq=False, repr=False)
class PairsEvaluator(ColumnsEvaluator):
    """The base of the evaluators on pairs of texts: the two aligned columns, first positional fields."""

    example_fields = ("text0", "text1", "label")  # sentence-transformers' from_input_examples
    sentences1: Sequence[str]
    sentences2: Sequence[str]


@st_positional(
    "sentences1",
    "sentences2",
    "scores",
    "batch_size",
    "main_similarity",
    "similarity_fn_names",
    "name",
    "show_progress_bar",
    "write_csv",
    "precision",
    "truncate_dim",
)
@dataclass(eq=False, repr=False)
class EmbeddingSimilarityEvaluator(PairsEvaluator):
    """STS: Spearman and Pearson correlation of the similarity of two texts with a gold score.

    The evaluation of the Sentence-BERT paper (STS benchmark, SICK-R): ``pearson_cosine`` and
    ``spearman_cosine`` for the model's similarity function (cosine here), or for each of ``functions``
    (``"cosine"``, ``"dot"``, ``"euclidean"``, ``"manhattan"``) with ``pearson_max`` and ``spearman_max``
    over them. The primary metric is ``spearman_<function>`` (``spearman_max`` for several, unless
    ``main_similarity`` names one). Scores may be on any scale (STSb's 0-5 works as is).

    Args:
        sentences1, sentences2: the pairs, aligned.
        scores: gold similarity of each pair.
        name: prefix of the metric keys, e.g. ``"sts-test"``.
        batch_size: texts per batch when encoding.

    Example::

        from sbert import EmbeddingSimilarityEvaluator, SentenceTransformer
        evaluator = EmbeddingSimilarityEvaluator(
            ["A man plays guitar.", "A cat sleeps."], ["A man plays music.", "A dog runs."], [4.6, 0.4],
            name="sts",
        )
        evaluator(SentenceTransformer())  # {"sts_pearson_cosine": ..., "sts_spearman_cosine": ...}
    """

    description = "Semantic Similarity"  # the card's name for its task, as sentence-transformers'

    scores: Sequence[float]
    batch_size: int = field(default=16, kw_only=True)  # sentence-transformers' default, each class its own
    # sentence-transformers' option: score quantized embeddings ("int8", "uint8", "binary", "ubinary"; or
    # "float32"), normalized before quantizing, the int8 ranges calibrated on both columns together
    precision: str | None = field(default=None, kw_only=True)
    csv_stem = "similarity_evaluation"
    main_metric = "spearman_cosine"
    metric_template, max_metric = "spearman_{fn}", "spearman_max"
    st_logger = ST_EMBEDDING_SIMILARITY
    st_heading = "EmbeddingSimilarityEvaluator: Evaluating the model on the {name} dataset{when}:"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if self.precision not in (None, *PRECISIONS):
            raise InputError(f"precision must be one of {PRECISIONS} or None, got {self.precision!r}")

    def embedded_columns_by_user(
        self, model: Any, columns: Sequence[Sequence[str]], roles: list[str | None], options: dict[str, Any]
    ) -> list[Any]:
        """int8 / uint8: one call on both columns, calibrated together, as sentence-transformers calls it."""
        if self.precision in ("int8", "uint8"):
            return self.embedded_in_one_call(model, columns, [t for column in columns for t in column])
        return super().embedded_columns_by_user(model, columns, roles, options)

    def quantized(self) -> dict[str, Any]:
        """With a ``precision``: quantized embeddings of normalized vectors, as sentence-transformers'."""
        return {"precision": self.precision, "normalize_embeddings": True} if self.precision else {}

    def encode_options(self) -> dict[str, Any]:
        return {**super().encode_options(), **self.quantized()}

    def similarities(self, model: Any) -> dict[str, np.ndarray]:
        """Predicted similarity ``(n,)`` of each pair, by function."""
        options = self.quantized()
        a, b = (
            _unpacked(x, self.precision)
            for x in self.embed(model, self.sentences1, self.sentences2, **options)
        )
        return {f: self.paired_scores(a, b, f) for f in self.reported_functions(model)}

    @property
    def csv_file(self) -> str:
        suffix = f"{'_' + self.name if self.name else ''}{'_' + self.precision if self.precision else ''}"
        return f"{self.csv_stem}{suffix}_results.csv"

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), **({"precision": self.precision} if self.precision else {})}

    def function_columns(self, fn: str) -> list[str]:
        return [f"{fn}_pearson", f"{fn}_spearman"]

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        # sentence-transformers' STS CSV names its columns "<function>_<metric>": cosine_pearson, ...
        columns = super().csv_columns(results)
        return {"_".join(reversed(k.split("_", 1))): v for k, v in columns.items()}

    def result_lines(self, results: dict[str, float]) -> list[str]:
        functions = [k.removeprefix("pearson_") for k in results if k.startswith("pearson_")]
        return [
            f"{fn.capitalize()}-Similarity:\tPearson: {results[f'pearson_{fn}']:.4f}\t"
            f"Spearman: {results[f'spearman_{fn}']:.4f}"
            for fn in functions
            if fn != "max"
        ]

    def compute(self, model: Any) -> dict[str, float]:
        results = {}
        for function, predicted in self.similarities(model).items():
            correlations = metrics.correlations(predicted, self.scores, self.describe())
            results[f"pearson_{function}"], results[f"spearman_{function}"] = correlations
        return with_best(results, ("pearson", "spearman"), "{metric}_{fn}", "{metric}_max")


@st_positional(
    "sentences1",
    "sentences2",
    "labels",
    "name",
    "batch_size",
    "show_progress_bar",
    "write_csv",
    "truncate_dim",
    "similarity_fn_names",
)
@dataclass(eq=False, repr=False)
class BinaryClassificationEvaluator(PairsEvaluator):
    """Pair classification (similar = 1, not = 0) by thresholding the similarity: accuracy, F1, AP.

    For the model's similarity function (or each of ``functions``) the best accuracy threshold and the best
    F1 threshold are searched on the data itself (as sentence-transformers does), and average precision
    needs no threshold. Keys: ``cosine_accuracy``, ``cosine_accuracy_threshold``, ``cosine_f1``,
    ``cosine_f1_threshold``, ``cosine_precision``, ``cosine_recall``, ``cosine_ap``, ``cosine_mcc`` (Matthews
    correlation at the F1 threshold); with several functions the same for each and ``max_<metric>`` over
    them. Primary metric: ``cosine_ap`` (``max_ap`` for several).

    Example::

        from sbert import BinaryClassificationEvaluator, SentenceTransformer
        evaluator = BinaryClassificationEvaluator(["How old are you?", "Where is Paris?"],
                                                  ["What is your age?", "How tall is Bob?"], [1, 0])
        evaluator(SentenceTransformer())["cosine_accuracy"]
    """

    labels: Sequence[int]
    batch_size: int = field(default=32, kw_only=True)
    csv_stem = "binary_classification_evaluation"
    main_metric = "cosine_ap"
    metric_template, max_metric = "{fn}_ap", "max_ap"
    st_logger = ST_BINARY_CLASSIFICATION
    st_heading = "Binary Accuracy Evaluation of the model on the {name} dataset{when}:"

    def embedded_columns_by_user(
        self, model: Any, columns: Sequence[Sequence[str]], roles: list[str | None], options: dict[str, Any]
    ) -> list[Any]:
        """One call on the distinct texts of both columns, as sentence-transformers calls it."""
        return self.embedded_in_one_call(model, columns, list(dict.fromkeys(t for c in columns for t in c)))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.labels = np.asarray(self.labels)
        if not np.isin(self.labels, (0, 1)).all():
            raise InputError(f"BinaryClassificationEvaluator({self.name}): labels must be 0 or 1.")

    def compute(self, model: Any) -> dict[str, float]:
        by_function = self.compute_metrics(model)
        results = {f"{fn}_{key}": v for fn, values in by_function.items() for key, v in values.items()}
        names = ("accuracy", "accuracy_threshold", "f1", "f1_threshold", "precision", "recall", "ap", "mcc")
        return with_best(results, names, "{fn}_{metric}", "max_{metric}")

    def function_columns(self, fn: str) -> list[str]:
        return [f"{fn}_{metric}" for metric in _CSV_METRICS]

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        # sentence-transformers' CSV puts f1_threshold after recall (its results dict puts it after f1)
        columns = super().csv_columns(results)
        functions = dict.fromkeys(k.removesuffix("_ap") for k in columns if k.endswith("_ap"))
        return {f"{fn}_{m}": columns[f"{fn}_{m}"] for fn in functions for m in _CSV_METRICS}

    def compute_metrics(self, model: Any) -> dict[str, dict[str, float]]:
        """The metrics of each similarity function, ``{"cosine": {"accuracy": ..., ...}}``, as
        sentence-transformers' method of this name gives them (a subclass may override it)."""
        a, b = self.embed(model, self.sentences1, self.sentences2)
        results = {}
        for function in self.reported_functions(model):
            scores = self.paired_scores(a, b, function)
            accuracy, accuracy_threshold = metrics.best_accuracy_threshold(scores, self.labels)
            f1, precision, recall, f1_threshold = metrics.best_f1_threshold(scores, self.labels)
            distance = function in ("euclidean", "manhattan")  # report thresholds as distances, not negated
            results[function] = {
                "accuracy": accuracy,
                "accuracy_threshold": -accuracy_threshold if distance else accuracy_threshold,
                "f1": f1,
                "f1_threshold": -f1_threshold if distance else f1_threshold,
                "precision": precision,
                "recall": recall,
                "ap": metrics.average_precision(scores, self.labels),
                # at the F1 threshold, as sentence-transformers
                "mcc": metrics.matthews_correlation(scores >= f1_threshold, self.labels),
            }
        return results

    compute_metrices = compute_metrics  # sentence-transformers' older spelling

    def result_lines(self, results: dict[str, float]) -> list[str]:
        lines = []
        for fn in (k.removesuffix("_ap") for k in results if k.endswith("_ap") and not k.startswith("max_")):
            name, r = _DISPLAY_NAMES.get(fn, fn), {k.removeprefix(fn + "_"): v for k, v in results.items()}
            lines += [
                f"Accuracy with {name}:             {r['accuracy'] * 100:.2f}\t"
                f"(Threshold: {r['accuracy_threshold']:.4f})",
                f"F1 with {name}:                   {r['f1'] * 100:.2f}\t"
                f"(Threshold: {r['f1_threshold']:.4f})",
                f"Precision with {name}:            {r['precision'] * 100:.2f}",
                f"Recall with {name}:               {r['recall'] * 100:.2f}",
                f"Average Precision with {name}:    {r['ap'] * 100:.2f}",
                f"Matthews Correlation with {name}: {r['mcc'] * 100:.2f}\n",
            ]
        return lines

    @staticmethod
    def find_best_acc_and_threshold(
        scores: Sequence[float], labels: Sequence[int], high_score_more_similar: bool
    ) -> tuple[float, float]:
        """sentence-transformers' helper: the best accuracy of thresholding ``scores`` and the threshold
        (pairs at or above it similar; at or below it for distances, ``high_score_more_similar=False``)."""
        sign = 1.0 if high_score_more_similar else -1.0
        accuracy, threshold = metrics.best_accuracy_threshold(sign * np.asarray(scores), np.asarray(labels))
        return accuracy, sign * threshold

    @staticmethod
    def find_best_f1_and_threshold(
        scores: Sequence[float], labels: Sequence[int], high_score_more_similar: bool
    ) -> tuple[float, float, float, float]:
        """sentence-transformers' helper: ``(f1, precision, recall, threshold)`` of the best F1 threshold."""
        sign = 1.0 if high_score_more_similar else -1.0
        f1, precision, recall, threshold = metrics.best_f1_threshold(
            sign * np.asarray(scores), np.asarray(labels)
        )
        return f1, precision, recall, sign * threshold


@st_positional(
    "anchors",
    "positives",
    "negatives",
    "main_similarity_function",
    "margin",
    "name",
    "batch_size",
    "show_progress_bar",
    "write_csv",
    "truncate_dim",
    "similarity_fn_names",
    "main_distance_function",
)
@dataclass(eq=False, repr=False)
class TripletEvaluator(ColumnsEvaluator):
    """Triplet accuracy: how often the anchor is more similar to the positive than to the negative.

    Key ``cosine_accuracy`` for the model's similarity function, or ``<function>_accuracy`` for each of
    ``functions`` and ``max_accuracy`` (primary unless ``main_similarity`` names one).

    Example::

        from sbert import SentenceTransformer, TripletEvaluator
        evaluator = TripletEvaluator(["A man plays guitar."], ["Someone makes music."], ["A cat sleeps."])
        evaluator(SentenceTransformer())["cosine_accuracy"]
    """

    example_fields = ("text0", "text1", "text2")  # sentence-transformers' from_input_examples
    anchors: Sequence[str]
    positives: Sequence[str]
    negatives: Sequence[str]
    batch_size: int = field(default=16, kw_only=True)
    # counted only when ahead by more than this: one margin, or one per similarity function (others 0)
    margin: float | dict[str, float] | None = field(default=None, kw_only=True)
    main_similarity_function: str | None = field(default=None, kw_only=True)  # older name of main_similarity
    main_distance_function: str | None = field(default=None, kw_only=True)  # its deprecated older name
    csv_stem = "triplet_evaluation"
    main_metric = "cosine_accuracy"
    metric_template, max_metric = "{fn}_accuracy", "max_accuracy"
    st_logger = ST_TRIPLET
    st_heading = "TripletEvaluator: Evaluating the model on the {name} dataset{when}:"
    # sentence-transformers' triplet order of its functions: the margins' keys and its error messages
    function_names: ClassVar[tuple[str, ...]] = ("cosine", "dot", "manhattan", "euclidean")

    def __post_init__(self) -> None:
        if self.main_similarity is None:
            self.main_similarity = self.main_similarity_function or self.main_distance_function
        super().__post_init__()
        self.main_similarity_function = self.main_similarity  # a SimilarityFunction, as there
        known = self.function_names
        if isinstance(self.margin, dict):
            unknown = sorted(set(self.margin) - set(known))
            if unknown:
                raise InputError(f"`margin` got unexpected keys {unknown}, expected keys in {list(known)}.")
            self.margin = {**dict.fromkeys(known, 0), **self.margin}
        elif self.margin is None or isinstance(self.margin, (int, float)):  # kept as given: the card shows it
            self.margin = dict.fromkeys(known, 0 if self.margin is None else self.margin)
        else:
            raise InputError(f"`margin` should be a float or a dict with keys in {list(known)}.")

    def get_config_dict(self) -> dict[str, Any]:
        config = {"margin": self.margin} if any(self.margin.values()) else {}
        return {**config, **super().get_config_dict()}

    def compute(self, model: Any) -> dict[str, float]:
        # anchors as queries, the candidates as documents (their prompts and routes), as sentence-transformers
        roles = ("query", "document", "document")
        a, p, n = self.embed(model, self.anchors, self.positives, self.negatives, roles=roles)
        results = {}
        for function in self.reported_functions(model):
            positive, negative = self.paired_scores(a, p, function), self.paired_scores(a, n, function)
            # a float32 mean, as sentence-transformers' torch mean (1/3 is 0.3333333432674408 there)
            wins = positive > negative + self.margin[function]
            results[f"{function}_accuracy"] = float(np.mean(wins, dtype=np.float32))
        return with_best(results, ("accuracy",), "{fn}_{metric}", "max_{metric}", self.function_names)

    def result_lines(self, results: dict[str, float]) -> list[str]:
        accuracies = {k.removesuffix("_accuracy"): v for k, v in results.items() if k.endswith("_accuracy")}
        return [
            f"Accuracy {fn.capitalize()} Similarity:\t{value:.2%}"
            for fn, value in accuracies.items()
            if fn != "max"
        ]

    def function_columns(self, fn: str) -> list[str]:
        return [f"accuracy_{fn}"]

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        # sentence-transformers' triplet CSV names its columns "accuracy_<function>"
        columns = super().csv_columns(results)
        return {"accuracy_" + k.removesuffix("_accuracy"): v for k, v in columns.items()}


# how sentence-transformers' pair classification log names each similarity function
_DISPLAY_NAMES = {
    "cosine": "Cosine-Similarity",
    "dot": "Dot-Product",
    "manhattan": "Manhattan-Distance",
    "euclidean": "Euclidean-Distance",
}

PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def _unpacked(embeddings: np.ndarray, precision: str | None) -> np.ndarray:
    """Quantized embeddings as float32 vectors the similarity functions take: packed bits unpacked (binary
    shifted to unsigned first), as sentence-transformers scores them; unquantized ones as they are."""
    if precision is None:
        return embeddings
    if precision == "binary":
        embeddings = embeddings.astype(np.int16) + 128
    if precision in ("binary", "ubinary"):
        embeddings = np.unpackbits(embeddings.astype(np.uint8), axis=1)
    return np.asarray(embeddings, dtype=np.float32)


def with_best(
    results: dict[str, float], names: Sequence[str], key: str, best: str, known: Sequence[str] = FUNCTIONS
) -> dict[str, float]:
    """``results`` with, when it holds several of the similarity functions ``known``, the best value of each
    metric over them (sentence-transformers' ``..._max`` / ``max_...`` keys)."""
    functions = [f for f in known if key.format(fn=f, metric=names[0]) in results]
    if len(functions) < 2:
        return results
    for metric in names:
        values = [results[key.format(fn=f, metric=metric)] for f in functions]
        results[best.format(metric=metric)] = max(values)
    return results


_CSV_METRICS = ("accuracy", "accuracy_threshold", "f1", "precision", "recall", "f1_threshold", "ap", "mcc")
_FUNCTION_ALIASES = {"dot_product": "dot", "dot_score": "dot", "cos_sim": "cosine"}


def _known_function(function: Any, known: Sequence[str] = FUNCTIONS) -> bool:
    name = getattr(function, "value", function)
    return _FUNCTION_ALIASES.get(name, name) in known


def _function_name(function: Any, known: Sequence[str] = FUNCTIONS) -> str:
    """A similarity function's name from a string or a SimilarityFunction member ("dot_product": "dot")."""
    name = getattr(function, "value", function)
    name = _FUNCTION_ALIASES.get(name, name)
    if name not in known:
        raise InputError(f"Unknown similarity function {function!r}; choose from {tuple(known)}.")
    return name
