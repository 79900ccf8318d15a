"""Retrieval over local BEIR folders: read a folder (corpus, queries, qrels of a split), cut it down for a
quick look, and score a model on several folders at once with their mean (sentence-transformers'
``NanoBEIREvaluator``, on files instead of the hub's NanoBEIR sets).

A BEIR folder holds ``corpus.tsv`` (id, title, text), ``queries-<split>.tsv`` (id, text) and
``qrels-<split>.tsv`` (query id, corpus id, score); BEIR's own download layout (``corpus.jsonl``,
``queries.jsonl``, ``qrels/<split>.tsv``) is read too. A document is its title and text joined by a space,
as ``sbert eval retrieval`` reads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError, missing_extra
from .._io.files import read_rows
from .._progress import tracked
from .._st_loggers import ST_NANOBEIR
from .._st_signature import st_positional
from .base import Evaluator, append_csv_row, log_lines, note_evaluator_results
from .retrieval import (
    InformationRetrievalEvaluator,
    aggregate_retrieval_lines,
    primary_ndcg,
    retrieval_csv_columns,
)

T = TypeVar("T")

# the file each part of a split is read from, the first that exists (``{split}`` filled in)
BEIR_FILES = {
    "corpus": ("corpus.tsv", "corpus.jsonl"),
    "queries": ("queries-{split}.tsv", "queries-{split}.jsonl", "queries.jsonl"),
    "qrels": ("qrels-{split}.tsv", "qrels/{split}.tsv"),
}
# The hub's NanoBEIR sets (sentence-transformers' ``dataset_names``) and their names in metric keys
# (``NanoSciFact_cosine_ndcg@10``); each is the split ``Nano<name>`` of the subsets corpus, queries and qrels.
NANOBEIR_SETS = {
    "climatefever": "ClimateFEVER",
    "dbpedia": "DBPedia",
    "fever": "FEVER",
    "fiqa2018": "FiQA2018",
    "hotpotqa": "HotpotQA",
    "msmarco": "MSMARCO",
    "nfcorpus": "NFCorpus",
    "nq": "NQ",
    "quoraretrieval": "QuoraRetrieval",
    "scidocs": "SCIDOCS",
    "arguana": "ArguAna",
    "scifact": "SciFact",
    "touche2020": "Touche2020",
}
NANOBEIR_DATASET = "sentence-transformers/NanoBEIR-en"
ID_COLUMNS = ("id", "_id")
QUERY_ID_COLUMNS = ("query-id", "query_id", "qid")
CORPUS_ID_COLUMNS = ("corpus-id", "corpus_id", "docid", "doc_id")


@dataclass
class BeirSet:
    """One retrieval set: query id → text, document id → text, query id → {document id: relevance}."""

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: dict[str, dict[str, float]]


def _column(path: Path, row: Mapping[str, Any], names: Sequence[str]) -> str:
    found = next((name for name in names if name in row), None)
    if found is None:
        raise InputError(
            f"{path}: needs a column {' or '.join(map(repr, names))} (columns: {', '.join(row)})."
        )
    return found


def read_id_texts(path: str | os.PathLike) -> dict[str, str]:
    """id → text of a BEIR corpus or queries file (columns ``id`` or ``_id``, ``text``, optional ``title``
    put before the text)."""
    path = Path(path)
    texts: dict[str, str] = {}
    columns: tuple[str, str | None] | None = None
    for _, row in read_rows(path):
        if columns is None:
            columns = (_column(path, row, ID_COLUMNS), "title" if "title" in row else None)
            _column(path, row, ("text",))
        key, title = columns
        parts = (row.get(title) if title else None, row.get("text"))
        texts[str(row[key])] = " ".join(str(p) for p in parts if p not in (None, "")).strip()
    if not texts:
        raise InputError(f"{path}: no rows.")
    return texts


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """query id → {document id: score} of a BEIR qrels file (a missing ``score`` column: every row is 1)."""
    path = Path(path)
    qrels: dict[str, dict[str, float]] = {}
    for line, row in read_rows(path):
        query, doc = _column(path, row, QUERY_ID_COLUMNS), _column(path, row, CORPUS_ID_COLUMNS)
        try:
            score = float(row.get("score", 1))
        except (TypeError, ValueError):
            raise InputError(f"{path}:{line}: column 'score': {row['score']!r} is not a number.") from None
        qrels.setdefault(str(row[query]), {})[str(row[doc])] = score
    if not qrels:
        raise InputError(f"{path}: no rows.")
    return qrels


def beir_files(folder: str | os.PathLike, split: str) -> dict[str, Path]:
    """The corpus, queries and qrels files of ``split`` in a BEIR folder; a missing one is an InputError
    naming the files looked for."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder (a BEIR folder holds corpus.tsv, queries-*.tsv, qrels-*.tsv)."
        )
    files = {}
    for part, names in BEIR_FILES.items():
        candidates = [folder / name.format(split=split) for name in names]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            tried = " or ".join(path.name if path.parent == folder else str(path) for path in candidates)
            raise InputError(f"{folder}: no {part} file for split {split!r}: expected {tried}.")
        files[part] = found
    return files


def read_beir(folder: str | os.PathLike, split: str = "test") -> BeirSet:
    """The queries (those with a relevant document), corpus and qrels of ``split`` in a BEIR folder."""
    files = beir_files(folder, split)
    qrels = read_qrels(files["qrels"])
    queries = {q: text for q, text in read_id_texts(files["queries"]).items() if _relevant(qrels.get(q))}
    if not queries:
        raise InputError(
            f"{folder}: no query of split {split!r} has a relevant document in {files['qrels']}."
        )
    return BeirSet(queries, read_id_texts(files["corpus"]), qrels)


def read_nanobeir(name: str, dataset_id: str = NANOBEIR_DATASET) -> BeirSet:
    """One of the hub's NanoBEIR sets (``name`` as in :data:`NANOBEIR_SETS`), read with the ``datasets``
    library as sentence-transformers reads it: texts that are empty are left out."""
    split = nanobeir_split(name)
    corpus_rows = load_nanobeir_subset(dataset_id, "corpus", split, ("_id", "text"))
    corpus = {r["_id"]: r["text"] for r in corpus_rows if r["text"]}
    query_rows = load_nanobeir_subset(dataset_id, "queries", split, ("_id", "text"))
    queries = {r["_id"]: r["text"] for r in query_rows if r["text"]}
    qrels: dict[str, dict[str, float]] = {}
    for r in load_nanobeir_subset(dataset_id, "qrels", split, ("query-id", "corpus-id")):
        ids = r["corpus-id"] if isinstance(r["corpus-id"], list) else [r["corpus-id"]]
        qrels.setdefault(r["query-id"], {}).update(dict.fromkeys(ids, 1.0))
    return BeirSet(queries, corpus, qrels)


def nanobeir_split(name: str) -> str:
    """The hub split of a NanoBEIR set: ``"scifact"`` → ``"NanoSciFact"``."""
    return f"Nano{NANOBEIR_SETS[name.lower()]}"


def load_nanobeir_subset(dataset_id: str, subset: str, split: str, columns: tuple[str, ...]) -> Any:
    """One subset's split of a NanoBEIR-style hub dataset (``corpus``, ``queries``, ``qrels``, ``bm25``),
    read with ``datasets``; errors name the subset, the split and the columns it lacks in
    sentence-transformers 6.3's words (the loader's own error chained as the cause)."""
    try:
        from datasets import load_dataset
    except ImportError as e:
        raise missing_extra("datasets", "train") from e
    try:
        data = load_dataset(dataset_id, subset, split=split)
    except Exception as e:  # the hub's or the cache's own errors: offline, gated, renamed
        raise InputError(
            f"Could not load subset {subset!r} split {split!r} from dataset {dataset_id!r}."
        ) from e
    missing = sorted(set(columns) - set(data.column_names))
    if missing:
        raise InputError(
            f"Subset {subset!r} split {split!r} from dataset {dataset_id!r} "
            f"is missing required columns: {missing}."
        )
    return data


def check_nanobeir_names(names: Sequence[Any]) -> None:
    """sentence-transformers' checks of ``dataset_names``: not empty, every one a NanoBEIR set."""
    if not names:
        raise InputError("dataset_names cannot be empty. Use None to evaluate on all datasets.")
    unknown = [n for n in names if not isinstance(n, str) or n.lower() not in NANOBEIR_SETS]
    if unknown:
        raise InputError(
            f"Dataset(s) {unknown} are not valid NanoBEIR datasets. "
            f"Valid dataset names are: {list(NANOBEIR_SETS)}"
        )


def _relevant(docs: Mapping[str, float] | None) -> set[str]:
    return {d for d, score in (docs or {}).items() if score > 0}


def subsample(
    data: BeirSet, *, max_queries: int | None = None, max_corpus: int | None = None, seed: int = 0
) -> BeirSet:
    """A smaller set for a quick evaluation: at most ``max_queries`` queries with a relevant document and a
    corpus of at most ``max_corpus`` documents, every document relevant to a kept query among them (so it may
    hold more). Both are seeded random subsets in file order: the same arguments give the same set."""
    rng = np.random.default_rng(seed)
    queries = {q: t for q, t in data.queries.items() if _relevant(data.qrels.get(q))}
    if max_queries is not None and len(queries) > max_queries:
        keep = set(rng.choice(list(queries), size=max_queries, replace=False).tolist())
        queries = {q: t for q, t in queries.items() if q in keep}
    qrels = {q: data.qrels[q] for q in queries}
    corpus = data.corpus
    if max_corpus is not None and len(corpus) > max_corpus:
        needed = set().union(*(_relevant(docs) for docs in qrels.values())) & set(corpus)
        others = [d for d in corpus if d not in needed]
        extra = max(0, min(max_corpus - len(needed), len(others)))
        keep = needed | set(rng.choice(others, size=extra, replace=False).tolist() if extra else [])
        corpus = {d: t for d, t in corpus.items() if d in keep}
    return BeirSet(queries, corpus, qrels)


# sentence-transformers' order; its first, dataset_names, is what folders takes (set names too)
def _of_sets(attribute: str) -> property:
    """sentence-transformers' NanoBEIR attribute that every set's retrieval evaluator shares (the cut-offs,
    the score functions): read off the first set's."""
    return property(lambda self: getattr(self.evaluators[0], attribute), doc=f"The sets' ``{attribute}``.")


@st_positional(
    "folders",
    "dataset_id",
    "mrr_at_k",
    "ndcg_at_k",
    "accuracy_at_k",
    "precision_recall_at_k",
    "map_at_k",
    "show_progress_bar",
    "batch_size",
    "write_csv",
    "truncate_dim",
    "score_functions",
    "main_score_function",
    "aggregate_fn",
    "aggregate_key",
    "query_prompts",
    "corpus_prompts",
    "write_predictions",
)
class NanoBEIREvaluator(Evaluator):
    """Information retrieval on several local BEIR folders: one :class:`InformationRetrievalEvaluator` per
    folder (its metrics prefixed by the folder's name: ``scifact_cosine_ndcg@10``) and the mean of each
    metric over the folders (``NanoBEIR_mean_cosine_ndcg@10``, the primary metric), as sentence-transformers'
    ``NanoBEIREvaluator`` reports the hub's NanoBEIR sets (the function is the model's similarity function).

    ``max_queries`` and ``max_corpus`` cut each set down (a seeded subset; every document relevant to a kept
    query stays in the corpus) so that an evaluation every few training steps stays cheap.

    Args:
        folders: BEIR folders (``corpus.tsv``, ``queries-<split>.tsv``, ``qrels-<split>.tsv``), or names of
            the hub's NanoBEIR sets (``"scifact"``: read with ``datasets`` from ``dataset_id``, when online or
            cached); none: every NanoBEIR set of the hub, as sentence-transformers evaluates.
        dataset_names: sentence-transformers' keyword: NanoBEIR set names only (``["msmarco", "nq"]``),
            named ``NanoMSMARCO``, ... in the metrics as there.
        dataset_id: the hub dataset the NanoBEIR sets are read from.
        split: the split whose queries and qrels are read (``"test"``, ``"dev"``, ...).
        names: the metric prefix of each folder (default: the folder's name).
        max_queries: at most this many queries per set.
        max_corpus: at most this many documents per set, besides the relevant ones.
        seed: the seed of the subsets.
        batch_size: texts per batch.
        mrr_at_k, ndcg_at_k, accuracy_at_k, precision_recall_at_k, map_at_k: the cut-offs of each metric
            (default: :class:`InformationRetrievalEvaluator`'s, ndcg@10, mrr@10, map@100, ...).
        aggregate_fn: combines the sets' values of one metric (default: the mean).
        aggregate_key: names the combined metrics, ``NanoBEIR_<aggregate_key>_<metric>``.
        query_prompts, corpus_prompts: a prompt for every set's queries (documents), or one per set keyed
            by the set as given (``{"msmarco": "query: ", ...}``: every set needs one).
        truncate_dim, score_functions, main_score_function, show_progress_bar, write_csv,
            write_predictions: each set's :class:`InformationRetrievalEvaluator`'s; ``truncate_dim`` also
            suffixes the names (``NanoMSMARCO_64``, ``NanoBEIR_mean_64``), as sentence-transformers does.

    Example::

        from sbert import NanoBEIREvaluator, SentenceTransformer
        evaluator = NanoBEIREvaluator(["data/scifact", "data/nfcorpus"], split="dev", max_queries=50)
        results = evaluator(SentenceTransformer())
        results[evaluator.primary_metric]  # NanoBEIR_mean_cosine_ndcg@10
    """

    main_metric = "cosine_ndcg@10"
    st_primary_from_call = True  # None until a call works it out, as sentence-transformers'
    information_retrieval_class: type[InformationRetrievalEvaluator] = InformationRetrievalEvaluator
    st_logger = ST_NANOBEIR
    st_heading = "NanoBEIR Evaluation of the model on {evaluator.dataset_names} dataset{when}:"
    mrr_at_k, ndcg_at_k, map_at_k = _of_sets("mrr_at_k"), _of_sets("ndcg_at_k"), _of_sets("map_at_k")
    accuracy_at_k, precision_recall_at_k = _of_sets("accuracy_at_k"), _of_sets("precision_recall_at_k")
    score_functions, score_function_names = _of_sets("score_functions"), _of_sets("score_function_names")
    main_score_function = _of_sets("main_score_function")

    def __init__(
        self,
        folders: Sequence[str | os.PathLike] | None = None,
        *,
        dataset_names: Sequence[str] | None = None,
        dataset_id: str = NANOBEIR_DATASET,
        split: str = "test",
        names: Sequence[str] | None = None,
        max_queries: int | None = None,
        max_corpus: int | None = None,
        seed: int = 0,
        batch_size: int = 32,
        mrr_at_k: Sequence[int] | None = None,
        ndcg_at_k: Sequence[int] | None = None,
        accuracy_at_k: Sequence[int] | None = None,
        precision_recall_at_k: Sequence[int] | None = None,
        map_at_k: Sequence[int] | None = None,
        aggregate_fn: Callable[[list[float]], float] = np.mean,
        aggregate_key: str = "mean",
        show_progress_bar: bool = False,
        write_csv: bool = True,
        truncate_dim: int | None = None,
        score_functions: dict[str, Callable[[Any, Any], Any]] | None = None,
        main_score_function: str | None = None,
        query_prompts: str | dict[str, str] | None = None,
        corpus_prompts: str | dict[str, str] | None = None,
        write_predictions: bool = False,
    ) -> None:
        folders = _sources(folders, dataset_names)
        hub = [isinstance(f, str) and f.lower() in NANOBEIR_SETS and not Path(f).is_dir() for f in folders]
        suffix, size_options = self.size_options(truncate_dim)
        if names is None:
            names = [
                f"Nano{NANOBEIR_SETS[f.lower()]}{suffix}" if on_hub else Path(f).resolve().name + suffix
                for f, on_hub in zip(folders, hub)
            ]
        names = list(names)
        prompts = _prompts_per_set(query_prompts, corpus_prompts, folders)
        _check_sets(folders, names, max_queries, max_corpus)
        given = {
            "mrr_at_k": mrr_at_k,
            "ndcg_at_k": ndcg_at_k,
            "accuracy_at_k": accuracy_at_k,
            "precision_recall_at_k": precision_recall_at_k,
            "map_at_k": map_at_k,
        }
        ks = {key: value for key, value in given.items() if value is not None}  # else the evaluator's default
        options = {
            "batch_size": batch_size,
            "show_progress_bar": show_progress_bar,
            "write_csv": write_csv,
            **size_options,
            "score_functions": score_functions,
            "main_score_function": main_score_function,
            "write_predictions": write_predictions,
            **ks,
        }
        sets = list(zip(folders, names, hub, *prompts))
        self.truncate_dim = truncate_dim  # before the sets load: a subclass's _load_dataset may name by it
        self.dataset_id, self.query_prompts, self.corpus_prompts = dataset_id, query_prompts, corpus_prompts
        read = {
            "dataset_id": dataset_id,
            "split": split,
            "max_queries": max_queries,
            "max_corpus": max_corpus,
        }
        self.evaluators = [self.load_set(*row, read | {"seed": seed}, options) for row in loading(sets)]
        self.show_progress_bar = show_progress_bar
        self.folders, self.names, self.split = folders, names, split
        # the sets as given (folders as strings), as sentence-transformers' heading lists them
        self.dataset_names = [os.fspath(f) if isinstance(f, os.PathLike) else f for f in folders]
        self.aggregate_fn, self.aggregate_key = aggregate_fn, aggregate_key
        self.write_csv = write_csv
        self.name = f"NanoBEIR_{aggregate_key}{suffix}"
        self.main_metric = self.evaluators[0].main_metric  # ndcg@<largest k>

    def load_set(
        self,
        folder: Any,
        name: str,
        on_hub: bool,
        query_prompt: str | None,
        corpus_prompt: str | None,
        read: dict[str, Any],
        options: dict[str, Any],
    ) -> InformationRetrievalEvaluator:
        """One set's retrieval evaluator: a hub set by a user subclass's ``_load_dataset`` (sentence-
        transformers' hook) where it has one, else read from its folder or the hub and cut down."""
        loader = getattr(self, "_load_dataset", None)
        if on_hub and loader is not None:  # its evaluator of a hub set, from the set's short name
            return loader(str(folder), **options)
        if on_hub:
            data = read_nanobeir(str(folder), read["dataset_id"])
        else:
            data = read_beir(folder, read["split"])
        data = subsample(
            data, max_queries=read["max_queries"], max_corpus=read["max_corpus"], seed=read["seed"]
        )
        return self.information_retrieval_class(
            data.queries,
            data.corpus,
            data.qrels,
            name=name,
            query_prompt=query_prompt,
            corpus_prompt=corpus_prompt,
            **options,
        )

    def _get_human_readable_name(self, dataset_name: str) -> str:
        """sentence-transformers' name of a NanoBEIR set's evaluator, the hook a subclass's ``_load_dataset``
        calls: "NanoMSMARCO" for "msmarco", then "_64" for a ``truncate_dim`` of 64."""
        suffix = f"_{self.truncate_dim}" if self.truncate_dim is not None else ""
        return nanobeir_split(dataset_name) + suffix

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers' card settings: the sets and their hub dataset, then truncate_dim and the
        prompts where set."""
        config: dict[str, Any] = {"dataset_names": self.dataset_names, "dataset_id": self.dataset_id}
        optional = {key: getattr(self, key) for key in ("truncate_dim", "query_prompts", "corpus_prompts")}
        return config | {key: value for key, value in optional.items() if value is not None}

    def size_options(self, truncate_dim: int | None) -> tuple[str, dict[str, Any]]:
        """The suffix of the sets' names and the options that size their evaluators' embeddings."""
        return (f"_{truncate_dim}" if truncate_dim else ""), {"truncate_dim": truncate_dim}

    @property
    def default_csv_file(self) -> str:
        return f"NanoBEIR_evaluation_{self.aggregate_key}_results.csv"  # sentence-transformers' name

    def __call__(
        self, model: Any, output_path: str | os.PathLike | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """Each set's evaluator as sentence-transformers calls it (its CSV and predictions written to
        ``output_path``), then the aggregate of each metric over the sets (with its own CSV)."""
        results: dict[str, float] = {}
        per_metric: dict[str, list[float]] = {}
        self.log_st_heading(epoch, steps)
        for evaluator in evaluating(self.evaluators, self.show_progress_bar):
            log_lines(ST_NANOBEIR, [f"Evaluating {evaluator.name}"])
            for key, value in evaluator(model, output_path, epoch, steps).items():
                results[key] = value
                per_metric.setdefault(key.removeprefix(evaluator.name + "_"), []).append(value)
        aggregated = {m: float(self.aggregate_fn(values)) for m, values in per_metric.items()}
        aggregated.update(self.aggregate_more(model))
        first = self.evaluators[0]  # its functions: the model's similarity function, or the ones given
        self.main_metric = primary_ndcg(
            self, first.score_function_names, aggregated, first.ndcg_at_k, first.main_score_function
        )
        self.log_st_results(aggregated)
        row = {"epoch": epoch, "steps": steps, **self.csv_columns(aggregated)}
        self.note_csv_headers(row)
        if output_path is not None and self.write_csv:
            append_csv_row(self.csv_path(output_path), row)
        named = {self.key(m): value for m, value in aggregated.items()}
        # the aggregate only, as sentence-transformers' card
        note_evaluator_results(model, self, named, epoch, steps)
        results.update(named)
        self.settle_primary()
        return results

    def result_lines(self, results: dict[str, float]) -> list[str]:
        """The sets' mean sizes, then the aggregate of each score function (names in order), as
        sentence-transformers logs them."""
        lines = [
            f"Average Queries: {np.mean([len(e.queries) for e in self.evaluators])}",
            f"Average Corpus: {np.mean([len(e.corpus) for e in self.evaluators])}\n",
        ]
        first = self.evaluators[0]
        for function in sorted(first.predictions):
            lines.append(f"Aggregated for Score Function: {function}")
            lines += aggregate_retrieval_lines(results, first.ks, function)
        return lines

    def aggregate_more(self, model: Any) -> dict[str, float]:
        """Aggregates that are not the plain ``aggregate_fn`` of the sets' values (none here)."""
        return {}

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        first = self.evaluators[0]
        return retrieval_csv_columns(results, first.ks, first.predictions)

    def describe(self) -> str:
        sizes = ", ".join(
            f"{e.name}: {len(e.queries)} queries, {len(e.corpus)} docs" for e in self.evaluators
        )
        return f"{type(self).__name__}({sizes})"


def _prompts_per_set(
    query_prompts: str | dict[str, str] | None, corpus_prompts: str | dict[str, str] | None, sets: list[Any]
) -> tuple[list[str | None], list[str | None]]:
    """Each set's query and corpus prompt: one for all, or a dict keyed by the sets as given (every one needs
    its own); the sets missing either are named in one error, query ones first, as sentence-transformers."""
    chosen, problems = [], []
    for prompts, kind in ((query_prompts, "query"), (corpus_prompts, "corpus")):
        if prompts is None or isinstance(prompts, str):
            chosen.append([prompts] * len(sets))
            continue
        missing = [s for s in sets if str(s) not in prompts]
        if missing:
            problems.append(f"The following datasets are missing {kind} prompts: {missing}")
        chosen.append([prompts.get(str(s)) for s in sets])
    if problems:
        raise InputError("\n".join(problems))
    return chosen[0], chosen[1]


def _sources(folders: Any, dataset_names: Any) -> list[Any]:
    """The folders and hub set names to evaluate: ``dataset_names`` (sentence-transformers' keyword, checked
    as there), else ``folders`` (a hub set's name among them too), else every NanoBEIR set of the hub."""
    if dataset_names is not None:
        if folders is not None:
            raise InputError("NanoBEIREvaluator: pass folders or dataset_names, not both.")
        names = [dataset_names] if isinstance(dataset_names, str) else list(dataset_names)
        check_nanobeir_names(names)
        return names
    if folders is None:
        return list(NANOBEIR_SETS)
    return [folders] if isinstance(folders, (str, os.PathLike)) else list(folders)


def _check_sets(folders: list[Any], names: list[str], max_queries: Any, max_corpus: Any) -> None:
    if not folders:
        raise InputError("NanoBEIREvaluator needs at least one BEIR folder.")
    if len(names) != len(folders):
        raise InputError(f"NanoBEIREvaluator: {len(folders)} folders but {len(names)} names.")
    if len(set(names)) != len(names):
        raise InputError(
            f"NanoBEIREvaluator: two sets share a name ({names}); pass names=[...] to tell them apart."
        )
    check_positive_int("max_queries", max_queries, optional=True)
    check_positive_int("max_corpus", max_corpus, optional=True)


def loading(sets: Collection[T]) -> Iterator[T]:
    """The sets to load, under sentence-transformers' bar (always drawn, cleared when done)."""
    return tracked(sets, desc="Loading NanoBEIR datasets", show=True, total=len(sets), leave=False)


def evaluating(evaluators: Sequence[T], show_progress_bar: Any) -> Iterator[T]:
    """The sets' evaluators, under sentence-transformers' bar where ``show_progress_bar`` is set."""
    return tracked(evaluators, desc="Evaluating datasets", show=bool(show_progress_bar))
