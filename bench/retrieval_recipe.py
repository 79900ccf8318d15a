"""bench_train's retrieval recipe (issue #18): the data, the two trainers and the scoring, kept out of
bench_train.py's STS/NLI/cross code.

  retrieval  the default model fine-tuned on SciFact's training queries (every fifth query, in id order, held
             back, as bench_rerank_quality.py does) as (query, positive, negative) rows: one hard negative per
             pair mined once by the default model from SciFact's corpus (ranks 10-50, 5 % relative margin
             below the positive's score), written to a file both trainers read.
             CachedMultipleNegativesRankingLoss (scale 20, mini-batch 32), no-duplicates batches of 64,
             lr 2e-5, 10 % warm-up, 1 epoch, seed 0.
             Scored before and after by the same sbert InformationRetrievalEvaluator: NDCG@10 on NFCorpus dev
             (full corpus) and on the held-back SciFact queries (full corpus).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench_rerank_quality import read_tsv, splits, write_tsv

BATCH = 64
MINI_BATCH = 32
MINING = {"range_min": 10, "range_max": 50, "relative_margin": 0.05, "num_negatives": 1}
TRAIN_FILE = "train.tsv"


def documents(
    name: str, data: Path, limit: int | None = None, keep: set[str] = frozenset()
) -> dict[str, str]:
    """A BEIR corpus as id → "title text" (the text the retriever and the reranker bench read); with
    ``limit`` (a smoke run) only the documents in ``keep`` and the first ``limit`` others."""
    rows = read_tsv(data / name / "corpus.tsv")
    if limit:
        rows = [r for i, r in enumerate(rows) if i < limit or r["id"] in keep]
    return {r["id"]: f"{r['title']} {r['text']}".strip() for r in rows}


def prepare(start: Path, data: Path, limit: int | None) -> int:
    """Mine the shared training rows once with the default model; returns how many there are."""
    import sbert

    kept, qrels, _, _ = splits("scifact")
    docs = documents("scifact", data, limit and 20 * limit, {d for q in kept for d in qrels.get(q["id"], {})})
    pairs = [(q["text"], docs[d]) for q in kept for d, g in sorted(qrels.get(q["id"], {}).items()) if g > 0][
        :limit
    ]
    model = sbert.SentenceTransformer()
    rows = sbert.util.mine_hard_negatives(
        {"query": [p[0] for p in pairs], "positive": [p[1] for p in pairs]},
        model,
        corpus=list(docs.values()),
        output_format="triplet",
        seed=0,
        **MINING,
    )
    table = [[r["query"], r["positive"], r["negative"]] for r in _rows(rows)]
    start.mkdir(parents=True, exist_ok=True)
    write_tsv(start / TRAIN_FILE, ["query", "positive", "negative"], table)
    return len(table)


def _rows(mined) -> list[dict[str, str]]:
    if isinstance(mined, dict):
        return [dict(zip(mined, values)) for values in zip(*mined.values())]
    return [dict(r) for r in mined]


def train_rows(start: Path) -> dict[str, list[str]]:
    rows = read_tsv(start / TRAIN_FILE)
    return {c: [r[c] for r in rows] for c in ("query", "positive", "negative")}


def run_sbert(start: Path, out_dir: str, hyper: dict, quiet: dict) -> dict:
    import torch

    import sbert
    from sbert._format.hub import embedded_default_model_path

    model = sbert.SentenceTransformer(embedded_default_model_path(), backend="torch", device="cpu")
    train = sbert.load_dataset(train_rows(start), columns=["query", "positive", "negative"], label="")
    hyper = {**hyper, "batch_size": BATCH}
    args = sbert.TrainingArguments(output_dir=out_dir, batch_sampler="no_duplicates", **quiet, **hyper)
    torch.manual_seed(hyper["seed"])
    loss = sbert.CachedMultipleNegativesRankingLoss(model, mini_batch_size=MINI_BATCH)
    began = time.perf_counter()
    out = sbert.Trainer(model, train, loss, args=args).train()
    seconds = time.perf_counter() - began
    model.save(start / "sbert")
    return {"system": "sbert", "seconds": seconds, "steps": out.global_step, "examples": len(train)}


def run_st(start: Path, out_dir: str, arguments) -> dict:
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer import losses

    from sbert._format.hub import embedded_default_model_path

    model = SentenceTransformer(str(embedded_default_model_path()), device="cpu")
    train = Dataset.from_dict(train_rows(start))
    args = arguments(out_dir)  # batch BATCH, no-duplicates batches, the shared hyper-parameters
    torch.manual_seed(args.seed)
    loss = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=MINI_BATCH)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=loss)
    began = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - began
    model.save(str(start / "sentence-transformers"))
    return {
        "system": "sentence-transformers",
        "seconds": seconds,
        "steps": out.global_step,
        "examples": len(train),
    }


def scores(model_path: str | None, data: Path, limit: int | None = None) -> dict[str, float]:
    """NDCG@10 (x100) on NFCorpus dev and on SciFact's held-back queries, each against its whole corpus (a
    smoke run's ``limit``: 20 x limit documents and the relevant ones), by sbert's evaluator (ONNX fp32,
    faithful) for every model scored."""
    import sbert

    model = (
        sbert.SentenceTransformer(model_path, backend="onnx")
        if model_path
        else sbert.SentenceTransformer(backend="onnx")
    )
    _, _, held, held_qrels = splits("scifact")
    _, _, dev, dev_qrels = splits("nfcorpus")
    result = {}
    for name, queries, qrels in (("nfcorpus_dev", dev, dev_qrels), ("scifact_held", held, held_qrels)):
        if limit:  # a smoke run: the first queries, the documents relevant to them and a few others
            queries = queries[:limit]
            qrels = {q["id"]: qrels[q["id"]] for q in queries if q["id"] in qrels}
        relevant = {d for docs in qrels.values() for d in docs}
        corpus = documents(name.split("_")[0], data, limit and 20 * limit, relevant)
        evaluator = sbert.InformationRetrievalEvaluator(
            {q["id"]: q["text"] for q in queries}, corpus, qrels, name=name
        )
        result[name] = 100 * evaluator.compute(model)[evaluator.main_metric]  # points, as reported
    return result


def report(results: list[dict], before: dict[str, float]) -> str:
    lines = [
        f"\nrecipe retrieval: {results[0]['examples']} training rows, "
        f"{results[0]['steps']} steps, batch {BATCH}",
        "| trainer | wall time (s) | NFCorpus dev NDCG@10 | SciFact held-out NDCG@10 |",
        "|---|---:|---:|---:|",
        f"| default model (before) | - | {before['nfcorpus_dev']:.2f} | {before['scifact_held']:.2f} |",
    ]
    for r in results:
        lines.append(
            f"| {r['system']} | {r['seconds']:.1f} | {r['nfcorpus_dev']:.2f} | {r['scifact_held']:.2f} |"
        )
    return "\n".join(lines)


def dump(results: list[dict], before: dict[str, float], path: str | None) -> None:
    if path:
        Path(path).write_text(json.dumps({"before": before, "results": results}, indent=2))
