"""Does a cross-encoder trained by ``sbert train`` on a BEIR set's training queries, with hard negatives mined
by the default bi-encoder, raise NDCG@10 over that bi-encoder's top-100? One dataset per run:

    python bench/bench_rerank_quality.py scifact  --out runs/rerank-scifact --max-length 128 --distill 16
    python bench/bench_rerank_quality.py nfcorpus --out runs/rerank-nfcorpus --max-length 128 --distill 16 \
        --distill-queries 650 --start runs/rerank-scifact/stsb/final --loss mnrl --per-query 1 \
        --sampling random --relative-margin 0 --max-pairs 650

(the settings of the runs in docs/benchmarks.md whose rerankers beat the bi-encoder on both sets).

Only the command line is used: the script writes the data files and the recipes, runs ``sbert train`` (twice)
and then ``sbert eval rerank --fusion rrf`` (retriever all-MiniLM-L6-v2, top-100), and prints the NDCG@10 of
the retriever, of the reranker's order, and of the two orders combined by reciprocal rank fusion (k=60).

Evaluation queries: NFCorpus's dev split. SciFact ships no dev split here, so every fifth training query (in
id order) is held out for evaluation and the others train; no held-out query, nor its qrels, is trained on.
Training pairs are (query, relevant document), the document as "title text"; NFCorpus's graded qrels keep the
query's highest grade only, and ``--max-pairs`` draws a seeded sample so that a CPU run stays short.

Two stages, each one ``sbert train`` recipe:

1. Warm start (skipped with ``--start MODEL``): the issue's STSb recipe, a new one-label head on the default
   model's encoder trained 1 epoch on STSb train (BCE on score / 5, batch 16, lr 2e-5, 10 % warm-up). A head
   that starts from "how alike are these two texts" learns relevance from a few hundred queries; a random
   head on the bi-encoder's encoder did not (SciFact: loss stayed at a constant score's, NDCG@10 16.97).
1b. Distillation (``--distill N``, off by default): the bi-encoder's own ranking, taught to the cross-encoder
   by MSELoss on its cosine scores of each training query's positives and N candidates spread evenly over its
   top 100 (so that the reranker sees the deep candidates a few mined negatives never show it); positives are
   those of the query's best grade, ``--per-query`` of them when set, and ``--distill-queries`` takes a seeded
   sample of the training queries (NFCorpus's 2,590 queries with 40 positives each would be 150,000 pairs).
2. Reranking: ``--negatives`` (5) hard negatives per query mined from the bi-encoder's ranks
   ``--range-min`` (10) to 100 (``--sampling top``: the highest-ranked candidates left, as
   sentence-transformers' recipe does; ``random``: drawn from the whole range), with a relative margin of 5 %
   below the positive's score (``--relative-margin``; 0 for none) so that near-duplicates of the positive are
   not taken as negatives; ``--loss bce``: BinaryCrossEntropyLoss with pos_weight 5 on (query, document,
   label) pairs, ``--loss mnrl``: the cross-encoder MultipleNegativesRankingLoss (the positive picked out of
   its mined negatives and 4 other queries' documents); ``--epochs`` (2), batch 16, lr ``--lr`` (5e-5),
   10 % warm-up, pairs truncated to ``--max-length`` tokens.
   NFCorpus needs other settings: its 3-word queries score their positives low, so a margin leaves almost no
   negatives (370 for 650 positives), and a query has 40 relevant documents on average, so pairs drawn over
   all (query, document) pairs are mostly topic words ("meat", "dairy") with loosely related abstracts;
   ``--per-query 1 --sampling random --relative-margin 0`` trains on one positive per query, each query once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    clean = [[str(v).replace("\t", " ").replace("\n", " ") for v in row] for row in rows]
    path.write_text("\n".join(["\t".join(header)] + ["\t".join(r) for r in clean]) + "\n", encoding="utf-8")


def splits(name: str) -> tuple[list[dict], dict, list[dict], dict]:
    """(train queries, train qrels, eval queries, eval qrels); qrels as {query id: {doc id: grade}}."""
    folder = DATA / name

    def qrels(file: str) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for row in read_tsv(folder / file):
            found[row["query_id"]][row["corpus_id"]] = int(float(row["score"]))
        return found

    train_queries = read_tsv(folder / "queries-train.tsv")
    train_qrels = qrels("qrels-train.tsv")
    if name == "nfcorpus":
        return train_queries, train_qrels, read_tsv(folder / "queries-dev.tsv"), qrels("qrels-dev.tsv")
    ordered = sorted(train_queries, key=lambda q: int(q["id"]) if q["id"].isdigit() else q["id"])
    held = [q for i, q in enumerate(ordered) if i % 5 == 0]
    kept = [q for i, q in enumerate(ordered) if i % 5 != 0]
    held_qrels = {q["id"]: train_qrels[q["id"]] for q in held if q["id"] in train_qrels}
    return kept, train_qrels, held, held_qrels


def best_positives(graded: dict[str, int], documents, per_query: int, rng: random.Random) -> list[str]:
    """A query's relevant documents (in ``documents``) of its highest grade, ``per_query`` drawn if set."""
    graded = {d: g for d, g in graded.items() if g > 0 and d in documents}
    top_grade = max(graded.values(), default=0)
    best = [d for d, g in sorted(graded.items()) if g == top_grade]
    return rng.sample(best, min(per_query, len(best))) if per_query else best


def training_pairs(queries, qrels, documents, max_pairs: int, per_query: int, seed: int) -> list[list[str]]:
    pairs, rng = [], random.Random(seed)
    for query in queries:
        chosen = best_positives(qrels.get(query["id"], {}), documents, per_query, rng)
        pairs += [[query["text"], documents[d]] for d in chosen]
    rng.shuffle(pairs)
    return pairs[:max_pairs] if max_pairs else pairs


def write_inputs(name: str, out: Path, args: argparse.Namespace) -> tuple[dict[str, Path], dict[str, str]]:
    """The data files of both stages, and the corpus as {id: "title text"}."""
    corpus = read_tsv(DATA / name / "corpus.tsv")
    documents = {row["id"]: f"{row['title']} {row['text']}".strip() for row in corpus}
    train_queries, train_qrels, eval_queries, eval_qrels = splits(name)
    files = {k: out / f"{k}.tsv" for k in ("train", "corpus", "queries", "qrels")}
    pairs = training_pairs(train_queries, train_qrels, documents, args.max_pairs, args.per_query, args.seed)
    write_tsv(files["train"], ["query", "document"], pairs)
    write_tsv(files["corpus"], ["id", "title", "text"], [[r["id"], r["title"], r["text"]] for r in corpus])
    write_tsv(files["queries"], ["id", "text"], [[q["id"], q["text"]] for q in eval_queries])
    rows = [[q, d, str(g)] for q, docs in eval_qrels.items() for d, g in docs.items()]
    write_tsv(files["qrels"], ["query-id", "corpus-id", "score"], rows)
    (out / "mining-corpus.tsv").write_text(
        "text\n" + "\n".join(t.replace("\t", " ").replace("\n", " ") for t in documents.values()) + "\n",
        encoding="utf-8",
    )
    print(
        f"{name}: {len(pairs)} training pairs from {len(train_queries)} queries; "
        f"{len(eval_queries)} evaluation queries",
        flush=True,
    )
    return files, documents


def stage(start: str, output_dir: Path, args: argparse.Namespace) -> dict:
    """The settings every stage after the warm start shares: a cross-encoder trained from ``start``."""
    output = str(output_dir)
    return {"recipe": "cross-encoder", "model": start, "output_dir": output, "max_length": args.max_length}


def write_recipe(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def training_arguments(epochs: int, lr: float, seed: int) -> dict:
    """Every stage's trainer settings: batch 16, 10 % warm-up."""
    return {"epochs": epochs, "batch_size": 16, "learning_rate": lr, "warmup_ratio": 0.1, "seed": seed}


def warm_start_recipe(out: Path, seed: int) -> Path:
    """Stage 1: the default model's encoder with a new one-label head, trained on STSb train."""
    config = {
        "recipe": "cross-encoder",
        "output_dir": str(out / "stsb"),
        "train": {
            "file": str(DATA / "stsb" / "train.tsv"),
            "columns": ["sentence1", "sentence2"],
            "label": "score",
            "score_range": [0, 5],
            "loss": "BinaryCrossEntropyLoss",
        },
        "arguments": training_arguments(1, 2.0e-5, seed),
    }
    return write_recipe(out / "recipe-stsb.json", config)


# Stage 2's losses: pointwise BCE on (query, document, 0/1) rows, the positive weighted as the 5 negatives
# together; or listwise, the positive picked out of its mined negatives and 4 other queries' documents.
LOSSES = {
    "bce": {"loss": "BinaryCrossEntropyLoss", "loss_options": {"pos_weight": 5}},
    "mnrl": {"loss": "MultipleNegativesRankingLoss"},
}


def recipe(out: Path, start: str, args: argparse.Namespace) -> Path:
    """Stage 2: the reranker, from ``start``, on the mined training pairs."""
    config = stage(start, out / "run", args) | {
        "mine": {
            "corpus": str(out / "mining-corpus.tsv"),
            "num_negatives": args.negatives,
            "range_min": args.range_min,
            "range_max": 100,
            "sampling_strategy": args.sampling,
            "seed": args.seed,
        },
        "train": [
            {
                "file": str(out / "train.tsv"),
                "columns": ["query", "document"],
                **LOSSES[args.loss],
            }
        ],
        "arguments": training_arguments(args.epochs, args.lr, args.seed),
    }
    if args.relative_margin:
        config["mine"]["relative_margin"] = args.relative_margin
    return write_recipe(out / "recipe.json", config)


def distill_recipe(out: Path, start: str, documents: dict[str, str], args: argparse.Namespace) -> Path:
    """Stage 1b: the bi-encoder's cosine scores of (training query, candidate) pairs, by MSELoss."""
    from sbert import SentenceTransformer

    ids, texts = list(documents), list(documents.values())
    train_queries, train_qrels, _, _ = splits(args.dataset)
    model = SentenceTransformer()
    docs = model.encode(texts, batch_size=32, normalize_embeddings=True)
    queries = model.encode([q["text"] for q in train_queries], normalize_embeddings=True)
    scores = queries @ docs.T
    rows, step = [], max(1, 100 // args.distill)
    position = {d: i for i, d in enumerate(ids)}
    rng = random.Random(args.seed)
    taught = range(len(train_queries))
    if args.distill_queries:
        taught = sorted(rng.sample(taught, min(args.distill_queries, len(train_queries))))
    for q in taught:
        query = train_queries[q]
        top = scores[q].argsort()[::-1][:100]
        chosen = set(top[::step][: args.distill].tolist())
        # the positives as stage 2 picks its own (its own draw)
        best = best_positives(train_qrels.get(query["id"], {}), position, args.per_query, rng)
        chosen |= {position[d] for d in best}
        rows += [[query["text"], texts[i], f"{scores[q, i]:.6f}"] for i in sorted(chosen)]
    rng.shuffle(rows)
    write_tsv(out / "distill.tsv", ["query", "document", "score"], rows)
    print(f"distillation: {len(rows)} pairs", flush=True)
    config = stage(start, out / "distill", args) | {
        "train": {
            "file": str(out / "distill.tsv"),
            "columns": ["query", "document"],
            "label": "score",
            "loss": "MSELoss",
        },
        "arguments": training_arguments(1, args.lr, args.seed),
    }
    return write_recipe(out / "recipe-distill.json", config)


def sbert(*argv: str) -> float:
    start = time.perf_counter()
    print("$ sbert " + " ".join(argv), flush=True)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    subprocess.run([sys.executable, "-m", "sbert", *argv], check=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", choices=["scifact", "nfcorpus"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-pairs", type=int, default=0, help="sample of training pairs (0: all)")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--per-query", type=int, default=0, help="positives drawn per query (0: all)")
    parser.add_argument("--sampling", choices=["random", "top"], default="top")
    parser.add_argument("--relative-margin", type=float, default=0.05, help="0: none")
    parser.add_argument("--negatives", type=int, default=5, help="mined negatives per positive")
    parser.add_argument("--range-min", type=int, default=10, help="mine below this many top candidates")
    parser.add_argument("--loss", choices=sorted(LOSSES), default="bce")
    parser.add_argument("--distill", type=int, default=0, help="stage 1b: candidates per query (0: none)")
    parser.add_argument(
        "--distill-queries", type=int, default=0, help="stage 1b: sample of training queries (0: all)"
    )
    parser.add_argument(
        "--start", default=None, help="stage 1's cross-encoder, already trained (skip stage 1)"
    )
    args = parser.parse_args()
    # absolute: a recipe resolves its relative paths against its own folder, which is args.out
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    files, documents = write_inputs(args.dataset, args.out, args)
    warm_s = 0.0
    start = args.start
    if start is None:
        warm_s = sbert("train", str(warm_start_recipe(args.out, args.seed)), "--overwrite")
        start = str(args.out / "stsb" / "final")
    if args.distill:
        scoring = time.perf_counter()  # the stage whole: the bi-encoder's scores, then the training
        distill = distill_recipe(args.out, start, documents, args)
        warm_s += time.perf_counter() - scoring + sbert("train", str(distill), "--overwrite")
        start = str(args.out / "distill" / "final")
    train_s = sbert("train", str(recipe(args.out, start, args)), "--overwrite")
    metrics = args.out / "metrics.json"
    eval_s = sbert(
        "eval",
        "rerank",
        "--corpus",
        str(files["corpus"]),
        "--queries",
        str(files["queries"]),
        "--qrels",
        str(files["qrels"]),
        "--reranker",
        str(args.out / "run" / "final"),
        "--top-k",
        "100",
        "--fusion",
        "rrf",
        "--json",
        str(metrics),
    )
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "warm_start": start,
                "warm_start_s": round(warm_s),
                "train_s": round(train_s),
                "eval_s": round(eval_s),
                "metrics": json.loads(metrics.read_text()),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
