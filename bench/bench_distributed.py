"""Throughput per CPU core of ``sbert.distributed.embed_dataset`` on a local Ray cluster, and a projection.

    python bench/bench_distributed.py [--small 256] [--large 4096] [--cpus 2]

Runs the same job twice, on ``--small`` and on ``--large`` unique STSb sentences (repeated if needed), with
one actor on one CPU (Ray sets its torch/OpenMP threads to 1). The difference of the two wall times
removes the fixed costs (actor start, model load, scheduling), leaving the steady rate of one model copy
on one core. The projection for 100M texts assumes linear scaling over actors, which holds while the input
reads and shard writes keep up (they are small next to the model: one 384-float row is 1.5 KB).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def sentences(n: int) -> list[str]:
    texts: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        with open(DATA / "stsb" / f"{split}.tsv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                texts[row["sentence1"]] = texts[row["sentence2"]] = None
    unique = list(texts)
    return [unique[i % len(unique)] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=256)
    parser.add_argument("--large", type=int, default=4096)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    import pyarrow as pa
    import pyarrow.parquet as pq
    import ray

    from sbert.distributed import embed_dataset

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.large):
            source = Path(tmp) / f"in-{n}.parquet"
            texts = sentences(n)
            pq.write_table(pa.table({"id": [str(i) for i in range(n)], "text": texts}), source)
            t0 = time.perf_counter()
            summary = embed_dataset(
                source,
                Path(tmp) / f"out-{n}",
                model=args.model,
                num_actors=1,
                num_cpus_per_actor=1,
                batch_size=64,
            )
            results[n] = time.perf_counter() - t0
            print(
                f"{n:>6} texts: {results[n]:.1f} s wall "
                f"({summary['rows']} rows, {len(summary['files'])} shards)"
            )
    steady = (args.large - args.small) / (results[args.large] - results[args.small])
    fixed = results[args.small] - args.small / steady
    hours_100m = 100_000_000 / steady / 3600
    report = {
        "texts_per_second_per_core": round(steady, 1),
        "fixed_cost_s": round(fixed, 1),
        "core_hours_for_100M": round(hours_100m, 0),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report))
    print(f"steady rate: {steady:.1f} texts/s per core (one actor, one thread); fixed cost {fixed:.1f} s")
    print(
        f"100M texts: {hours_100m:,.0f} core-hours -> {hours_100m / 64:,.1f} h on 64 cores, "
        f"{hours_100m / 512:,.1f} h on 512 cores"
    )


if __name__ == "__main__":
    main()
