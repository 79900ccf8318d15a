"""A static model distilled from the default model: quality and encode throughput, one run.

    python bench/bench_static.py [--pca-dims 256] [--short-limit N] [--out results.json]

Distils the embedded all-MiniLM-L6-v2 with ``sbert distill --static`` (model2vec), then measures, each system
in its own fresh process on the short corpus (the unique STS Benchmark sentences, as bench_encode.py) after a
short warm-up, with the machine's thread defaults: sentence-transformers encoding with the source model (the
reference), sbert encoding with the static model (default options, and batch_size=1024), and
sentence-transformers and model2vec loading the same static folder. Quality: STS Benchmark test Spearman
(cosine, x100) of the source and the static model with sbert's EmbeddingSimilarityEvaluator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_encode import DATA, peak_rss_mb, read_tsv, short_corpus

# (name, which model it encodes with): the reference first.
SYSTEMS = (
    ("sentence-transformers (source)", "source"),
    ("sbert static", "static"),
    ("sbert static, batch 1024", "static"),
    ("sentence-transformers static", "static"),
    ("model2vec static", "static"),
)


def load_system(name: str, folder: str):
    """An ``encode(texts) -> (n, d)`` function for the system ``name`` on the model in ``folder``."""
    if name.startswith("sentence-transformers"):
        from sentence_transformers import SentenceTransformer as Reference

        reference = Reference(folder, device="cpu")
        return lambda texts: reference.encode(texts, batch_size=32)
    if name.startswith("sbert"):
        from sbert import SentenceTransformer

        model = SentenceTransformer(folder)
        assert model.backend == "static", model.backend
        batch_size = 1024 if name.endswith("1024") else None
        return lambda texts: model.encode(texts, batch_size=batch_size)
    from model2vec import StaticModel

    static = StaticModel.from_pretrained(folder)
    return lambda texts: static.encode(texts)


def worker(name: str, folder: str, corpus: Path, result: Path) -> None:
    texts = json.loads(corpus.read_text())
    encode = load_system(name, folder)
    encode(texts[:64])  # warm-up
    start = time.perf_counter()
    embeddings = encode(texts)
    seconds = time.perf_counter() - start
    np.save(result.with_suffix(".npy"), np.asarray(embeddings, dtype=np.float32))
    result.write_text(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb()}))


def run_worker(name: str, folder: str, corpus: Path, result: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--folder", folder, "--corpus", str(corpus)]
    subprocess.run([*cmd, "--result", str(result)], check=True, stdout=subprocess.DEVNULL)
    return json.loads(result.read_text())


def stsb_spearman(folder: str) -> float:
    from sbert import EmbeddingSimilarityEvaluator, SentenceTransformer

    rows = read_tsv(DATA / "stsb" / "test.tsv")
    evaluator = EmbeddingSimilarityEvaluator(
        [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], [float(r["score"]) for r in rows]
    )
    results = evaluator(SentenceTransformer(folder))
    return 100 * float(next(v for k, v in results.items() if k.endswith("spearman_cosine")))  # points


def cpu_description() -> str:
    """The CPU model and the vector units that matter here (as lscpu shows them)."""
    info = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    flags = next((line for line in info if line.startswith("flags")), "") + " "
    units = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f} " in flags]
    return f"{model}; {os.cpu_count()} CPUs; flags: {' '.join(units) or 'no avx2'}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--short-limit", type=int, default=None, help="use only the first N short texts")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("--static-folder", default=None, help="measure this distilled folder (no distilling)")
    parser.add_argument("--worker"), parser.add_argument("--folder"), parser.add_argument("--corpus")
    parser.add_argument("--result")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder, Path(args.corpus), Path(args.result))
        return

    from sbert import SentenceTransformer
    from sbert._modules.static_embedding import distill_to_folder

    source = str(SentenceTransformer(backend="torch").folder)
    work = Path(tempfile.mkdtemp(prefix="sbert-bench-static-"))
    folders = {"source": source, "static": args.static_folder or str(work / "static")}
    print(f"machine: {cpu_description()}; load average {os.getloadavg()[0]:.1f}")
    start = time.perf_counter()
    if args.static_folder is None:
        width = distill_to_folder(source, folders["static"], pca_dims=args.pca_dims)
    else:
        width = SentenceTransformer(args.static_folder).get_sentence_embedding_dimension()
    distill_s = time.perf_counter() - start
    how = (
        f"distilled in {distill_s:.1f} s (model2vec, pca_dims={args.pca_dims})"
        if args.static_folder is None
        else "given"
    )
    print(f"source {source}; static model {folders['static']} ({width} dims, {how})")

    texts = short_corpus()[: args.short_limit]
    corpus = work / "short.json"
    corpus.write_text(json.dumps(texts))
    print(f"\nshort corpus: {len(texts)} texts")
    print(f"{'system':<34}{'texts/s':>10}{'x ST':>9}{'peak MB':>9}")
    results: dict = {"cpu": cpu_description(), "distill_seconds": distill_s, "dims": width, "systems": {}}
    reference_rate = None
    for i, (name, model) in enumerate(SYSTEMS):
        row = run_worker(name, folders[model], corpus, work / f"result-{i}.json")
        rate = len(texts) / row["seconds"]
        reference_rate = reference_rate or rate
        row.update(texts_per_s=rate, speedup=rate / reference_rate)
        results["systems"][name] = row
        print(f"{name:<34}{rate:>10.0f}{row['speedup']:>9.1f}{row['peak_mb']:>9.0f}")
    static_vectors = np.load(work / "result-1.npy")
    for i in (3, 4):  # the other loaders of the static folder give sbert's vectors
        diff = float(np.abs(np.load(work / f"result-{i}.npy") - static_vectors).max())
        results["systems"][SYSTEMS[i][0]]["max_abs_diff_vs_sbert"] = diff
        print(f"  {SYSTEMS[i][0]} vs sbert static: max abs diff {diff:.2e}")

    print(f"load average after the throughput runs: {os.getloadavg()[0]:.1f}")
    print("\nSTS Benchmark test Spearman (cosine, x100):")
    results["stsb_spearman"] = {}
    for label, model in (("all-MiniLM-L6-v2 (source)", "source"), (f"static ({width} dims)", "static")):
        results["stsb_spearman"][label] = value = stsb_spearman(folders[model])
        print(f"  {label:<28}{value:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
