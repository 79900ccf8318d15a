"""``sbert rerank``: rank documents for a query with a cross-encoder; and loading cross-encoders for the CLI.

Argument parsing only: the ranking is :meth:`sbert.CrossEncoder.rank`, the documents are read by
:func:`sbert._io.files.read_texts`. Stays light (no torch) until the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._errors import InputError
from .._format import layout
from .._io.atomic import check_output
from .._io.files import read_texts, write_json_lines
from .common import EXIT_OK, Command, add_column_argument, add_model_arguments, model_precision, positive_int

_DESCRIPTION = """\
Rank documents for a query with a cross-encoder (a reranker): each (query, document) pair is scored
together, as CrossEncoder.rank scores them. DOCS (-i) holds one document per line, or a column of a .jsonl,
.csv, .tsv or .parquet file (--column); '-' reads stdin. Prints one line per document, best first:
'rank<TAB>score<TAB>index<TAB>text' (index: the document's position in DOCS, from 0); --json prints one
{"rank", "score", "index", "text"} object per line instead, and --output writes those lines to a file."""

_EXAMPLES = """\
  sbert rerank --model ./my-reranker --query "How many people live in Berlin?" -i docs.txt --top-k 3
  sbert rerank -m cross-encoder/ms-marco-MiniLM-L6-v2 -q "best pizza" -i hits.jsonl --column text --json
"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--query", required=True, metavar="Q", help="the query text")
    parser.add_argument(
        "-i", "--input", required=True, metavar="DOCS", help="the documents: one per line, or a table"
    )
    add_column_argument(parser)
    parser.add_argument("-k", "--top-k", type=positive_int, metavar="K", help="print the best K only")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON lines to FILE (not stdout)")
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="pairs per batch (default 32)"
    )
    add_model_arguments(parser, model_help=_MODEL_HELP)


_MODEL_HELP = (
    "the cross-encoder: a folder (sentence-transformers CrossEncoder, Hugging Face sequence-classification, "
    "or an ONNX export of 'sbert export') or a hub name"
)


def _run(args: argparse.Namespace) -> int:
    documents, _ = read_texts(args.input, args.column)  # before the model loads: a bad file fails at once
    if args.output is not None:
        check_output(args.output, args.input)
    if not args.query.strip():
        raise InputError("--query is empty; pass the text to rank the documents for.")
    model = load_cross_encoder(args.model, args)
    ranked = model.rank(
        args.query, documents, top_k=args.top_k, return_documents=True, batch_size=args.batch_size
    )
    records = [
        {"rank": rank, "score": round(hit["score"], 6), "index": hit["corpus_id"], "text": hit["text"]}
        for rank, hit in enumerate(ranked, start=1)
    ]
    if args.output is not None:
        write_json_lines(args.output, records)
        print(f"ranked {len(documents)} documents -> {args.output}", file=sys.stderr)
    elif args.json:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    else:
        sys.stdout.write("".join(_line(r) for r in records))
    sys.stdout.flush()
    return EXIT_OK


def _line(record: dict[str, Any]) -> str:
    text = record["text"].replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return f"{record['rank']}\t{record['score']:.4f}\t{record['index']}\t{text}\n"


def load_cross_encoder(name: str, args: argparse.Namespace) -> Any:
    """The cross-encoder ``name`` with the model options of ``args`` (device, backend, precision or --fast,
    allow-pickle); torch loads only now."""
    from .._cross_encoder.model import CrossEncoder

    model = CrossEncoder(
        name,
        device=args.device,
        backend=args.backend,
        precision=model_precision(args),
        allow_pickle=args.allow_pickle,
    )
    return require_trained(name, model)


def require_trained(name: str, model: Any) -> Any:
    """``model``, the CrossEncoder loaded from ``name``, where its folder holds a trained cross-encoder;
    else an InputError. CrossEncoder() puts a new head on an embedding model or a plain encoder, as
    sentence-transformers does (to train it); its scores would be random, so every command that ranks,
    evaluates or filters with a reranker takes trained rerankers only."""
    if layout.cross_encoder_reason(model.folder) is None:
        raise InputError(
            f"{name} is not a trained cross-encoder (a SentenceTransformer embedding model or a plain "
            "encoder, on which CrossEncoder puts a new, untrained head): pass a reranker."
        )
    return model


RERANK = Command(
    "rerank",
    "rank documents for a query with a cross-encoder (reranker)",
    _DESCRIPTION,
    _EXAMPLES,
    _add_arguments,
    _run,
)
