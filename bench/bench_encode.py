"""Encoding throughput, memory and quality: sbert against sentence-transformers and fastembed, one run.

    python bench/bench_encode.py [--short-limit N] [--long-count N] [--rounds N] [--out results.json]

Every system runs in its own fresh process (so peak memory is its own), on the same texts, after a short
warm-up, with the machine's thread defaults; with ``--rounds N`` each one N times, every other round in
reverse order, and the table shows the median time and the range of the rounds' ratios (a shared VM's speed
drifts by 10-30 % within a run). Quality is measured against sentence-transformers' embeddings
(cosine) and as STS Benchmark test Spearman. Ratios are against sentence-transformers in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The fp32 matmul that measures the machine: (tokens x hidden) @ (hidden x intermediate) of MiniLM's
# feed-forward over a batch of 4,096 tokens, the shape of the model's biggest GEMMs.
GEMM_SHAPE = (4096, 384, 1536)
DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
# sbert-default is SentenceTransformer(folder) with no flags (backend "auto"); sbert-onnx is the traced export
# folder; sbert-fast is this CPU's fast mode (by its flags: sbert._backends.cpu.FAST_MODE_RULES); sbert-int8
# is the int8 ONNX graph whatever the CPU, so both fast modes are measured everywhere.
SYSTEMS = (
    "sentence-transformers",
    "fastembed",
    "sbert-default",
    "sbert-torch",
    "sbert-onnx",
    "sbert-fast",
    "sbert-int8",
)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def short_corpus() -> list[str]:
    """The unique sentences of STS Benchmark train/dev/test."""
    texts: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        for row in read_tsv(DATA / "stsb" / f"{split}.tsv"):
            texts[row["sentence1"]] = texts[row["sentence2"]] = None
    return list(texts)


def long_corpus(count: int, tokenizer) -> list[str]:
    """Consecutive unique sentences joined until each text has 200-256 tokens."""
    sentences = short_corpus()
    texts, current = [], []
    for sentence in sentences:
        current.append(sentence)
        n = len(tokenizer.encode_texts([" ".join(current)])[0].ids)
        if n >= 200:
            if n > 256:
                current.pop()
            texts.append(" ".join(current))
            current = []
            if len(texts) == count:
                break
    return texts


# ------------------------------------------------------------------------------------------ one system


def load_system(name: str, model_dir: str, work: Path):
    """Return an ``encode(texts) -> (n, d) float32`` function for ``name``."""
    if name == "sentence-transformers":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_dir, device="cpu")
        return lambda texts: model.encode(texts, batch_size=32)
    if name == "fastembed":
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        TextEmbedding.add_custom_model(
            model="local/minilm-sbert-export",
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf="local/minilm-sbert-export"),
            dim=384,
            model_file="onnx/model.onnx",
            output_name="token_embeddings",
        )
        model = TextEmbedding("local/minilm-sbert-export", specific_model_path=str(work / "export"))
        return lambda texts: np.asarray(list(model.embed(texts, batch_size=32)), dtype=np.float32)
    from sbert import SentenceTransformer

    if name == "sbert-default":
        model = SentenceTransformer(model_dir)
    elif name == "sbert-torch":
        model = SentenceTransformer(model_dir, backend="torch")
    elif name == "sbert-onnx":
        model = SentenceTransformer(str(work / "export"))
    elif name == "sbert-int8":
        model = SentenceTransformer(model_dir, precision="int8")
    else:
        from sbert._backends.cpu import fast_precision

        model = SentenceTransformer(model_dir, precision=fast_precision())
    return lambda texts: model.encode(texts)


def worker(name: str, model_dir: str, corpus_file: Path, out: Path, work: Path) -> None:
    texts = json.loads(corpus_file.read_text())
    start = time.perf_counter()
    encode = load_system(name, model_dir, work)
    load_s = time.perf_counter() - start
    encode(texts[:64])  # warm-up
    start = time.perf_counter()
    embeddings = encode(texts)
    seconds = time.perf_counter() - start
    np.save(out.with_suffix(".npy"), embeddings)
    peak_mb = peak_rss_mb()
    out.write_text(json.dumps({"seconds": seconds, "load_seconds": load_s, "peak_mb": peak_mb}))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec from
    the parent, which would charge each worker with the orchestrator's memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ machine figures


def gemm_rates() -> dict[str, float]:
    """Measured fp32 FLOP/s of the GEMM_SHAPE matmul with numpy and (when installed) torch and onnxruntime,
    each on the threads it uses by default in this process. ONNX Runtime's own GEMM is the one sbert's
    default path runs on, so MFU is not measured against a slower GEMM than the one in use."""
    m, k, n = GEMM_SHAPE
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    rates = {"numpy": matmul_rate(lambda: a @ b)}
    with contextlib.suppress(ImportError):
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        rates["torch"] = matmul_rate(lambda: ta @ tb)
    with contextlib.suppress(ImportError):
        session = onnx_matmul_session(b)
        rates["onnxruntime"] = matmul_rate(lambda: session.run(None, {"a": a}))
    return rates


def onnx_matmul_session(b: np.ndarray):
    """An ONNX Runtime session of ``a @ b`` with ``b`` a constant, as the model graphs hold their weights."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", b.shape[0]])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["m", b.shape[1]])],
        [numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime sbert supports
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def matmul_rate(matmul) -> float:
    m, k, n = GEMM_SHAPE
    for _ in range(3):
        matmul()
    runs, start = 0, time.perf_counter()
    while runs < 10 or time.perf_counter() - start < 0.5:
        matmul()
        runs += 1
    return runs * 2 * m * k * n / (time.perf_counter() - start)


def cpu_summary() -> dict:
    """The CPU, its speed-relevant flags and the fast mode they select (the rule sbert-fast runs by)."""
    from sbert._backends.cpu import RELEVANT_FLAGS, cpu_flags, cpu_model_name, fast_mode, int8_weight_bits

    flags = cpu_flags()
    rule = fast_mode(flags)
    bits = int8_weight_bits(flags)
    return {
        "model": cpu_model_name(),
        "flags": [flag for flag in RELEVANT_FLAGS if flag in flags],
        "fast_mode": {
            "precision": rule.precision,
            "rule": rule.flag or "none",
            "why": rule.why,
            "int8_weight_bits": bits,
        },
    }


def machine_summary() -> tuple[dict, dict[str, float]]:
    """Print and return the CPU facts and the measured GEMM rates (FLOP/s); MFU divides by the best one."""
    from sbert._backends.cpu import available_cpus

    cpu = cpu_summary()
    fast = cpu["fast_mode"]
    print(f"cpu: {cpu['model']}; flags: {' '.join(cpu['flags']) or 'none'}")
    bits = f" ({fast['int8_weight_bits']}-bit int8 weights)" if fast["precision"] == "int8" else ""
    print(f"fast mode (sbert-fast): {fast['precision']}, rule {fast['rule']}: {fast['why']}{bits}")
    rates = gemm_rates()
    measured = ", ".join(f"{name} {rate / 1e9:.1f}" for name, rate in rates.items())
    print(
        f"machine: {os.cpu_count()} CPUs ({available_cpus()} for this process); fp32 GEMM "
        f"{'x'.join(map(str, GEMM_SHAPE))} in GFLOP/s: {measured}; MFU % is against the best"
    )
    return cpu, rates


def flops_per_token(config: dict, mean_tokens: float) -> float:
    """Forward FLOPs per token of a BERT encoder, ``2 * layers * (4 h^2 + 2 h * intermediate)`` for the weight
    matmuls plus ``4 * layers * L * h`` for attention scores and mixing at mean length ``L``."""
    d, layers, ff = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    weights = layers * (4 * d * d + 2 * d * ff)
    attention = layers * 2 * mean_tokens * d  # QK^T and AV, per token
    return 2 * (weights + attention)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def stsb_spearman(system: str, model_dir: str, work: Path) -> float:
    rows = read_tsv(DATA / "stsb" / "test.tsv")
    texts = [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]
    corpus = work / "stsb_test.json"
    corpus.write_text(json.dumps(texts))
    out = work / f"stsb-{system}.json"
    run_worker(system, model_dir, corpus, out, work)
    emb = np.load(out.with_suffix(".npy"))
    n = len(rows)
    return 100 * spearman(cosine_rows(emb[:n], emb[n:]), np.array([float(r["score"]) for r in rows]))


def run_worker(system: str, model_dir: str, corpus: Path, out: Path, work: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        system,
        "--model-dir",
        model_dir,
        "--corpus",
        str(corpus),
        "--result",
        str(out),
        "--work",
        str(work),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return json.loads(out.read_text())


def prepare(work: Path, model_dir: str) -> None:
    """An ONNX export of the same model for sbert-onnx and fastembed (no download anywhere)."""
    from sbert import SentenceTransformer

    SentenceTransformer(model_dir, backend="torch").export(work / "export")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short-limit", type=int, default=None, help="use only the first N short texts")
    parser.add_argument("--long-count", type=int, default=400, help="number of long (200-256 token) texts")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="time every system this many times, alternating the order; "
        "the table shows the median and each round's range of ratios to sentence-transformers",
    )
    parser.add_argument("--worker"), parser.add_argument("--model-dir"), parser.add_argument("--corpus")
    parser.add_argument("--result"), parser.add_argument("--work")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.model_dir, Path(args.corpus), Path(args.result), Path(args.work))
        return

    cpu, rates = machine_summary()  # first: what the figures below depend on
    flops = max(rates.values())

    from sbert._format.hub import embedded_default_model_path
    from sbert._tokens.tokenizer import TextTokenizer

    model_dir = str(embedded_default_model_path())
    tokenizer = TextTokenizer.from_folder(model_dir)
    tokenizer.max_length = 256
    config = json.loads((Path(model_dir) / "config.json").read_text())
    systems = args.systems.split(",")
    work = Path(tempfile.mkdtemp(prefix="sbert-bench-"))
    prepare(work, model_dir)
    corpora = {"short": short_corpus()[: args.short_limit], "long": long_corpus(args.long_count, tokenizer)}
    results: dict = {"cpu": cpu, "gemm_gflops": {k: v / 1e9 for k, v in rates.items()}, "corpora": {}}
    for corpus_name, texts in corpora.items():
        tokens = sum(len(e.ids) for e in tokenizer.encode_texts(texts))
        corpus_file = work / f"{corpus_name}.json"
        corpus_file.write_text(json.dumps(texts))
        fpt = flops_per_token(config, tokens / len(texts))
        print(f"\n{corpus_name} corpus: {len(texts)} texts, {tokens / len(texts):.1f} tokens/text on average")
        print(
            f"{'system':<22}{'texts/s':>9}{'tokens/s':>10}{'x ST':>7}{'peak MB':>9}"
            f"{'x ST mem':>9}{'cos mean':>10}{'cos min':>9}{'MFU %':>8}"
        )
        rows: dict = {}
        for round_ in range(args.rounds):
            # every other round in reverse order, so that a machine slowing down or speeding up over the run
            # does not favour the systems that ran first
            for system in systems if round_ % 2 == 0 else systems[::-1]:
                out = work / f"{corpus_name}-{system}.json"
                result = run_worker(system, model_dir, corpus_file, out, work)
                if system not in rows:
                    rows[system] = result | {"embeddings": np.load(out.with_suffix(".npy")), "rounds": []}
                rows[system]["rounds"].append(result["seconds"])
        for row in rows.values():
            row["seconds"] = float(np.median(row["rounds"]))
        reference = rows.get("sentence-transformers")
        for system in systems:
            row = rows[system]
            rate = len(texts) / row["seconds"]
            row["texts_per_s"], row["tokens_per_s"] = rate, tokens / row["seconds"]
            row["mfu"] = fpt * row["tokens_per_s"] / flops  # model FLOP utilization of the measured GEMM rate
            if reference is not None:
                cos = cosine_rows(row["embeddings"], reference["embeddings"])
                row["cos_mean"], row["cos_min"] = float(cos.mean()), float(cos.min())
                row["speedup"] = rate / (len(texts) / reference["seconds"])
                per_round = np.divide(reference["rounds"], row["rounds"])
                row["speedup_range"] = [float(per_round.min()), float(per_round.max())]
                row["memory_ratio"] = row["peak_mb"] / reference["peak_mb"]
            spread = ""
            if args.rounds > 1 and reference is not None:
                spread = " rounds x{:.2f}-{:.2f}".format(*row["speedup_range"])
            print(
                f"{system:<22}{rate:>9.1f}{row['tokens_per_s']:>10.0f}"
                f"{row.get('speedup', float('nan')):>7.2f}"
                f"{row['peak_mb']:>9.0f}{row.get('memory_ratio', float('nan')):>9.2f}"
                f"{row.get('cos_mean', float('nan')):>10.6f}"
                f"{row.get('cos_min', float('nan')):>9.6f}{100 * row['mfu']:>7.1f}%" + spread
            )
        for row in rows.values():
            del row["embeddings"]
        results["corpora"][corpus_name] = {"texts": len(texts), "tokens": tokens, "systems": rows}
    print("\nSTS Benchmark test Spearman (cosine, x100):")
    results["stsb_spearman"] = {}
    for system in systems:
        results["stsb_spearman"][system] = value = stsb_spearman(system, model_dir, work)
        print(f"  {system:<22}{value:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
