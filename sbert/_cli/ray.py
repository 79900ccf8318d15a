"""``sbert encode --ray``: the options that hand encoding to :func:`sbert.distributed.embed_dataset`."""

from __future__ import annotations

import argparse
import json
import sys

from .._errors import InputError
from .._io.atomic import check_output_folder
from .._io.files import TEXT_COLUMN
from .common import EXIT_OK, model_precision


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Ray (pip install 'sbert[ray]')",
        "--ray embeds -i INPUT (.parquet file or folder, .jsonl, .txt) on a Ray cluster and writes parquet "
        "shards of (id, embedding) into the folder -o OUT_DIR; see docs/scaling.md",
    )
    group.add_argument("--ray", action="store_true", help="run on Ray Data: one model copy per actor")
    group.add_argument(
        "--ray-address",
        metavar="ADDR",
        default=None,
        help="cluster to join ('auto' on a cluster node; default: RAY_ADDRESS, else a local cluster)",
    )
    group.add_argument(
        "--id-column",
        metavar="NAME",
        default=None,
        help="column of unique ids (default 'id'; .txt input uses line numbers)",
    )
    group.add_argument(
        "--num-actors",
        type=int,
        default=None,
        metavar="N",
        help="model copies (default: one per GPU, else one per CPU but one)",
    )
    group.add_argument(
        "--gpus-per-actor",
        type=float,
        default=None,
        metavar="G",
        help="default 1 when the cluster has GPUs, else 0",
    )


def run(args: argparse.Namespace) -> int:
    from ..distributed import embed_dataset

    if args.input is None or args.texts:
        raise InputError("--ray reads its texts from -i INPUT (a .parquet file or folder, .jsonl or .txt).")
    if args.output is None:
        raise InputError("--ray writes parquet shards into a folder: pass -o OUT_DIR.")
    if "://" not in args.output:  # a local folder, replaced whole: never the input or around it
        check_output_folder(args.output, args.input, whole=True)
    if args.fast or args.precision not in (None, "fp32") or args.backend != "auto":
        options = {"backend": args.backend, "precision": model_precision(args)}
    else:
        options = {}
    summary = embed_dataset(
        args.input,
        args.output,
        model=args.model,
        text_column=args.column or TEXT_COLUMN,
        id_column=args.id_column or ("id" if not args.input.lower().endswith(".txt") else None),
        batch_size=args.batch_size or 64,
        num_actors=args.num_actors,
        num_gpus_per_actor=args.gpus_per_actor,
        normalize_embeddings=args.normalize,
        ray_address=args.ray_address,
        model_options=options,
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "files"}), file=sys.stderr)
    print(
        f"encoded {summary['rows']} texts -> {args.output} ({len(summary['files'])} parquet shards) "
        f"with {summary['actors']} actors in {summary['seconds']:.1f} s",
        file=sys.stderr,
    )
    return EXIT_OK
