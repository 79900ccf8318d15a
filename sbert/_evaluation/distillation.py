"""Knowledge distillation: how far a student's embeddings are from a teacher's (mean squared error)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import InputError
from .._st_loggers import ST_MSE
from .base import Evaluator, check_lengths


def squared_error(teacher: np.ndarray, student: np.ndarray, where: str) -> float:
    """Mean squared error ×100 of two ``(n, d)`` embedding arrays (sentence-transformers' figure)."""
    if teacher.shape != student.shape:
        raise InputError(
            f"{where}: the teacher's embeddings are {teacher.shape[-1]}-dimensional and the model's "
            f"{student.shape[-1]}; distil into a model of the teacher's size, or pass truncate_dim."
        )
    difference = teacher.astype(np.float64) - student.astype(np.float64)
    return 100 * float(np.mean(difference**2))


class MSEEvaluator(Evaluator):
    """Mean squared error between a teacher's embeddings of ``source_sentences`` and the model's
    embeddings of ``target_sentences``: the figure of multilingual knowledge distillation
    (https://arxiv.org/abs/2004.09813), with English sources and their translations as targets.

    Reported as sentence-transformers reports it: the MSE ×100, negated so that higher is better. Key
    ``negative_mse`` (primary); the CSV column ``MSE`` holds the MSE itself. The teacher embeds its
    sentences once, when the evaluator is built.

    Example::

        from sbert import SentenceTransformer
        from sbert.evaluation import MSEEvaluator
        evaluator = MSEEvaluator(english, german, teacher_model=SentenceTransformer("./teacher"), name="de")
        evaluator(SentenceTransformer("./student"))  # {"de_negative_mse": -0.81}
    """

    description = "Knowledge Distillation"  # the card's name for its task, as sentence-transformers'

    main_metric = "negative_mse"
    st_logger = ST_MSE
    st_heading = "MSE evaluation (lower = better) on the {name} dataset{when}:"

    def __init__(
        self,
        source_sentences: Sequence[str],
        target_sentences: Sequence[str],
        teacher_model: Any = None,
        show_progress_bar: bool = False,
        batch_size: int = 32,
        name: str = "",
        write_csv: bool = True,
        truncate_dim: int | None = None,
    ) -> None:
        where = f"MSEEvaluator({name})"
        check_lengths(where, source_sentences=source_sentences, target_sentences=target_sentences)
        if teacher_model is None:
            raise InputError(f"{where}: pass teacher_model=..., the model whose embeddings are the target.")
        self.target_sentences = list(target_sentences)
        self.show_progress_bar = show_progress_bar
        self.batch_size = batch_size
        self.truncate_dim = truncate_dim
        self.name, self.write_csv = name, write_csv
        self.source_embeddings = self.embed_column(teacher_model, source_sentences)

    def compute(self, model: Any) -> dict[str, float]:
        student = self.embed_column(model, self.target_sentences)
        return {"negative_mse": -squared_error(self.source_embeddings, student, self.describe())}

    def result_lines(self, results: dict[str, float]) -> list[str]:
        return [f"MSE (*100):\t{-results['negative_mse']:4f}"]

    @property
    def default_csv_file(self) -> str:
        # sentence-transformers always puts the underscore: "mse_evaluation__results.csv" without a name
        return f"mse_evaluation_{self.name}_results.csv"

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return {"MSE": -results["negative_mse"]}

    def csv_header_columns(self) -> list[str]:
        return ["MSE"]


class MSEEvaluatorFromDataFrame(Evaluator):
    """:class:`MSEEvaluator` over a table of parallel sentences, for several language pairs at once.

    ``dataframe``: rows such as ``{"en": "Hello", "de": "Hallo", "fr": "Bonjour"}``; ``combinations``:
    ``[("en", "de"), ("en", "fr")]``, the teacher embedding the first language and the model the second
    (rows where either text is blank are skipped). Key ``negative_mse`` (primary): minus the mean over the
    pairs of the MSE ×100; the CSV has one column per pair, ``en-de``, ``en-fr``, ... .

    Example::

        evaluator = MSEEvaluatorFromDataFrame(rows, teacher, [("en", "de"), ("en", "fr")], name="dev")
        evaluator(student)["dev_negative_mse"]
    """

    description = "Knowledge Distillation"  # the card's name for its task, as sentence-transformers'

    csv_stem = "mse_evaluation"
    main_metric = "negative_mse"

    def __init__(
        self,
        dataframe: Sequence[Mapping[str, str]],
        teacher_model: Any,
        combinations: Sequence[tuple[str, str]],
        batch_size: int = 8,
        name: str = "",
        write_csv: bool = True,
        truncate_dim: int | None = None,
    ) -> None:
        where = f"MSEEvaluatorFromDataFrame({name})"
        if not combinations:
            raise InputError(f"{where}: pass combinations=[(source_language, target_language), ...].")
        self.combinations = [tuple(pair) for pair in combinations]
        self.data = {pair: _parallel(dataframe, *pair, where) for pair in self.combinations}
        self.name = name
        self.batch_size = batch_size
        self.write_csv = write_csv
        self.truncate_dim = truncate_dim
        sources = list(dict.fromkeys(text for texts, _ in self.data.values() for text in texts))
        vectors = self.embed_column(teacher_model, sources)
        self.teacher_embeddings = dict(zip(sources, vectors))
        self.pair_errors: dict[str, float] = {}  # the last call's MSE ×100 by "src-trg", for the CSV

    def compute(self, model: Any) -> dict[str, float]:
        self.pair_errors = {}
        for (source, target), (sources, targets) in self.data.items():
            teacher = np.stack([self.teacher_embeddings[text] for text in sources])
            student = self.embed_column(model, targets)
            self.pair_errors[f"{source}-{target}"] = squared_error(teacher, student, self.describe())
        return {"negative_mse": -float(np.mean(list(self.pair_errors.values())))}

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return dict(self.pair_errors)

    def csv_header_columns(self) -> list[str]:
        return [f"{source}-{target}" for source, target in self.combinations]


def _parallel(rows: Sequence[Mapping[str, str]], source: str, target: str, where: str) -> tuple[list, list]:
    """The (source, target) texts of the rows where neither is blank."""
    sources, targets = [], []
    for i, row in enumerate(rows):
        missing = [language for language in (source, target) if language not in row]
        if missing:
            raise InputError(f"{where}: row {i} has no {missing[0]!r} text; give every row both languages.")
        if row[source].strip() and row[target].strip():
            sources.append(row[source])
            targets.append(row[target])
    if not sources:
        raise InputError(f"{where}: no row has both a {source!r} and a {target!r} text.")
    return sources, targets
