"""Encoding on a GPU: sbert against sentence-transformers, same process, same texts, same batch size.

    python bench/bench_gpu.py --minilm DIR [--device cuda] [--rounds 3] [--long-count 2000] [--out r.json]

Two models: all-MiniLM-L6-v2 (``--minilm``, a sentence-transformers folder) and a BERT-base-sized encoder
(12 layers, 768 wide, random weights, MiniLM's tokenizer) built here, the compute of the base-sized models
most users run on a GPU. For each model and corpus (STS Benchmark's unique sentences; texts of 200-256
tokens) every system encodes the whole corpus once per round, rounds alternating the order, after a
warm-up; the table shows the median time and the ratio to sentence-transformers fp32. Half precision is
compared with sentence-transformers' model cast by ``.half()`` / ``.to(torch.bfloat16)``, what its users do.
Quality: cosine of each system's embeddings to sentence-transformers fp32 (min and mean), and for MiniLM the
STS Benchmark test Spearman. Also checked: a cross-encoder's scores against sentence-transformers', and
in-batch-negatives training in fp32, fp16 and bf16 on the device, timed against sentence-transformers'
trainer on the same pairs (each after a warm-up run of the same precision).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_encode import DATA, long_corpus, read_tsv, short_corpus  # the same corpora as the CPU bench

BATCH = 32
BASE_SHAPE = {
    "num_hidden_layers": 12,
    "hidden_size": 768,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
}
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


def build_base_model(minilm: Path, out: Path) -> Path:
    """A sentence-transformers folder: random BERT-base weights, MiniLM's tokenizer, mean pooling."""
    from transformers import BertConfig, BertModel

    config = BertConfig.from_pretrained(minilm)
    for name, value in BASE_SHAPE.items():
        setattr(config, name, value)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(out, safe_serialization=True)
    for name in (*TOKENIZER_FILES, "modules.json", "config_sentence_transformers.json"):
        if (minilm / name).exists():
            shutil.copy(minilm / name, out / name)
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 256, "do_lower_case": False})
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    pooling = json.loads((minilm / "1_Pooling" / "config.json").read_text())
    (out / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "word_embedding_dimension": 768}))
    return out


def systems(folder: Path, device: str) -> dict:
    """Name -> encode(texts) for every system compared."""
    import sentence_transformers

    import sbert

    def st(dtype):
        model = sentence_transformers.SentenceTransformer(str(folder), device=device).to(dtype)
        return lambda texts: model.encode(texts, batch_size=BATCH, show_progress_bar=False)

    def ours(**options):
        model = sbert.SentenceTransformer(str(folder), **options)
        return lambda texts: model.encode(texts, batch_size=BATCH, show_progress_bar=False)

    def padding_free(encode):
        # the padding-free forward runs on CPUs only (padded measured faster on a GPU in fp32); half
        # precision is measured both ways, the device types widened for these calls alone
        def run(texts):
            from sbert._modules import padding_free as module

            types = module.PADDING_FREE_DEVICE_TYPES
            module.PADDING_FREE_DEVICE_TYPES = types | {torch.device(device).type}
            try:
                return encode(texts)
            finally:
                module.PADDING_FREE_DEVICE_TYPES = types

        return run

    default = sbert.SentenceTransformer(str(folder))  # no flags: what a user gets on this machine
    padded = sbert.SentenceTransformer(str(folder), device=device)
    padded[0].padding_free = False
    print(f"  sbert default: backend={default.backend} device={default.device} precision={default.precision}")
    return {
        "st fp32": st(torch.float32),
        "sbert default": lambda texts: default.encode(texts, batch_size=BATCH, show_progress_bar=False),
        "sbert fp32 padded": lambda texts: padded.encode(texts, batch_size=BATCH, show_progress_bar=False),
        "st fp16": st(torch.float16),
        "sbert fp16": ours(device=device, precision="fp16"),
        "sbert fp16 padding-free": padding_free(ours(device=device, precision="fp16")),
        "st bf16": st(torch.bfloat16),
        "sbert bf16": ours(device=device, precision="bf16"),
        "sbert bf16 padding-free": padding_free(ours(device=device, precision="bf16")),
    }


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench(encoders: dict, texts: list[str], rounds: int, device: str) -> dict:
    times: dict[str, list[float]] = {name: [] for name in encoders}
    outputs = {}
    for encode in encoders.values():
        encode(texts[:256])  # warm-up: kernels chosen, memory pooled
    for r in range(rounds):
        order = list(encoders) if r % 2 == 0 else list(reversed(encoders))
        for name in order:
            sync(device)
            start = time.perf_counter()
            outputs[name] = np.asarray(encoders[name](texts), dtype=np.float32)
            sync(device)
            times[name].append(time.perf_counter() - start)
    reference = outputs["st fp32"]
    table = {}
    for name in encoders:
        seconds = statistics.median(times[name])
        cos = cosine_rows(outputs[name], reference)
        table[name] = {
            "seconds": seconds,
            "texts_per_s": len(texts) / seconds,
            "ratio": statistics.median(times["st fp32"]) / seconds,
            "min_cos": float(cos.min()),
            "mean_cos": float(cos.mean()),
        }
    return {"table": table, "outputs": outputs}


def stsb_spearman(outputs: dict, texts: list[str]) -> dict[str, float]:
    from scipy.stats import spearmanr

    index = {text: i for i, text in enumerate(texts)}
    rows = read_tsv(DATA / "stsb" / "test.tsv")
    left = [index[r["sentence1"]] for r in rows]
    right = [index[r["sentence2"]] for r in rows]
    gold = np.array([float(r["score"]) for r in rows])
    return {
        name: 100 * float(spearmanr(cosine_rows(emb[left], emb[right]), gold).statistic)
        for name, emb in outputs.items()
    }


def print_table(title: str, table: dict) -> None:
    print(f"\n{title}")
    print("| system | texts/s | x st fp32 | min cos to st fp32 | mean cos |")
    print("|---|---:|---:|---:|---:|")
    for name, row in table.items():
        print(
            f"| {name} | {row['texts_per_s']:,.0f} | {row['ratio']:.2f}x | {row['min_cos']:.6f} "
            f"| {row['mean_cos']:.6f} |"
        )


def check_cross_encoder(folder: Path, device: str) -> dict:
    """A cross-encoder (the base encoder + a new head, saved by sentence-transformers) scored by both."""
    import sentence_transformers

    import sbert

    pairs = [(q, d) for q in ("a cat sits", "stock prices fell") for d in short_corpus()[:200]]
    with tempfile.TemporaryDirectory() as tmp:
        reference = sentence_transformers.CrossEncoder(str(folder), num_labels=1, device=device)
        reference.save(tmp)
        theirs = reference.predict(pairs, batch_size=BATCH, show_progress_bar=False)
        ours = sbert.CrossEncoder(tmp, device=device).predict(
            pairs, batch_size=BATCH, show_progress_bar=False
        )
    return {"max_abs_diff": float(np.abs(np.asarray(ours) - np.asarray(theirs)).max()), "pairs": len(pairs)}


def training_pairs(steps: int) -> list[tuple[str, str]]:
    corpus = short_corpus()
    return [(corpus[i], corpus[i + 1]) for i in range(0, 2 * steps * BATCH, 2)]


def train_sbert(folder: Path, device: str, precision: str, steps: int) -> dict:
    """In-batch-negatives steps with sbert's Trainer; the whole ``train()`` call is timed."""
    import sbert

    corpus = short_corpus()
    model = sbert.SentenceTransformer(str(folder), device=device, backend="torch")
    before = model.encode(corpus[:8], show_progress_bar=False)
    with tempfile.TemporaryDirectory() as tmp:
        args = sbert.TrainingArguments(
            output_dir=tmp,
            batch_size=BATCH,
            learning_rate=2e-5,
            precision=precision,
            logging_steps=5,
            show_progress_bar=False,
            plot=False,
            save_final_model=False,
        )
        clock = StepClock(device)
        trainer = sbert.Trainer(
            model,
            sbert.load_dataset(training_pairs(steps)),
            sbert.MultipleNegativesRankingLoss(model),
            args=args,
            callbacks=[clock],
        )
        sync(device)
        start = time.perf_counter()
        clock.last = start
        out = trainer.train()
        sync(device)
        seconds = time.perf_counter() - start
        records = [json.loads(line) for line in (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
        losses = [r["loss"] for r in records if "loss" in r]
    after = model.encode(corpus[:8], show_progress_bar=False)
    return {
        "steps": out.global_step,
        "seconds": seconds,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "finite": bool(np.isfinite(out.training_loss)),
        "weights_moved": bool(not np.allclose(before, after)),
        # where a run's time goes: before the first step ends, the first steps, a typical step
        "first_step_seconds": clock.times[0] if clock.times else None,
        "second_third_step_seconds": clock.times[1:3],
        "median_step_seconds": statistics.median(clock.times) if clock.times else None,
    }


class StepClock:
    """An sbert trainer callback: the seconds up to the end of each optimizer step (the device synced),
    so a per-run cost (the first step) is told apart from the per-step one."""

    def __init__(self, device: str) -> None:
        self.device, self.times, self.last = device, [], time.perf_counter()

    def on_step(self, trainer: Any, step: int, logs: dict) -> None:
        sync(self.device)
        now = time.perf_counter()
        self.times.append(now - self.last)
        self.last = now


def train_st(folder: Path, device: str, precision: str, steps: int) -> dict:
    """The same steps with sentence-transformers' trainer (its fp16/bf16 flags: torch autocast)."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    pairs = training_pairs(steps)
    model = SentenceTransformer(str(folder), device=device)
    dataset = Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [b for _, b in pairs]})
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=BATCH,
            learning_rate=2e-5,
            warmup_ratio=0.1,
            num_train_epochs=1,
            fp16=precision == "fp16",
            bf16=precision == "bf16",
            logging_steps=5,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
        )
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=dataset, loss=losses.MultipleNegativesRankingLoss(model)
        )
        sync(device)
        start = time.perf_counter()
        out = trainer.train()
        sync(device)
        seconds = time.perf_counter() - start
    losses_logged = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    return {
        "steps": out.global_step,
        "seconds": seconds,
        "first_loss": losses_logged[0] if losses_logged else None,
        "last_loss": losses_logged[-1] if losses_logged else None,
        "finite": bool(np.isfinite(out.training_loss)),
    }


def check_training(folder: Path, device: str, precision: str, steps: int = 60) -> dict:
    """sbert's and sentence-transformers' trainers on the same pairs, each after a short warm-up run
    of the same precision (so kernel loading is not timed): seconds, loss falling and finite."""
    result = {}
    for name, train in (("sbert", train_sbert), ("st", train_st)):
        try:
            warm = train(folder, device, precision, 5)
            result[name] = {**train(folder, device, precision, steps), "warm_up_seconds": warm["seconds"]}
        except Exception as error:  # one library failing must not hide the other's numbers
            result[name] = {"error": f"{type(error).__name__}: {error}"}
    if "seconds" in result["sbert"] and "seconds" in result["st"]:
        result["sbert_speedup"] = result["st"]["seconds"] / result["sbert"]["seconds"]
    return result


def save(results: dict, out: str | None) -> None:
    if out:
        Path(out).write_text(json.dumps(results, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minilm", required=True, help="all-MiniLM-L6-v2 as a sentence-transformers folder")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short-limit", type=int, default=None)
    parser.add_argument("--long-count", type=int, default=2000)
    parser.add_argument("--skip-checks", action="store_true", help="only the encoding tables")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    from sbert._tokens.tokenizer import TextTokenizer

    minilm = Path(args.minilm)
    if args.device.startswith("cuda"):
        print(
            f"device: {torch.cuda.get_device_name()} | torch {torch.__version__} | CUDA {torch.version.cuda}"
        )
    import sentence_transformers
    import transformers

    print(
        f"sentence-transformers {sentence_transformers.__version__} | transformers {transformers.__version__}"
    )
    short = short_corpus()[: args.short_limit]
    long = long_corpus(args.long_count, TextTokenizer.from_folder(minilm))
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            "all-MiniLM-L6-v2": minilm,
            "BERT-base (random)": build_base_model(minilm, Path(tmp) / "base"),
        }
        for model_name, folder in folders.items():
            print(f"\n## {model_name}")
            encoders = systems(folder, args.device)
            for corpus_name, texts in (("short", short), ("long", long)):
                run = bench(encoders, texts, args.rounds, args.device)
                title = (
                    f"{model_name}, {corpus_name}: {len(texts)} texts, batch {BATCH}, {args.rounds} rounds"
                )
                print_table(title, run["table"])
                results[f"{model_name} {corpus_name}"] = run["table"]
                save(results, args.out)  # each table kept as it ends, should a time limit stop the run
                if model_name == "all-MiniLM-L6-v2" and corpus_name == "short" and args.short_limit is None:
                    spearman = stsb_spearman(run["outputs"], texts)
                    print("STSb test Spearman: " + ", ".join(f"{k} {v:.2f}" for k, v in spearman.items()))
                    results["stsb_spearman"] = spearman
            del encoders
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
        if not args.skip_checks:
            results["cross_encoder"] = check_cross_encoder(folders["BERT-base (random)"], args.device)
            print(f"\ncross-encoder scores vs sentence-transformers: {results['cross_encoder']}")
            for precision in ("fp32", "fp16", "bf16") if args.device.startswith("cuda") else ("fp32",):
                results[f"train {precision}"] = check_training(minilm, args.device, precision)
                print(f"training {precision}: {results[f'train {precision}']}")
                save(results, args.out)
    save(results, args.out)


if __name__ == "__main__":
    main()
