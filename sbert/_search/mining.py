"""Hard-negative mining: add to (anchor, positive) pairs the corpus texts a bi-encoder ranks close to the
anchor that are not its positives, as sentence-transformers' ``util.mine_hard_negatives`` does.

One path: read the pairs (a TextDataset, a dict of columns, a list of rows or a ``datasets.Dataset``),
embed the unique anchors and the deduplicated corpus once, take each anchor's top candidates (exact chunked
top-k, or a faiss flat index for large corpora), optionally rescore them with a cross-encoder, drop the
positives and the candidates the filters reject, pick the negatives, and write them in one of four formats,
returned as the same kind of object that came in. Numpy only; the models are used through ``encode`` /
``predict``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError
from .._io.atomic import atomic_write_bytes
from .._numeric import similarity_matrix
from .._training.data import TextDataset
from . import ann, mining_report
from .exact import search_top_k

_LOGGER = logging.getLogger(__name__)

FORMATS = ("triplet", "n-tuple", "labeled-pair", "labeled-list")
STRATEGIES = ("top", "random")
FAISS_MIN_CORPUS = 100_000  # use_faiss=None: a faiss flat index from this corpus size on (when installed)
_INNER_PRODUCT = ("cosine", "dot")  # on unit vectors both are the inner product faiss computes


@dataclass
class MiningOptions:
    """What :func:`mine_hard_negatives` keeps, checked once.

    Candidates are the ``range_max`` best corpus texts by the bi-encoder's score (the cross-encoder's, with
    ``cross_encoder``), never the anchor's own text; the first ``range_min`` of them are skipped. A candidate
    is dropped when ``score + absolute_margin`` exceeds the anchor's lowest positive score, when it exceeds
    ``positive - |positive| * relative_margin``, when it is above ``max_score`` or below ``min_score``.
    ``range_max=None`` is ``range_min + num_negatives + max positives per anchor`` (``10 * num_negatives``
    with a margin or ``max_score``), as in sentence-transformers.
    """

    range_min: int = 0
    range_max: int | None = None
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None
    num_negatives: int = 3
    sampling_strategy: str = "top"
    include_positives: bool = False
    output_format: str = "triplet"
    output_scores: bool = False
    batch_size: int = 32
    faiss_batch_size: int = 16384
    use_faiss: bool | None = None
    verbose: bool = False
    seed: int | None = None
    use_multi_process: list[str] | bool = False  # worker processes embed (a list: their devices)
    cache_folder: str | None = None  # embeddings kept as .npy files, reused by a later call on the same texts

    def __post_init__(self) -> None:
        if self.output_format not in FORMATS:
            raise InputError(f"Unknown output_format {self.output_format!r}; choose one of {FORMATS}.")
        if self.sampling_strategy not in STRATEGIES:
            raise InputError(
                f"Unknown sampling_strategy {self.sampling_strategy!r}; choose one of {STRATEGIES}."
            )
        check_positive_int("num_negatives", self.num_negatives)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("faiss_batch_size", self.faiss_batch_size)
        if isinstance(self.range_min, bool) or not isinstance(self.range_min, int) or self.range_min < 0:
            raise InputError(f"range_min must be an integer >= 0, got {self.range_min!r}.")
        check_positive_int("range_max", self.range_max, optional=True)
        if self.include_positives:
            self.output_format = "n-tuple"  # keeps the retriever's order, positives included (as in ST)

    def candidates(self, max_positives: int, cross_encoder: bool) -> int:
        """``range_max``, derived when not given; checked against ``range_min`` and ``num_negatives``."""
        range_max = self.range_max
        if range_max is None:
            wide = self.absolute_margin is not None or self.relative_margin is not None
            wide = wide or self.max_score is not None or (cross_encoder and self.min_score is not None)
            range_max = self.range_min + self.num_negatives * (10 if wide else 1) + max_positives
        if self.range_min >= range_max:
            raise InputError(
                f"range_min must be smaller than range_max, got range_min={self.range_min} and "
                f"range_max={range_max}."
            )
        if self.num_negatives > range_max - self.range_min:
            raise InputError(
                f"Cannot mine {self.num_negatives} negatives per anchor: only {range_max - self.range_min} "
                f"candidates remain after skipping range_min={self.range_min} of range_max={range_max}; "
                "lower num_negatives or range_min, or raise range_max."
            )
        return range_max


def mine_hard_negatives(
    dataset: Any,
    model: Any,
    anchor_column_name: str | None = None,
    positive_column_name: str | None = None,
    corpus: Sequence[str] | None = None,
    cross_encoder: Any = None,
    range_min: int = 0,
    range_max: int | None = None,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    num_negatives: int = 3,
    sampling_strategy: str = "top",
    query_prompt_name: str | None = None,
    query_prompt: str | None = None,
    corpus_prompt_name: str | None = None,
    corpus_prompt: str | None = None,
    include_positives: bool = False,
    output_format: str = "triplet",
    output_scores: bool = False,
    batch_size: int = 32,
    faiss_batch_size: int = 16384,
    use_faiss: bool | None = None,
    use_multi_process: list[str] | bool = False,
    verbose: bool = True,
    cache_folder: str | None = None,
    as_triplets: bool | None = None,
    margin: float | None = None,
    *,
    seed: int | None = None,
) -> Any:
    """Add hard negatives to (anchor, positive) pairs; returns the kind of object ``dataset`` is.

    ``dataset``: a TextDataset, a dict of columns, a list of dicts or tuples, or a ``datasets.Dataset``;
    the anchor and positive columns default to the first two. ``corpus`` adds candidate texts to the
    positives. Output formats (``output_scores`` adds a ``scores`` column, or replaces ``label(s)``):

    - ``"triplet"``: (anchor, positive, negative), one row per negative
    - ``"n-tuple"``: (anchor, positive, negative_1, ..., negative_n), rows that found all n
    - ``"labeled-pair"``: (anchor, text, label) with 1 for positives and 0 for negatives
    - ``"labeled-list"``: (anchor, [positive, negatives...], labels [1, 0, ...])

    The filters, ranks and sampling are :class:`MiningOptions`'. ``cross_encoder`` (anything with
    ``predict(pairs)``) rescores the candidates and positives, and its scores rank them. ``use_faiss=None``
    uses a faiss index from ``FAISS_MIN_CORPUS`` texts on when faiss is installed. ``seed`` makes
    ``sampling_strategy="random"`` reproducible (without it, the ``random`` module's generator samples, as
    in sentence-transformers, so ``random.seed`` does). ``verbose`` (the default, as there) prints what
    sentence-transformers prints: the derived ``range_max``, the candidates skipped and the scores'
    statistics. The parameters up to ``margin`` are sentence-transformers', in its order (a positional call
    binds as there).
    ``use_multi_process`` (True, or a list of devices) embeds in worker processes; ``cache_folder`` keeps the
    embeddings as ``.npy`` files that a later call with the same model, prompts and texts reads back;
    ``as_triplets`` and ``margin`` are sentence-transformers' older names of ``output_format`` and
    ``absolute_margin`` (taken and logged, as there). Example::

        from sbert import SentenceTransformer, util
        pairs = {"query": ["what is a cat?"], "answer": ["A cat is a small feline."]}
        mined = util.mine_hard_negatives(pairs, SentenceTransformer(), corpus=texts, relative_margin=0.05)
    """
    # sentence-transformers' older names and include_positives, taken and logged (not a Python warning) in
    # its order
    if as_triplets is not None:
        output_format = "triplet" if as_triplets else "n-tuple"
        _LOGGER.warning(f"as_triplets= is the older name of output_format= (here {output_format!r}).")
    if include_positives:  # before "n-tuple-scores" and before output_format is checked, as there
        changed = (range_min, range_max, sampling_strategy) != (0, None, "top")
        bounds = (max_score, min_score, absolute_margin, relative_margin, margin)
        if changed or any(v is not None for v in bounds):
            _LOGGER.warning(  # sentence-transformers' words
                "When using `include_positives=True`, updating `range_min`, `range_max`, `max_score`, "
                "`min_score`, `absolute_margin`, `relative_margin`, or `sampling_strategy` from the default "
                "values may still discard the positive values."
            )
        if output_format != "n-tuple":
            _LOGGER.warning(
                'When using `include_positives=True`, `output_format` will be set to `"n-tuple"` to ensure '
                "that the ranking order is preserved."
            )
            output_format = "n-tuple"
    if output_format == "n-tuple-scores":
        output_format, output_scores = "n-tuple", True
        _LOGGER.warning('output_format="n-tuple-scores" is output_format="n-tuple" with output_scores=True.')
    if margin is not None:
        absolute_margin = margin
        _LOGGER.warning("margin= is the older name of absolute_margin=.")
    options = MiningOptions(
        range_min, range_max, max_score, min_score, absolute_margin, relative_margin, num_negatives,
        sampling_strategy, include_positives, output_format, output_scores, batch_size, faiss_batch_size,
        use_faiss, verbose, seed, use_multi_process, cache_folder,
    )  # fmt: skip
    pairs = read_pairs(dataset, anchor_column_name, positive_column_name)
    prompts = (query_prompt_name, query_prompt, corpus_prompt_name, corpus_prompt)
    mined = mine(pairs.anchors, pairs.positives, model, corpus, cross_encoder, options, prompts)
    if verbose:
        print("Negative candidates mined, preparing dataset...")
    columns = format_columns(mined, pairs.anchor, pairs.positive, options)
    if verbose:
        mining_report.print_table(mined, options, len(pairs.anchors), len(next(iter(columns.values()))))
    return pairs.rebuild(columns)


# ---------------------------------------------------------------------------------------------- input


@dataclass
class Pairs:
    """The anchor and positive columns of the input, and how to give the output back in its kind."""

    anchors: list[str]
    positives: list[str]
    anchor: str  # column names
    positive: str
    kind: str  # "text-dataset", "hf", "dict", "dicts", "tuples"
    name: str = "dataset"

    def rebuild(self, columns: dict[str, list[Any]]) -> Any:
        """``columns`` as the input's kind: label columns become a TextDataset's labels."""
        if self.kind == "dict":
            return columns
        if self.kind == "dicts":
            return [dict(zip(columns, row)) for row in zip(*columns.values())]
        if self.kind == "tuples":
            return list(zip(*columns.values()))
        if self.kind == "hf":
            from datasets import Dataset

            return Dataset.from_dict(columns)
        texts = {k: v for k, v in columns.items() if k not in ("label", "labels", "score", "scores")}
        if any(isinstance(v, list) for values in texts.values() for v in values[:1]):
            raise InputError(
                "output_format='labeled-list' makes columns of text lists, which a TextDataset does not "
                "hold; pass the pairs as a dict of columns, a list of rows or a datasets.Dataset."
            )
        label = next((columns[k] for k in ("label", "labels", "score", "scores") if k in columns), None)
        return TextDataset(texts, None if label is None else np.asarray(label), name=self.name)


def read_pairs(dataset: Any, anchor: str | None, positive: str | None) -> Pairs:
    """The (anchor, positive) columns of ``dataset``; the first two columns unless named."""
    kind, name = "dict", "dataset"
    if isinstance(dataset, TextDataset):
        columns: Mapping[str, Sequence[Any]] = dataset.columns
        kind, name = "text-dataset", dataset.name
    elif type(dataset).__module__.startswith("datasets.") and hasattr(dataset, "column_names"):
        columns, kind = {c: dataset[c] for c in dataset.column_names}, "hf"
    elif isinstance(dataset, Mapping):
        columns = dataset
    elif isinstance(dataset, Sequence) and not isinstance(dataset, (str, bytes)) and dataset:
        kind, columns = _row_columns(dataset)
    else:
        raise InputError(
            f"Cannot mine negatives for {type(dataset).__name__}: pass a TextDataset, a dict of columns, a "
            "non-empty list of rows or a datasets.Dataset of (anchor, positive) pairs."
        )
    names = list(columns)
    if len(names) < 2:
        raise InputError(f"The pairs need an anchor and a positive column, got {names}.")
    anchor = anchor if anchor in columns else names[0]  # an unknown name falls back, as in ST
    positive = positive if positive in columns else names[1]
    if anchor == positive:  # sentence-transformers fails with a KeyError
        raise InputError(
            f"Column {anchor!r} is both the anchor and the positive column; name two different columns with "
            "anchor_column_name= and positive_column_name=."
        )
    anchors, positives = _texts(columns, anchor), _texts(columns, positive)
    if len(anchors) != len(positives):
        raise InputError(f"Columns {anchor!r} and {positive!r} differ in length.")
    if not anchors:
        raise InputError("The dataset is empty; pass at least one (anchor, positive) pair.")
    return Pairs(anchors, positives, anchor, positive, kind, name)


def _row_columns(rows: Sequence[Any]) -> tuple[str, dict[str, list[Any]]]:
    if all(isinstance(row, Mapping) for row in rows):
        names = list(rows[0])
        return "dicts", {n: [row.get(n) for row in rows] for n in names}
    if all(isinstance(row, (tuple, list)) for row in rows):
        width = min(len(row) for row in rows)
        names = ["anchor", "positive"] + [f"text{i}" for i in range(2, width)]
        return "tuples", {n: [row[i] for row in rows] for i, n in enumerate(names)}
    raise InputError("A list of pairs must hold only dicts or only tuples (anchor, positive).")


def _texts(columns: Mapping[str, Sequence[Any]], name: str) -> list[str]:
    values = _as_list(columns[name])
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise InputError(f"Row {i}: column {name!r} is {type(value).__name__}, expected text.")
    return values


def _as_list(values: Any) -> list[Any]:
    """A column's values. A ``datasets`` column is read in one slice, so a ``set_transform`` /
    ``with_transform`` runs once over all its rows, as sentence-transformers reads it (iterating would run it
    row by row: slower, and another result for a transform that looks at its whole batch)."""
    if isinstance(values, np.ndarray):
        return values.tolist()
    if type(values).__name__ == "Column" and type(values).__module__.startswith("datasets."):
        return list(values[:])
    return list(values)


# ---------------------------------------------------------------------------------------------- mining


@dataclass
class Mined:
    """The search's result: unique anchors and their positives, the negatives picked for each anchor."""

    queries: list[str]  # unique anchors, in first-seen order
    corpus: list[str]  # deduplicated: corpus then positives
    positive_ids: list[list[int]]  # per anchor, corpus ids of its positives
    positive_scores: np.ndarray  # (P,) per (anchor, positive), in anchor order
    negative_ids: np.ndarray  # (Q, num_negatives), -1 where none was found
    negative_scores: np.ndarray  # (Q, num_negatives), -inf where none was found
    skipped: dict[str, tuple[int, float]]  # per filter: candidates it skipped, their share


def mine(
    anchors: list[str],
    positives: list[str],
    model: Any,
    corpus: Sequence[str] | None,
    cross_encoder: Any,
    options: MiningOptions,
    prompts: tuple[str | None, ...] = (None, None, None, None),
) -> Mined:
    """Embed, search, rescore, filter and pick the negatives of each unique anchor."""
    per_anchor = Counter(anchors)
    max_positives = max(per_anchor.values())
    range_max = options.candidates(max_positives, cross_encoder is not None)
    if options.verbose:
        if options.range_max is None:
            print(f"Setting range_max to {range_max} based on the provided parameters.")
        if len(per_anchor) != len(anchors):
            print(f"Found {len(per_anchor)} unique queries out of {len(anchors)} total queries.")
        if max_positives > 1:
            print(f"Found an average of {np.mean(list(per_anchor.values())):.3f} positives per query.")
    texts = list(dict.fromkeys([*(corpus if corpus is not None else positives), *positives]))
    corpus_id = {text: i for i, text in enumerate(texts)}
    queries = list(dict.fromkeys(anchors))
    query_id = {query: i for i, query in enumerate(queries)}
    positive_ids: list[list[int]] = [[] for _ in queries]
    for anchor, positive in zip(anchors, positives):
        ids = positive_ids[query_id[anchor]]
        if corpus_id[positive] not in ids:
            ids.append(corpus_id[positive])
    query_vectors, corpus_vectors = _embed(model, queries, texts, options, prompts)
    function = getattr(model, "similarity_fn_name", None) or "cosine"
    # As sentence-transformers >= 6.3: search one candidate more than range_max + positives, the slot of the
    # anchor's own text, which is never its own negative (kept only with include_positives, when a positive).
    ids, scores = _search(query_vectors, corpus_vectors, range_max + max_positives + 1, function, options)
    rows = np.repeat(np.arange(len(queries)), [len(p) for p in positive_ids])
    flat_positives = np.asarray([i for p in positive_ids for i in p])
    positive_scores = _paired(query_vectors[rows], corpus_vectors[flat_positives], function)
    if cross_encoder is not None:  # with or without a score filter, as sentence-transformers >= 6.3
        scores, positive_scores = _rescore(cross_encoder, queries, texts, ids, rows, flat_positives, options)
    scores = np.where(ids < 0, -np.inf, scores)
    self_ids = [corpus_id.get(query, -1) for query in queries]
    if options.include_positives:
        self_ids = [-1 if i in positive_ids[q] else i for q, i in enumerate(self_ids)]
    scores = np.where(ids == np.asarray(self_ids)[:, None], -np.inf, scores)
    if not options.include_positives:
        is_positive = np.stack([np.isin(ids[q], positive_ids[q]) for q in range(len(queries))])
        scores = np.where(is_positive, -np.inf, scores)
    lowest = np.array([positive_scores[rows == q].min() for q in range(len(queries))])  # the hardest positive
    scores, skipped = _filter(scores, lowest, options)
    negative_ids, negative_scores = _pick(ids, scores, range_max, options)
    return Mined(queries, texts, positive_ids, positive_scores, negative_ids, negative_scores, skipped)


def _filter(
    scores: np.ndarray, lowest_positive: np.ndarray, options: Any
) -> tuple[np.ndarray, dict[str, tuple[int, float]]]:
    """``scores`` with the candidates the margins and score bounds reject set to -inf, one filter after the
    other, and each filter's ``(skipped, share)``: the share of the candidates left by the margins before
    it (sentence-transformers' counting; the score bounds leave that count as it is)."""
    scores = scores.copy()
    column = lowest_positive[:, None]
    left = scores.size
    skipped: dict[str, tuple[int, float]] = {}
    rules: list[tuple[str, Any, Callable[[np.ndarray], np.ndarray]]] = [
        ("absolute_margin", options.absolute_margin, lambda s: s + options.absolute_margin > column),
        (
            "relative_margin",
            options.relative_margin,
            lambda s: s > column - np.abs(column) * options.relative_margin,
        ),
        ("max_score", options.max_score, lambda s: s > options.max_score),
        ("min_score", options.min_score, lambda s: (s < options.min_score) & np.isfinite(s)),
    ]
    for name, value, rejects in rules:
        if value is None:
            continue
        removed = rejects(scores)
        scores[removed] = -np.inf
        count = int(removed.sum())
        if count:
            skipped[name] = (count, count / left)
            if name.endswith("margin"):
                left -= count
    return scores, skipped


def _embed(
    model: Any, queries: list[str], corpus: list[str], options: MiningOptions, prompts: tuple[str | None, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length embeddings of the queries and the corpus, with the model's query/document prompts."""
    query_prompt_name, query_prompt, corpus_prompt_name, corpus_prompt = prompts
    common = {"batch_size": options.batch_size, "normalize_embeddings": True}
    common["show_progress_bar"] = options.verbose
    encode_corpus = getattr(model, "encode_document", model.encode)
    encode_queries = getattr(model, "encode_query", model.encode)
    name = str(getattr(model, "name_or_path", None) or type(model).__name__)
    folder, verbose = options.cache_folder, options.verbose
    # read, embed and save in sentence-transformers' order: queries read first, the corpus embedded first
    paths = {
        "query": _cache_path(folder, ("query", name, query_prompt_name, query_prompt, queries)),
        "corpus": _cache_path(folder, ("corpus", name, corpus_prompt_name, corpus_prompt, corpus)),
    }
    vectors = {kind: _load_cached(kind, path, verbose) for kind, path in paths.items()}
    devices = options.use_multi_process  # worker processes (a list: their devices; True: the default ones)
    pool = None
    if devices and None in vectors.values():
        pool = model.start_multi_process_pool(list(devices) if isinstance(devices, (list, tuple)) else None)
        common["pool"] = pool
    try:
        if vectors["corpus"] is None:
            found = encode_corpus(corpus, prompt_name=corpus_prompt_name, prompt=corpus_prompt, **common)
            vectors["corpus"] = _numpy(found)
        if vectors["query"] is None:
            found = encode_queries(queries, prompt_name=query_prompt_name, prompt=query_prompt, **common)
            vectors["query"] = _numpy(found)
    finally:
        if pool is not None:
            model.stop_multi_process_pool(pool)
    for kind, path in paths.items():
        if path is not None and not path.is_file():
            _save_cached(path, vectors[kind])
            if verbose:
                print(f"[Cache] Saved {kind} embeddings to {path}")
    return vectors["query"], vectors["corpus"]


def _cache_path(folder: str | None, key: tuple[Any, ...]) -> Path | None:
    """Where ``cache_folder`` keeps the vectors of ``key`` (model, prompt, texts): a later call with the same
    key reads them back, as sentence-transformers' ``cache_folder``."""
    if folder is None:
        return None
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:32]
    return Path(folder) / f"{key[0]}_embeddings_{digest}.npy"


def _load_cached(kind: str, path: Path | None, verbose: bool) -> np.ndarray | None:
    if path is None or not path.is_file():
        return None
    vectors = np.load(path, allow_pickle=False)
    if verbose:
        print(f"[Cache] Loaded {kind} embeddings from {path} (shape={vectors.shape})")
    return vectors


def _save_cached(path: Path, vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a model returning torch tensors (sentence-transformers' own)
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def _search(
    queries: np.ndarray, corpus: np.ndarray, k: int, function: str, options: MiningOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best corpus ids and scores of each query, ``(Q, k)``; id -1 / score -inf past the corpus."""
    use_faiss = options.use_faiss
    if use_faiss is None:
        use_faiss = len(corpus) >= FAISS_MIN_CORPUS and function in _INNER_PRODUCT and _has_faiss()
    if not use_faiss:
        return search_top_k(
            queries,
            corpus,
            k,
            score_function=lambda a, b: similarity_matrix(a, b, function),
            query_chunk_size=min(options.faiss_batch_size, 256),  # bounds the (chunk, corpus chunk) block
        )
    # flat float32: exact inner products, which rank and score the candidates whatever the model's similarity
    # (as sentence-transformers' use_faiss=True; on unit vectors euclidean distance ranks them alike)
    spec = ann.AnnSpec()
    index = ann.build(corpus, spec)
    parts = [
        ann.search(index, queries[i : i + options.faiss_batch_size], k, spec)
        for i in range(0, len(queries), options.faiss_batch_size)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _has_faiss() -> bool:
    try:
        ann.import_faiss()
    except ImportError:
        return False
    return True


def _paired(a: np.ndarray, b: np.ndarray, function: str) -> np.ndarray:
    """Score of row i of ``a`` with row i of ``b`` under the model's similarity."""
    return np.array([similarity_matrix(x[None], y[None], function)[0, 0] for x, y in zip(a, b)], np.float32)


def _rescore(
    cross_encoder: Any,
    queries: list[str],
    corpus: list[str],
    ids: np.ndarray,
    rows: np.ndarray,
    positives: np.ndarray,
    options: MiningOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-encoder scores of every candidate ``(Q, k)`` and every (anchor, positive) pair ``(P,)``."""
    valid = ids >= 0
    q_index, c_index = np.nonzero(valid)
    pairs = [(queries[q], corpus[ids[q, c]]) for q, c in zip(q_index, c_index)]
    pairs += [(queries[q], corpus[p]) for q, p in zip(rows, positives)]
    predicted = np.asarray(cross_encoder.predict(pairs, batch_size=options.batch_size), dtype=np.float32)
    if predicted.ndim != 1:
        raise InputError(f"The cross_encoder must give one score per pair, got shape {predicted.shape}.")
    scores = np.full(ids.shape, -np.inf, dtype=np.float32)
    scores[valid] = predicted[: len(q_index)]
    return scores, predicted[len(q_index) :]


def _pick(
    ids: np.ndarray, scores: np.ndarray, range_max: int, options: MiningOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Rank the candidates again (best first), keep ranks ``range_min..range_max``, take the negatives."""
    order = np.lexsort((np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), -scores), axis=1)
    order = order[:, options.range_min : range_max]
    ids, scores = np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)
    n = options.num_negatives
    if options.sampling_strategy == "random":
        # without a seed, the global generator, as sentence-transformers samples (random.seed repeats a run)
        rng = random if options.seed is None else random.Random(options.seed)
        # sample among the candidates left (the finite scores come first), at least n positions
        available = np.maximum(np.isfinite(scores).sum(1), n)
        chosen = np.array([sorted(rng.sample(range(int(a)), k=n)) for a in available], dtype=np.int64)
        ids, scores = np.take_along_axis(ids, chosen, 1), np.take_along_axis(scores, chosen, 1)
    ids, scores = ids[:, :n], scores[:, :n]
    return np.where(np.isfinite(scores), ids, -1), scores


# ---------------------------------------------------------------------------------------------- output


def format_columns(mined: Mined, anchor: str, positive: str, options: MiningOptions) -> dict[str, list[Any]]:
    """The output columns of ``options.output_format`` (sentence-transformers' names and row order)."""
    rows = [(q, p) for q, ids in enumerate(mined.positive_ids) for p in ids]  # (anchor, positive) rows
    corpus, n = mined.corpus, options.num_negatives
    columns: dict[str, list[Any]]
    if options.output_format == "labeled-pair":
        columns = {anchor: [], positive: [], "score" if options.output_scores else "label": []}
        value = list(columns)[2]
        flat = iter(mined.positive_scores.tolist())
        for q, ids in enumerate(mined.positive_ids):
            found = [(i, s) for i, s in zip(mined.negative_ids[q], mined.negative_scores[q]) if i >= 0]
            for doc, score, label in [(p, next(flat), 1) for p in ids] + [(i, s, 0) for i, s in found]:
                columns[anchor].append(mined.queries[q])
                columns[positive].append(corpus[doc])
                columns[value].append(float(score) if options.output_scores else label)
        return columns
    columns = {anchor: [], positive: []}
    extra: list[list[Any]] = []
    for (q, p), positive_score in zip(rows, mined.positive_scores.tolist()):
        found = [
            (int(i), float(s)) for i, s in zip(mined.negative_ids[q], mined.negative_scores[q]) if i >= 0
        ]
        if options.output_format == "triplet":
            for i, s in found:
                columns[anchor].append(mined.queries[q])
                columns[positive].append(corpus[p])
                extra.append([corpus[i], [positive_score, s]])
        elif options.output_format == "n-tuple" and len(found) == n:
            columns[anchor].append(mined.queries[q])
            columns[positive].append(corpus[p])
            extra.append([*(corpus[i] for i, _ in found), [positive_score, *(s for _, s in found)]])
        elif options.output_format == "labeled-list" and found:
            columns[anchor].append(mined.queries[q])
            columns[positive].append([corpus[p], *(corpus[i] for i, _ in found)])
            labels = (
                [positive_score, *(s for _, s in found)] if options.output_scores else [1] + [0] * len(found)
            )
            extra.append([labels])
    return {**columns, **_extra_columns(extra, options)}


def _extra_columns(extra: list[list[Any]], options: MiningOptions) -> dict[str, list[Any]]:
    """The columns after (anchor, positive): negatives and scores or labels, by format."""
    if options.output_format == "labeled-list":
        return {"scores" if options.output_scores else "labels": [row[0] for row in extra]}
    if options.output_format == "triplet":
        names = ["negative"]
    else:
        names = [f"negative_{i}" for i in range(1, options.num_negatives + 1)]
    columns = {name: [row[i] for row in extra] for i, name in enumerate(names)}
    if options.output_scores:
        columns["scores"] = [row[-1] for row in extra]
    return columns
