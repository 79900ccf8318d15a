"""The ``sbert cluster``, ``sbert index`` and ``sbert search`` commands: argument parsing, then the library.

Exports one :class:`~sbert._cli.common.Command` per command (CLUSTER, INDEX, SEARCH). Corpora are read and
results written by :mod:`sbert._io.files`, as ``sbert encode`` reads and writes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._checks import check_positive_int
from .._errors import InputError, ModelFolderNotFoundError, missing_extra
from .._io.atomic import check_output, check_output_folder
from .._io.files import read_texts, read_vectors, write_json_lines
from .common import (
    EXIT_OK,
    Command,
    add_column_argument,
    add_model_arguments,
    load_model,
    positive_int,
    refuse_cross_encoder,
)
from .encode import add_chunk_arguments, chunk_options

# ---------------------------------------------------------------------------------------------- shared


def _add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    add_column_argument(parser)
    parser.add_argument(
        "--id-column",
        metavar="NAME",
        default=None,
        help="field (.jsonl) or column (.csv/.tsv/.parquet) holding each text's id (default: row numbers)",
    )


def _add_index_model_arguments(parser: argparse.ArgumentParser, *, default_help: str) -> None:
    # Not common.add_model_arguments: --precision here is the index's, not the model's.
    group = parser.add_argument_group("model")
    group.add_argument("--model", "-m", metavar="M", default=None, help=default_help)
    group.add_argument(
        "--device", metavar="D", default=None, help="cpu, cuda, ... (default: cuda if available)"
    )
    group.add_argument("--batch-size", type=positive_int, default=None, metavar="N", help="texts per batch")
    group.add_argument("--allow-pickle", action="store_true", help="allow pytorch_model.bin weights (pickle)")


def _load(name: str | None, args: argparse.Namespace) -> Any:
    from .._model import SentenceTransformer  # imports torch: only when a command needs a model

    if name is not None:
        refuse_cross_encoder(name, args.allow_pickle)
    return SentenceTransformer(name, device=args.device, allow_pickle=args.allow_pickle)


# ---------------------------------------------------------------------------------------------- cluster

CLUSTER_DESCRIPTION = """\
Cluster texts by meaning and write one {"id", "text", "cluster"} line per text, in input order.

FILE: texts, read like 'sbert encode -i' (.txt one per line, .jsonl/.csv/.tsv with --column), or a .npy
array of embeddings (then lines have no "text"). Embeddings are L2-normalized, so clusters follow cosine
similarity. Clusters are numbered by size, 0 the largest; HDBSCAN marks outliers -1.
Methods (scikit-learn, pip install 'sbert[cluster]'):
  kmeans         -k N clusters (default method)
  agglomerative  -k N clusters, or --distance-threshold T (cosine distance, average linkage)
  hdbscan        finds the number itself; --min-cluster-size (default 5)"""

CLUSTER_EXAMPLES = """\
  sbert cluster questions.txt -k 20 -o clusters.jsonl
  sbert cluster reviews.csv --column body --method hdbscan --min-cluster-size 10 -o clusters.jsonl
  sbert cluster vectors.npy --method agglomerative --distance-threshold 0.4
"""


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("file", metavar="FILE", help="texts (.txt, .jsonl, .csv, .tsv) or embeddings (.npy)")
    parser.add_argument(
        "-k", "--clusters", type=positive_int, default=None, metavar="N", help="number of clusters"
    )
    parser.add_argument("--method", choices=("kmeans", "agglomerative", "hdbscan"), default="kmeans")
    parser.add_argument(
        "--min-cluster-size", type=positive_int, default=5, metavar="N", help="hdbscan (default 5)"
    )
    parser.add_argument("--distance-threshold", type=float, default=None, metavar="T", help="agglomerative")
    parser.add_argument("--seed", type=int, default=0, help="k-means initialisation seed (default 0)")
    parser.add_argument("--column", metavar="NAME", default=None, help="text field/column (default: 'text')")
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="write the .jsonl lines to OUT (default: stdout)"
    )
    add_model_arguments(parser)


def run_cluster(args: argparse.Namespace) -> int:
    from .._search.cluster import cluster_embeddings

    _check_cluster_arguments(args)
    try:  # before the model loads (seconds): a missing extra fails at once
        import sklearn.cluster  # noqa: F401
    except ImportError:
        raise missing_extra("scikit-learn", "cluster") from None
    texts, embeddings = _cluster_input(args)
    labels = cluster_embeddings(
        embeddings,
        method=args.method,
        n_clusters=args.clusters,
        distance_threshold=args.distance_threshold,
        min_cluster_size=args.min_cluster_size,
        seed=args.seed,
    )
    records = []
    for i, label in enumerate(labels.tolist()):
        record: dict[str, Any] = {"id": i}
        if texts is not None:
            record["text"] = texts[i]
        record["cluster"] = label
        records.append(record)
    write_json_lines(args.output, records)
    found = len(set(labels.tolist()) - {-1})
    noise = int((labels < 0).sum())
    print(
        f"clustered {len(labels)} items into {found} clusters ({noise} noise) -> {args.output or 'stdout'}",
        file=sys.stderr,
    )
    return EXIT_OK


def _check_cluster_arguments(args: argparse.Namespace) -> None:
    if args.output is not None and Path(args.output).suffix.lower() not in (".jsonl", ".ndjson"):
        raise InputError(f"cannot write {args.output!r}: cluster output is JSON lines (.jsonl).")
    if args.output is not None:
        check_output(args.output, args.file)
    if args.method != "hdbscan" and args.clusters is None and args.distance_threshold is None:
        raise InputError(f"--method {args.method} needs -k N (the number of clusters).")
    if args.method == "hdbscan" and args.clusters is not None:
        raise InputError("hdbscan finds the number of clusters itself; drop -k or choose --method kmeans.")


def _cluster_input(args: argparse.Namespace) -> tuple[list[str] | None, Any]:
    """The texts (None for a .npy input) and their embeddings (n, d)."""
    if args.file.lower().endswith(".npy"):
        if args.column is not None or args.model is not None:
            option = "--column" if args.column is not None else "--model"
            raise InputError(f"{option} applies to text files, not to .npy embeddings (already embedded).")
        return None, read_vectors(args.file)
    texts, _ = read_texts(args.file, args.column)
    if not texts:
        raise InputError(f"{args.file}: no texts to cluster.")
    return texts, load_model(args).encode(texts)


CLUSTER = Command(
    "cluster",
    "cluster texts (k-means, agglomerative, HDBSCAN) into a .jsonl of labels",
    CLUSTER_DESCRIPTION,
    CLUSTER_EXAMPLES,
    add_cluster_arguments,
    run_cluster,
)


# ---------------------------------------------------------------------------------------------- index

INDEX_DESCRIPTION = """\
Build and extend a persistent vector index (faiss; pip install 'sbert[search]'), then query it with
'sbert search'. The folder keeps the texts, their ids and float32 vectors next to the search structure,
and records the model (name and checksum): searching or adding with another model is refused.
Writes are atomic: an interrupted build or add leaves the previous index as it was.

  build CORPUS -o DIR  embed CORPUS (.txt, .jsonl, .csv, .tsv) into a new index
      --chunk-tokens N [--chunk-overlap M]: one vector per long text, the mean of its token windows
      --index flat (exact, default) | hnsw (graph) | ivf-pq (compressed; needs a few thousand texts)
      --precision float32 (default) | int8 (4x smaller) | binary (32x smaller): what stays in memory;
                  candidates are rescored with the exact vectors kept on disk
  add DIR CORPUS       embed CORPUS with the index's model and append it
  info DIR             print the index's manifest (model, counts, structure) as JSON"""

INDEX_EXAMPLES = """\
  sbert index build corpus.txt -o my-index --index hnsw
  sbert index build docs.jsonl --column body --id-column doc_id -o my-index --precision int8
  sbert index add my-index more.txt
  sbert index info my-index
"""


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="embed a corpus into a new index")
    build.add_argument("corpus", metavar="CORPUS", help="texts: .txt (one per line), .jsonl, .csv, .tsv")
    build.add_argument(
        "-o", "--output", metavar="INDEX_DIR", required=True, help="the index folder to create"
    )
    build.add_argument("--index", choices=("flat", "hnsw", "ivf-pq"), default="flat", help="search structure")
    build.add_argument(
        "--precision",
        choices=("float32", "int8", "binary"),
        default="float32",
        help="what the search structure keeps in memory",
    )
    build.add_argument("--metric", choices=("cosine", "dot"), default="cosine", help="score (default cosine)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing index at INDEX_DIR")
    build.add_argument(
        "--ef-search", type=positive_int, default=None, metavar="N", help="hnsw: candidates per query"
    )
    build.add_argument(
        "--nprobe", type=positive_int, default=None, metavar="N", help="ivf-pq: lists per query"
    )
    build.add_argument(
        "--rescore-multiplier",
        type=positive_int,
        default=None,
        metavar="N",
        help="quantized indexes: rescore k * N candidates exactly",
    )
    _add_corpus_arguments(build)
    add_chunk_arguments(build)
    _add_index_model_arguments(build, default_help="model folder or hub name (default: all-MiniLM-L6-v2)")
    add = actions.add_parser("add", help="append texts to an index (atomic)")
    add.add_argument("index_dir", metavar="INDEX_DIR")
    add.add_argument("corpus", metavar="CORPUS", help="texts: .txt (one per line), .jsonl, .csv, .tsv")
    _add_corpus_arguments(add)
    add_chunk_arguments(add)
    _add_index_model_arguments(add, default_help="the index's model (default: the one recorded in the index)")
    info = actions.add_parser("info", help="print the index's manifest as JSON")
    info.add_argument("index_dir", metavar="INDEX_DIR")


def run_index(args: argparse.Namespace) -> int:
    from .._search.ann import import_faiss
    from .._search.index import VectorIndex

    if args.index_command != "info":
        import_faiss()  # before the model loads (seconds): a missing extra fails at once
    if args.index_command == "build":
        return _build_index(args)
    index = VectorIndex.open(args.index_dir)  # add: check the index before reading or embedding anything
    if args.index_command == "info":
        info = index.info
        info.pop("files", None)
        print(json.dumps(info, indent=2))
        return EXIT_OK
    chunking = chunk_options(args)
    texts, ids = read_texts(args.corpus, args.column, args.id_column)
    _index_model(index, args)  # attaches the checked model
    index = index.add(texts, ids=ids, batch_size=args.batch_size, **chunking)
    print(f"added {len(texts)} texts -> {args.index_dir} ({len(index)} in all)", file=sys.stderr)
    return EXIT_OK


def _build_index(args: argparse.Namespace) -> int:
    from .._search.index import VectorIndex

    check_output_folder(args.output)  # no file in the way, writable (the index keeps a corpus inside it)
    for option, value, kind in (("--ef-search", args.ef_search, "hnsw"), ("--nprobe", args.nprobe, "ivf-pq")):
        if value is not None and args.index != kind:
            raise InputError(
                f"{option} tunes --index {kind}, not {args.index}: drop it or build --index {kind}."
            )
    _check_build_target(Path(args.output), args.overwrite)
    chunking = chunk_options(args)
    texts, ids = read_texts(args.corpus, args.column, args.id_column)
    if not texts:
        raise InputError(f"{args.corpus}: the corpus is empty; there is nothing to index.")
    tuning = {
        "ef_search": args.ef_search,
        "nprobe": args.nprobe,
        "rescore_multiplier": args.rescore_multiplier,
    }
    index = VectorIndex.build(
        args.output,
        texts,
        model=_load(args.model, args),
        ids=ids,
        index=args.index,
        precision=args.precision,
        metric=args.metric,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        **chunking,
        **{name: value for name, value in tuning.items() if value is not None},
    )
    print(f"indexed {len(index)} texts -> {args.output} ({args.index}, {args.precision})", file=sys.stderr)
    return EXIT_OK


def _check_build_target(path: Path, overwrite: bool) -> None:
    """Refuse a non-empty output folder without --overwrite before the model loads (the index checks the
    folder again when it writes)."""
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise InputError(
            f"{path} is not empty (an index already there?); pass --overwrite to replace the index, "
            "use `sbert index add` to extend it, or choose a new folder."
        )


def _index_model(index: Any, args: argparse.Namespace) -> Any:
    """The model named by --model, or the one the index records; checked against the index."""
    name = args.model or index.model_name
    if name is None:
        raise InputError(f"{index.path} was built from vectors without a model; pass --model.")
    try:
        model = _load(name, args)
    except ModelFolderNotFoundError:
        if args.model is not None:
            raise
        raise InputError(
            f"{index.path} records its model as the folder {name!r}, which does not exist (moved, deleted, "
            "or a relative path recorded from another folder); pass --model with that model's folder or "
            "hub name."
        ) from None
    index.attach(model)
    return model


INDEX = Command(
    "index",
    "build, add to or show a persistent vector index (faiss)",
    INDEX_DESCRIPTION,
    INDEX_EXAMPLES,
    add_index_arguments,
    run_index,
)


# ---------------------------------------------------------------------------------------------- search

SEARCH_DESCRIPTION = """\
Find the texts of an index closest to each QUERY. Prints one line per hit, 'rank<TAB>score<TAB>id<TAB>text',
queries separated by a blank line; --json prints one {"query", "rank", "score", "id", "text"} object per
line instead. The query is embedded with the index's model (or --model, which must be the same model)."""

SEARCH_EXAMPLES = """\
  sbert search my-index "How do I reset my password?" -k 5
  sbert search my-index "first query" "second query" --json
"""


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("index_dir", metavar="INDEX_DIR", help="a folder made by 'sbert index build'")
    parser.add_argument("queries", nargs="+", metavar="QUERY", help="one or more query texts")
    parser.add_argument("-k", type=int, default=10, metavar="K", help="hits per query (default 10)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    _add_index_model_arguments(
        parser, default_help="the index's model (default: the one recorded in the index)"
    )


def run_search(args: argparse.Namespace) -> int:
    from .._search.ann import import_faiss
    from .._search.index import VectorIndex

    check_positive_int("-k", args.k)
    import_faiss()  # before the model loads
    index = VectorIndex.open(args.index_dir)
    _index_model(index, args)
    results = index.search(list(args.queries), k=args.k)
    out: list[str] = []
    for number, (query, hits) in enumerate(zip(args.queries, results)):
        ranked = list(enumerate(hits, start=1))
        if args.json:
            out.extend(
                json.dumps(_hit_record(query, rank, hit), ensure_ascii=False) + "\n" for rank, hit in ranked
            )
            continue
        if number:
            out.append("\n")  # a blank line between the hits of two queries
        out.extend(f"{rank}\t{hit.score:.4f}\t{hit.id}\t{_one_line(hit.text)}\n" for rank, hit in ranked)
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    return EXIT_OK


def _hit_record(query: str, rank: int, hit: Any) -> dict[str, Any]:
    return {"query": query, "rank": rank, "score": round(hit.score, 6), "id": hit.id, "text": hit.text}


def _one_line(text: str) -> str:
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


SEARCH = Command(
    "search",
    "find the texts of an index closest to a query",
    SEARCH_DESCRIPTION,
    SEARCH_EXAMPLES,
    add_search_arguments,
    run_search,
)
