"""Peak memory of one training step: CachedMultipleNegativesRankingLoss next to the plain loss, by batch size.

    python bench/bench_cached_mnrl_memory.py --batch 16 64 256 1024 [--mini-batch 32] [--losses cached plain]

Each (loss, batch) runs in a fresh process (``--one``): load the default model (all-MiniLM-L6-v2), take the
first B (query, positive) pairs of SciFact's training queries (queries-train.tsv, the first relevant document
of qrels-train.tsv from corpus.tsv, title and text), run one forward + backward + AdamW step in train mode,
and report the process's peak resident memory (VmHWM, which includes the model and the libraries: the
baseline row shows what loading alone costs). A run that dies (out of memory) is reported as failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "scifact"


def read_tsv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def pairs(limit: int) -> tuple[list[str], list[str]]:
    """The first ``limit`` (query, relevant document) pairs, one per training query."""
    queries = {row["id"]: row["text"] for row in read_tsv(DATA / "queries-train.tsv")}
    corpus = {row["id"]: f"{row['title']} {row['text']}".strip() for row in read_tsv(DATA / "corpus.tsv")}
    chosen: dict[str, str] = {}
    for row in read_tsv(DATA / "qrels-train.tsv"):
        if row["query_id"] in queries and row["corpus_id"] in corpus and float(row["score"]) > 0:
            chosen.setdefault(row["query_id"], row["corpus_id"])
    items = list(chosen.items())
    if len(items) < limit:
        items = (items * (limit // len(items) + 1))[:limit]  # more rows than queries: repeat them
    items = items[:limit]
    return [queries[q] for q, _ in items], [corpus[d] for _, d in items]


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(loss_name: str, batch: int, mini_batch: int) -> dict[str, float | str | int]:
    """One training step in this process; its peak RSS."""
    import torch

    import sbert

    torch.manual_seed(0)
    queries, documents = pairs(batch)
    model = sbert.SentenceTransformer(backend="torch", device="cpu")
    loaded = peak_rss_mib()
    if loss_name == "cached":
        loss = sbert.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch)
    elif loss_name == "plain":
        loss = sbert.MultipleNegativesRankingLoss(model)
    else:  # baseline: load and tokenize only
        loss = None
    features = [model.tokenize(queries), model.tokenize(documents)]
    start = time.perf_counter()
    if loss is not None:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        value = loss(features, None)
        value.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return {
        "loss": loss_name,
        "batch": batch,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "after_load_mib": round(loaded, 1),
        "step_s": round(seconds, 2),
    }


def run(loss_name: str, batch: int, mini_batch: int) -> dict[str, float | str | int]:
    command = [
        sys.executable,
        __file__,
        "--one",
        loss_name,
        "--batch",
        str(batch),
        "--mini-batch",
        str(mini_batch),
    ]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))  # this checkout's sbert
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"loss": loss_name, "batch": batch, "failed": reason[:100]}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--mini-batch", type=int, default=32)
    parser.add_argument("--losses", nargs="+", default=["baseline", "cached", "plain"])
    parser.add_argument("--one", choices=["baseline", "cached", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help="also write the rows as JSON here")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.batch[0], args.mini_batch)))
        return
    rows = [run(name, batch, args.mini_batch) for batch in args.batch for name in args.losses]
    print(
        "one training step of the default model, (query, positive) pairs of SciFact, "
        f"mini-batch {args.mini_batch}"
    )
    print(f"{'loss':<10}{'batch':>7}{'peak RSS MiB':>14}{'after load MiB':>16}{'step s':>9}")
    for row in rows:
        if "failed" in row:
            print(f"{row['loss']:<10}{row['batch']:>7}  failed: {row['failed']}")
        else:
            print(
                f"{row['loss']:<10}{row['batch']:>7}{row['peak_rss_mib']:>14}{row['after_load_mib']:>16}"
                f"{row['step_s']:>9}"
            )
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
