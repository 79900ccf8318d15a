"""The retrieve-and-rerank commands: ``sbert mine`` (MINE) and the parts of ``sbert eval rerank``.

Argument parsing only: mining is :func:`sbert.util.mine_hard_negatives`, the reranking figures
:class:`sbert._evaluation.reranking.RetrieveRerankEvaluator`; files are read by :mod:`sbert._io.files`.
Stays light (no torch) until a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._io.atomic import check_output
from .._io.files import TABLE_TYPES, read_rows, read_texts, write_table
from .common import (
    EXIT_OK,
    Command,
    add_model_arguments,
    finite_float,
    load_model,
    metric_text,
    non_negative_float,
    positive_int,
)
from .rerank import require_trained

_DESCRIPTION = """\
Add hard negatives to (anchor, positive) pairs: the model embeds the anchors and the corpus, each anchor's
closest corpus texts that are not its positives become its negatives (sentence-transformers'
mine_hard_negatives). INPUT is a .tsv (unquoted), .csv, .jsonl or .parquet file whose first two columns
(or --anchor-column, --positive-column) hold the pairs; --corpus adds candidate texts (one per line, or the
'text' column of a table) to the positives. OUT (.tsv, .csv or .jsonl) gets the output format's columns:
  triplet       anchor, positive, negative               one row per negative
  n-tuple       anchor, positive, negative_1..negative_N rows that found N negatives
  labeled-pair  anchor, text, label (1 positive, 0 negative)
  labeled-list  anchor, [texts], [labels]                needs .jsonl
--output-scores adds the scores (a list column, .jsonl only, for triplet and n-tuple)."""

_EXAMPLES = """\
  sbert mine --input pairs.tsv --corpus corpus.tsv --output triplets.tsv --num-negatives 5
  sbert mine -i pairs.tsv -o mined.jsonl --relative-margin 0.05 --range-max 50 --format labeled-list
"""

_LIST_OUTPUTS = ("labeled-list",)  # formats whose columns hold lists


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    for flags, metavar, required, meaning in (
        (("-i", "--input"), "FILE", True, "the (anchor, positive) pairs"),
        (("-o", "--output"), "OUT", True, "the mined rows (.tsv/.csv/.jsonl)"),
        (("--corpus",), "FILE", False, "more candidate texts: one per line, or a 'text' column"),
        (("--anchor-column",), "NAME", False, "column of the anchors (default: the first)"),
        (("--positive-column",), "NAME", False, "column of the positives (default: the second)"),
    ):
        parser.add_argument(*flags, metavar=metavar, required=required, help=meaning)
    parser.add_argument(
        "--num-negatives", type=positive_int, default=3, metavar="N", help="per anchor (default 3)"
    )
    parser.add_argument("--range-min", type=int, default=0, metavar="K", help="skip the K closest candidates")
    parser.add_argument(
        "--range-max", type=positive_int, metavar="K", help="consider the K closest candidates"
    )
    for name, kind, meaning in (
        ("--max-score", finite_float, "drop candidates scoring above S"),
        ("--min-score", finite_float, "drop candidates scoring below S (less than --max-score)"),
        ("--absolute-margin", non_negative_float, "drop candidates within S >= 0 of the positive's score"),
        ("--relative-margin", non_negative_float, "drop candidates above positive - |positive| * S (S >= 0; "
         "0.05: NV-Retriever's)"),
    ):  # fmt: skip
        parser.add_argument(name, type=kind, metavar="S", help=meaning)
    parser.add_argument("--sampling-strategy", choices=("top", "random"), default="top")
    parser.add_argument("--seed", type=int, default=None, help="the random sampling's seed")
    parser.add_argument(
        "--format",
        dest="output_format",
        default="triplet",
        metavar="FORMAT",
        help="triplet (default), n-tuple, labeled-pair, labeled-list",
    )
    parser.add_argument("--output-scores", action="store_true", help="add the scores (or replace the labels)")
    parser.add_argument("--cross-encoder", metavar="M", help="rescore the candidates with this cross-encoder")
    parser.add_argument(
        "--faiss",
        dest="use_faiss",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="search with a faiss index (default: from 100,000 corpus texts on, when faiss is installed)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="texts per batch")
    add_model_arguments(parser)


def _run(args: argparse.Namespace) -> int:
    from .._search.mining import MiningOptions, mine_hard_negatives
    from .._training.data import load_dataset

    names = [args.anchor_column, args.positive_column]
    options = MiningOptions(
        range_min=args.range_min, range_max=args.range_max, num_negatives=args.num_negatives,
        output_format=args.output_format, output_scores=args.output_scores,
    )  # fmt: skip
    lists = options.output_format in _LIST_OUTPUTS or _score_lists(options)
    _check_output(args.output, lists, args.input, args.corpus)
    if args.min_score is not None and args.max_score is not None and args.min_score >= args.max_score:
        raise InputError(
            f"--min-score {args.min_score:g} is not below --max-score {args.max_score:g}: no candidate could "
            "remain; pass a --min-score below the --max-score."
        )
    columns = None if names == [None, None] else [n or "" for n in names]
    if columns and "" in columns:
        raise InputError("--anchor-column and --positive-column go together: pass both or neither.")
    pairs = load_dataset(args.input, columns=columns, label="").columns
    corpus = _corpus_texts(args.corpus) if args.corpus else None
    cross_encoder = _load_reranker(args.cross_encoder, args) if args.cross_encoder else None
    mined = mine_hard_negatives(
        pairs, load_model(args), corpus=corpus, cross_encoder=cross_encoder, range_min=args.range_min,
        range_max=args.range_max, max_score=args.max_score, min_score=args.min_score,
        absolute_margin=args.absolute_margin, relative_margin=args.relative_margin,
        num_negatives=args.num_negatives, sampling_strategy=args.sampling_strategy,
        output_format=args.output_format, output_scores=args.output_scores, batch_size=args.batch_size,
        use_faiss=args.use_faiss, seed=args.seed, verbose=False,
    )  # fmt: skip
    rows = len(next(iter(mined.values()))) if mined else 0
    write_table(args.output, mined)
    print(f"mined {rows} rows ({options.output_format}) -> {args.output}", file=sys.stderr)
    return EXIT_OK


def _corpus_texts(path: str) -> list[str]:
    """Plain text: one text per line; a table: its 'text' column, after its 'title' when it has one (as
    ``sbert eval retrieval`` and ``rerank`` join BEIR documents, so mined texts match evaluated ones)."""
    if Path(path).suffix.lower() not in TABLE_TYPES:
        return read_texts(path)[0]
    texts = []
    for line, row in read_rows(Path(path)):
        if not isinstance(row.get("text"), str):
            raise InputError(f"{path}:{line}: needs a text column 'text'.")
        title = row.get("title")
        texts.append(f"{title} {row['text']}".strip() if isinstance(title, str) and title else row["text"])
    return texts


def _score_lists(options: Any) -> bool:
    return options.output_scores and options.output_format in ("triplet", "n-tuple")


def _check_output(path: str, lists: bool, *inputs: str | None) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in (".tsv", ".csv", ".jsonl"):
        raise InputError(f"cannot write {path!r}: the output extension must be .tsv, .csv or .jsonl.")
    if lists and suffix != ".jsonl":
        raise InputError(f"cannot write {path!r}: this output has list columns; write a .jsonl file.")
    check_output(path, *inputs)  # before any model loads


MINE = Command(
    "mine",
    "mine hard negatives for (anchor, positive) pairs with a bi-encoder (and a cross-encoder filter)",
    _DESCRIPTION,
    _EXAMPLES,
    _add_arguments,
    _run,
)


# ---------------------------------------------------------------------------------------------- eval rerank


def add_rerank_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``sbert eval rerank`` (``--json`` and ``--batch-size`` are eval's)."""
    parser.add_argument(
        "--corpus", required=True, metavar="FILE", help="columns id (or _id), text (and title)"
    )
    parser.add_argument("--queries", required=True, metavar="FILE", help="columns id (or _id), text")
    parser.add_argument("--qrels", required=True, metavar="FILE", help="columns query-id, corpus-id, score")
    parser.add_argument("--reranker", required=True, metavar="M", help="the cross-encoder to evaluate")
    parser.add_argument("--retriever", metavar="M", help="the bi-encoder (default: all-MiniLM-L6-v2)")
    parser.add_argument(
        "--top-k", type=positive_int, default=100, metavar="K", help="per query (default 100)"
    )
    parser.add_argument("--device", metavar="D", help="cpu, cuda, ... (both models)")
    parser.add_argument("--allow-pickle", action="store_true", help="allow pickled (.bin) weights")
    parser.add_argument(
        "--fusion",
        choices=["rrf"],
        help="also score the two orders combined by reciprocal rank fusion (k=60): a fused= column",
    )


def run_rerank(
    args: argparse.Namespace,
    queries: dict[str, str],
    corpus: dict[str, str],
    qrels: dict[str, dict[str, float]],
) -> int:
    """Print each metric of the retriever and of the reranking side by side, the reranked NDCG@10 last."""
    from .._evaluation.base import record_results
    from .._evaluation.reranking import RetrieveRerankEvaluator
    from .._model import SentenceTransformer  # imports torch: only now

    evaluator = RetrieveRerankEvaluator(
        queries,
        corpus,
        qrels,
        None,
        top_k=args.top_k,
        batch_size=args.batch_size,
        show_progress_bar=None,  # progress bars on long work, in a terminal
        fusion=args.fusion,
    )
    reranker = _load_reranker(args.reranker, args)  # first: an untrained one is refused before the retriever
    evaluator.retriever = SentenceTransformer(
        args.retriever, device=args.device, allow_pickle=args.allow_pickle
    )
    results = evaluator(reranker)
    if args.json:
        record_results(reranker, results, args.json)
    for key in ("ndcg@10", "mrr@10", f"map@{args.top_k}", f"recall@{args.top_k}"):
        if key in results:
            fused = f" fused={metric_text(key, results['fused_' + key])}" if args.fusion else ""
            retrieved, reranked = metric_text(key, results["base_" + key]), metric_text(key, results[key])
            print(f"{key} retriever={retrieved} reranked={reranked}{fused}")
    print(f"ndcg@10={metric_text('ndcg@10', results['ndcg@10'])}")
    return EXIT_OK


def _load_reranker(name: str, args: argparse.Namespace) -> Any:
    import sbert  # the public CrossEncoder (loads torch on first access)

    return require_trained(name, sbert.CrossEncoder(name, device=args.device, allow_pickle=args.allow_pickle))
