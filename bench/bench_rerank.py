"""Rerank throughput (pairs/s) of sbert's CrossEncoder against sentence-transformers' CrossEncoder, one run.

    python bench/bench_rerank.py [--short-pairs 2048] [--long-pairs 192] [--with-trace] [--rounds N]
                                 [--out results.json]

The cross-encoder is the embedded all-MiniLM-L6-v2's encoder with a new (random, seeded) one-label head,
saved once and loaded by every system (the head does not change the speed). Pairs are SciFact training
queries with corpus documents (title + text): short documents are cut to their first 64 tokens, long ones
are whole (truncated to 512 tokens with the query). Systems, each after a warm-up, in this process with the
machine's thread defaults: sentence-transformers (torch fp32, batch 32, the reference), sbert faithful
(fp32, backend auto: the ONNX graph the graph builder writes, made before timing), with ``--with-trace`` the
torch-traced graph fused by ONNX Runtime's optimizer, sbert torch fp32 (padding-free), and
sbert's fast mode for this CPU (``--fast``: int8 ONNX on CPUs with AMX, VNNI or AVX2). Prints pairs/s, the
ratios to the reference, the largest score difference of the faithful modes to it, the fast mode's Spearman
to fp32, and the CPU flags that decide the fast mode. With ``--rounds N`` every system is timed N times,
every other round in reverse order, and the median rate is shown with each round's ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
SHORT_TOKENS = 64


def read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]


def make_pairs(tokenizer, short_count: int, long_count: int) -> dict[str, list[tuple[str, str]]]:
    """Each query with the next documents of the corpus, in order: deterministic, mixed lengths."""
    queries = [row["text"] for row in read_tsv(DATA / "queries-train.tsv")]
    documents = [f"{row['title']} {row['text']}".strip() for row in read_tsv(DATA / "corpus.tsv")]

    def cut(text: str) -> str:  # the first SHORT_TOKENS tokens of the text
        offsets = tokenizer.encode_untruncated([text])[0].offsets
        return text[: offsets[SHORT_TOKENS - 1][1]] if len(offsets) > SHORT_TOKENS else text

    short = [(queries[i % len(queries)], cut(documents[i])) for i in range(short_count)]
    long = [(queries[i % len(queries)], documents[-1 - i]) for i in range(long_count)]
    return {"short": short, "long": long}


def timed(predict, pairs: list[tuple[str, str]]) -> tuple[float, np.ndarray]:
    predict(pairs[:64])  # warm-up
    start = time.perf_counter()
    scores = np.asarray(predict(pairs), dtype=np.float32)
    return len(pairs) / (time.perf_counter() - start), scores


def cpu_flags() -> list[str]:
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split()
    except (OSError, IndexError):
        return []
    return sorted(f for f in flags if f.startswith(("avx512", "amx", "avx2", "avx_vnni")))


def traced_scorer(folder: Path) -> object:
    """A CrossEncoder on the torch-traced graph fused by ONNX Runtime's optimizer (the export ``auto`` ran
    before the graph builder wrote cross-encoders), for ``--with-trace``."""
    from sbert import CrossEncoder
    from sbert._backends.onnx_export import write_graphs
    from sbert._cross_encoder.runners import OnnxScorer

    model = CrossEncoder(folder, backend="torch", max_length=512)
    trace = folder.parent / "traced"
    write_graphs(model.model, trace, ["fp32"], fingerprint=None, info={}, classifier=True)
    model._runner = OnnxScorer(trace / "model.onnx", num_labels=1, precision="fp32")
    return model


def systems(folder: Path, with_trace: bool = False) -> dict:
    """name -> predict function; the reference first."""
    import torch
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder
    from sbert._backends.cpu import fast_precision

    reference = Reference(str(folder), device="cpu", max_length=512)
    CrossEncoder(folder, backend="onnx", max_length=512)  # the export, so that backend="auto" takes ONNX
    faithful = CrossEncoder(folder, max_length=512)
    torch_fp32 = CrossEncoder(folder, backend="torch", max_length=512)
    fast = CrossEncoder(folder, precision=fast_precision(), max_length=512)
    return {
        "sentence-transformers (torch fp32)": lambda p: reference.predict(p, batch_size=32),
        f"sbert faithful (fp32, auto -> {faithful.backend})": faithful.predict,
        **({"sbert ONNX traced + fused (fp32)": traced_scorer(folder).predict} if with_trace else {}),
        "sbert torch fp32 (padding-free)": torch_fp32.predict,
        f"sbert fast ({fast.precision} on {fast.backend})": fast.predict,
        "_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short-pairs", type=int, default=2048)
    parser.add_argument("--long-pairs", type=int, default=192)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--with-trace", action="store_true", help="also time the torch-traced fused graph")
    parser.add_argument("--rounds", type=int, default=1, help="times per system, order alternating (median)")
    args = parser.parse_args()
    import torch

    from sbert import CrossEncoder

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        folder = Path(tmp) / "minilm-ce"
        CrossEncoder(num_labels=1).save(folder)  # the default model's encoder, a new head
        found = systems(folder, args.with_trace)
        threads = found.pop("_threads")
        pairs = make_pairs(CrossEncoder(folder, backend="torch").tokenizer, args.short_pairs, args.long_pairs)
        results = {"machine": platform.processor() or platform.machine(), "cpu_flags": cpu_flags()}
        results |= {"torch_threads": threads, "sets": {}}
        names = list(found)
        for kind, chosen in pairs.items():
            rates: dict[str, list[float]] = {name: [] for name in names}
            scores: dict[str, np.ndarray] = {}
            for round_ in range(args.rounds):
                # every other round in reverse order: a drifting machine favours no system
                for name in names if round_ % 2 == 0 else names[::-1]:
                    rate, scores[name] = timed(found[name], chosen)
                    rates[name].append(rate)
            rows, reference = {}, names[0]
            base, base_scores = float(np.median(rates[reference])), scores[reference]
            for name in names:
                rate = float(np.median(rates[name]))
                per_round = np.divide(rates[name], rates[reference])
                rows[name] = {
                    "pairs_per_s": round(rate, 1),
                    "ratio": round(rate / base, 2),
                    "round_ratios": [round(float(r), 2) for r in per_round],
                    "max_abs_diff": float(np.abs(scores[name] - base_scores).max()),
                    "spearman": round(float(spearmanr(scores[name], base_scores).statistic), 4),
                }
                print(
                    f"{kind:5s} {name:45s} {rate:8.1f} pairs/s  x{rate / base:5.2f}  {rows[name]}", flush=True
                )
            results["sets"][kind] = {"pairs": len(chosen), "systems": rows}
    print(json.dumps({k: results[k] for k in ("machine", "cpu_flags", "torch_threads")}))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
