"""Vector index quality and cost: recall@10 against exact search, build time, query latency, memory.

    python bench/bench_index.py [--n 100000] [--dim 384] [--queries 1000] [--only binary] [--out results.json]

Three parts, printed as markdown tables (and saved as JSON with --out):

1. random unit vectors, n x dim, queries drawn the same way: uniform on the sphere (the hardest case, no
   structure to exploit: every point is almost equally far from every other), and clustered (unit vectors
   scattered around 1,000 random centres, cosine ~0.7 to their centre);
2. real embeddings: every unique STS Benchmark sentence embedded with the default model, each sentence
   of a held-out tenth as a query;
3. the paraphrase check: for every STSb pair scored 5.0, does each sentence find the other among its 10
   nearest neighbours (itself excluded) through a persistent ``VectorIndex``?

``--mid-size`` instead runs IVF-PQ alone on real corpora of 8,000-50,000 texts: NLI and STSb sentences
(200 held-out sentences as queries), and the NFCorpus and SciFact documents padded with those sentences,
searched with each set's own short keyword queries.

Exact ground truth comes from ``sbert.util`` (numpy, chunked). Memory per vector is the serialized size of
the in-memory search structure divided by n; rescored configurations also keep the float32 vectors on disk
(4 * dim bytes per vector, memory-mapped, read only for the candidates). Latency: all queries in one batch
(ms per query) and one query at a time (median ms), with faiss' default threads.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from sbert import InputError
from sbert._numeric import normalize
from sbert._search import ann as _ann
from sbert._search.exact import search_top_k

DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
K = 10

# (label, build spec, search-time overrides). One build per spec; overrides only change search parameters.
CONFIGS: list[tuple[str, dict, list[dict]]] = [
    ("flat float32 (exact)", {"kind": "flat"}, [{}]),
    (
        "hnsw float32, M=32",
        {"kind": "hnsw"},
        [{"ef_search": 64}, {"ef_search": 128}, {"ef_search": 256}, {"ef_search": 512}, {"ef_search": 2048}],
    ),
    (
        "ivf-pq + rescoring",
        {"kind": "ivf-pq"},
        [
            {"nprobe": None, "rescore_multiplier": 10},
            {"nprobe": "nlist/4", "rescore_multiplier": 10},
            {"nprobe": "nlist/3", "rescore_multiplier": 10},
            {"nprobe": "nlist/2", "rescore_multiplier": 10},
            {"nprobe": "nlist/2", "rescore_multiplier": 40},
            {"nprobe": "nlist*9/10", "rescore_multiplier": 40},
        ],
    ),
    (
        "flat int8 + rescoring",
        {"kind": "flat", "precision": "int8"},
        [{"rescore_multiplier": 1}, {"rescore_multiplier": 4}],
    ),
    (
        "hnsw int8 + rescoring",
        {"kind": "hnsw", "precision": "int8"},
        [{"ef_search": 128, "rescore_multiplier": 4}],
    ),
    (
        "flat binary + rescoring",
        {"kind": "flat", "precision": "binary"},
        [
            {"rescore_multiplier": 10},
            {"rescore_multiplier": 40},
            {"rescore_multiplier": 100},
            {"rescore_multiplier": 1000},
            {"rescore_multiplier": 3000},
        ],
    ),
    (
        "hnsw binary + rescoring",
        {"kind": "hnsw", "precision": "binary"},
        [{"ef_search": 256, "rescore_multiplier": 10}, {"ef_search": 512, "rescore_multiplier": 40}],
    ),
]


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def stsb() -> tuple[list[str], list[tuple[str, str]]]:
    """Unique sentences of train/dev/test and the pairs scored 5.0."""
    texts: dict[str, None] = {}
    pairs = []
    for split in ("train", "dev", "test"):
        for row in read_tsv(DATA / "stsb" / f"{split}.tsv"):
            texts[row["sentence1"]] = texts[row["sentence2"]] = None
            if float(row["score"]) == 5.0 and row["sentence1"] != row["sentence2"]:
                pairs.append((row["sentence1"], row["sentence2"]))
    return list(texts), pairs


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth)]))


def run_configs(corpus: np.ndarray, queries: np.ndarray, label: str, only: str | None = None) -> list[dict]:
    t0 = time.perf_counter()
    truth, _ = search_top_k(queries, corpus, K)
    print(
        f"\n### {label}: {len(corpus):,} x {corpus.shape[1]}, {len(queries):,} queries "
        f"(exact ground truth in {time.perf_counter() - t0:.1f} s)\n"
    )
    print(
        "| index | search parameters | recall@10 | build s | batch ms/query "
        "| single-query ms | bytes/vector in RAM |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []

    def exact(
        ids: np.ndarray,
    ) -> np.ndarray:  # the rescoring store: in RAM here, memory-mapped in VectorIndex
        return corpus[ids]

    for name, build_options, searches in CONFIGS:
        if only is not None and only not in name:
            continue
        spec = _ann.AnnSpec(**build_options)
        t0 = time.perf_counter()
        try:
            index = _ann.build(corpus, spec)
        except InputError as e:  # e.g. ivf-pq on too small a corpus
            print(f"| {name} | - | skipped: {e} | | | | |")
            continue
        build_s = time.perf_counter() - t0
        memory = _ann.memory_bytes(index) / len(corpus)
        for overrides in searches:
            overrides = dict(overrides)
            if isinstance(overrides.get("nprobe"), str):  # "nlist/4", "nlist*4/5": a fraction of the lists
                share = Fraction(overrides["nprobe"].replace("nlist*", "").replace("nlist/", "1/"))
                overrides["nprobe"] = max(1, int(spec.nlist * share))
            search_spec = dataclasses.replace(spec, **overrides)
            t0 = time.perf_counter()
            ids, _ = _ann.search(index, queries, K, search_spec, exact_vectors=exact)
            batch_ms = (time.perf_counter() - t0) / len(queries) * 1000
            singles = []
            for q in queries[:100]:
                t0 = time.perf_counter()
                _ann.search(index, q[None], K, search_spec, exact_vectors=exact)
                singles.append((time.perf_counter() - t0) * 1000)
            r = recall(ids, truth)
            params = _describe(search_spec)
            print(
                f"| {name} | {params} | {r:.3f} | {build_s:.1f} | {batch_ms:.3f} "
                f"| {statistics.median(singles):.2f} | {memory:.0f} |",
                flush=True,
            )
            rows.append(
                {
                    "index": name,
                    "params": params,
                    "recall@10": r,
                    "build_s": build_s,
                    "batch_ms_per_query": batch_ms,
                    "single_query_ms": statistics.median(singles),
                    "bytes_per_vector": memory,
                }
            )
    return rows


def mid_size(cache: Path | None) -> dict[str, list[dict]]:
    """IVF-PQ on real corpora of 8k-50k texts (all-MiniLM-L6-v2): sentences, and documents with keyword
    queries, the kind whose recall the lists searched limit most."""
    sentences = [
        text
        for name in ("snli_dev", "snli_test", "mnli_dev_subset_taxinli", "mnli_train_subset_taxinli")
        for row in read_tsv(DATA / "nli" / f"{name}.tsv")
        for text in (row["sentence1"], row["sentence2"])
    ]
    sentences = list(dict.fromkeys(sentences + stsb()[0]))
    documents = list(
        dict.fromkeys(
            f"{row['title']} {row['text']}".strip()
            for name in ("nfcorpus", "scifact")
            for row in read_tsv(DATA / name / "corpus.tsv")
        )
    )
    queries = {
        label: [row["text"] for row in read_tsv(DATA / path)][:200]
        for label, path in (
            ("NFCorpus dev queries", "nfcorpus/queries-dev.tsv"),
            ("SciFact queries", "scifact/queries-train.tsv"),
        )
    }
    if cache is not None and cache.exists():
        vectors = dict(np.load(cache))
    else:
        from sbert import SentenceTransformer

        model = SentenceTransformer()
        texts = {"sentences": sentences, "documents": documents, **queries}
        vectors = {name: model.encode(batch, normalize_embeddings=True) for name, batch in texts.items()}
        if cache is not None:
            np.savez(cache, **vectors)
    order = np.random.default_rng(0).permutation(len(sentences))
    held_out, rest = vectors["sentences"][order[:200]], vectors["sentences"][order[200:]]
    results = {}
    for n in (8_000, 20_000, 50_000):
        label = f"NLI + STSb sentences, {n:,}"
        results[label] = run_configs(rest[:n], held_out, label, "ivf-pq")
    for n in (10_000, 20_000, 40_000):
        corpus = np.concatenate([vectors["documents"], rest[: n - len(documents)]])
        for name in queries:
            label = f"NFCorpus + SciFact documents and sentences, {n:,}; {name}"
            results[label] = run_configs(corpus, vectors[name], label, "ivf-pq")
    return results


def _describe(spec: _ann.AnnSpec) -> str:
    parts = []
    if spec.kind == "hnsw":
        parts.append(f"efSearch={spec.ef_search}")
    if spec.kind == "ivf-pq":
        parts.append(
            f"nlist={spec.nlist}, PQ{spec.pq_m}x{spec.pq_bits}, "
            f"nprobe={spec.nprobe or _ann.default_nprobe(spec.nlist)}"
        )
    if spec.needs_rescoring:
        parts.append(f"rescore {spec.multiplier}x{K}")
    return ", ".join(parts) or "-"


def paraphrase_check(texts: list[str], vectors: np.ndarray, pairs: list[tuple[str, str]]) -> list[dict]:
    from sbert import SentenceTransformer, VectorIndex

    model = SentenceTransformer()
    position = {t: i for i, t in enumerate(texts)}
    print(
        f"\n### Paraphrase check: {len(pairs)} STSb pairs scored 5.0 ({2 * len(pairs)} directed look-ups), "
        f"corpus of {len(texts):,} unique sentences\n"
    )
    print("| index | found at rank <= 10 | found at rank 1 |")
    print("|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, precision in (
            ("flat", "float32"),
            ("hnsw", "float32"),
            ("hnsw", "int8"),
            ("flat", "binary"),
        ):
            index = VectorIndex.build(
                Path(tmp) / f"{kind}-{precision}",
                texts,
                model=model,
                embeddings=vectors,
                index=kind,
                precision=precision,
            )
            sources = [a for a, b in pairs] + [b for a, b in pairs]
            targets = [b for a, b in pairs] + [a for a, b in pairs]
            hits = index.search(vectors[[position[s] for s in sources]], k=K + 1)
            ranks = []
            for source, target, row in zip(sources, targets, hits):
                others = [h.text for h in row if h.text != source][:K]  # the sentence itself excluded
                ranks.append(others.index(target) + 1 if target in others else None)
            at10 = sum(r is not None for r in ranks) / len(ranks)
            at1 = sum(r == 1 for r in ranks) / len(ranks)
            print(f"| {kind} {precision} | {at10:.3f} | {at1:.3f} |", flush=True)
            rows.append(
                {"index": f"{kind} {precision}", "rate@10": at10, "rate@1": at1, "lookups": len(ranks)}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--stsb-cache", default=None, help="a .npy to keep the STSb embeddings in between runs"
    )
    parser.add_argument("--skip-random", action="store_true")
    parser.add_argument("--only-uniform", action="store_true", help="just the uniformly random vectors")
    parser.add_argument(
        "--only", default=None, metavar="TEXT", help="just the index rows whose name contains TEXT"
    )
    parser.add_argument("--mid-size", action="store_true", help="IVF-PQ on real corpora of 8k-50k texts")
    parser.add_argument("--mid-cache", default=None, help="an .npz to keep the --mid-size embeddings in")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    results: dict[str, object] = {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    if args.mid_size:
        results["mid_size"] = mid_size(Path(args.mid_cache) if args.mid_cache else None)
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return
    if not args.skip_random:
        rng = np.random.default_rng(0)
        corpus = normalize(rng.standard_normal((args.n, args.dim), dtype=np.float32))
        queries = normalize(rng.standard_normal((args.queries, args.dim), dtype=np.float32))
        results["random"] = run_configs(corpus, queries, "Uniformly random unit vectors", args.only)
        if args.only_uniform:
            if args.out:
                Path(args.out).write_text(json.dumps(results, indent=2))
            return
        centers = normalize(rng.standard_normal((1000, args.dim), dtype=np.float32))
        noise = 0.05 * rng.standard_normal((args.n + args.queries, args.dim), dtype=np.float32)
        points = normalize(centers[rng.integers(0, 1000, args.n + args.queries)] + noise)
        results["clustered"] = run_configs(
            points[: args.n], points[args.n :], "Clustered random unit vectors", args.only
        )
    texts, pairs = stsb()
    cache = Path(args.stsb_cache) if args.stsb_cache else None
    if cache is not None and cache.exists():
        vectors = np.load(cache)
    else:
        from sbert import SentenceTransformer

        t0 = time.perf_counter()
        vectors = SentenceTransformer().encode(texts, normalize_embeddings=True)
        print(f"(embedded {len(texts):,} STSb sentences in {time.perf_counter() - t0:.0f} s)")
        if cache is not None:
            np.save(cache, vectors)
    held_out = np.arange(len(texts)) % 10 == 0
    results["stsb"] = run_configs(
        vectors[~held_out], vectors[held_out], "STSb embeddings (all-MiniLM-L6-v2)", args.only
    )
    results["paraphrase"] = paraphrase_check(texts, vectors, pairs)
    results["load_average_at_end"] = os.getloadavg()
    print(
        f"\nload average at start {results['load_average_at_start']}, at end {results['load_average_at_end']}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
