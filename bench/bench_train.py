"""Training benchmark: sbert's Trainer next to sentence-transformers' own trainer, same recipe, same run.

    python bench/bench_train.py --recipe sts [--out results.json]
    python bench/bench_train.py --recipe nli [--limit N]
    python bench/bench_train.py --recipe cross [--limit N]
    python bench/bench_train.py --recipe retrieval [--limit N]

Recipes (issue #5):
  sts  the default model (all-MiniLM-L6-v2) fine-tuned on STSb train with CosineSimilarityLoss (scores / 5),
       batch 16, lr 2e-5, 10 % linear warm-up, 1 epoch, seed 0; STSb test Spearman (cosine, x100) after.
  nli  the default model's encoder with CLS pooling, max_seq_length 128, SoftmaxLoss (u, v, |u-v|) on the NLI
       files except snli_test.tsv (mnli train/dev subsets + snli dev, ~19.9k pairs), same hyper-parameters;
       STSb test Spearman before and after, and the classifier's accuracy on snli_test.tsv.
  cross  a CrossEncoder made of the default model's encoder and a new one-label head (built once, seed 0, so
       both trainers start from the same weights), trained on STSb train pairs with BinaryCrossEntropyLoss on
       scores / 5, same hyper-parameters; STSb test Spearman (x100) of the predicted scores after (issue #16).
  retrieval  the default model, SciFact training queries with mined hard negatives, cached MNRL at batch 64
       with no-duplicates batches; NDCG@10 on NFCorpus dev and held-back SciFact queries (issue #18; the
       details are in bench/retrieval_recipe.py).

Each trainer runs in its own fresh process (``--system``), one after the other; the wall time is the
training call alone (no model loading, no evaluation). Both models are scored by the same sbert evaluator.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
NLI_FILES = ("mnli_train_subset_taxinli.tsv", "mnli_dev_subset_taxinli.tsv", "snli_dev.tsv")
LABELS = ("contradiction", "entailment", "neutral")
# weight_decay 0.0: sentence-transformers' trainer default (Hugging Face TrainingArguments); sbert's is 0.01
HYPER = {
    "batch_size": 16,
    "learning_rate": 2e-5,
    "warmup_ratio": 0.1,
    "epochs": 1,
    "seed": 0,
    "weight_decay": 0.0,
}


# sbert's run options in both trainers' benches: no checkpoints, pictures, final model, progress bar or event
# files, so the timing is the training alone
QUIET_RUN = {
    "save_steps": 0,
    "plot": False,
    "save_final_model": False,
    "show_progress_bar": False,
    "logging_steps": 50,
    "report_to": "none",
}


def reference_arguments(cls, out_dir, **overrides):
    """sentence-transformers' training arguments for the shared hyper-parameters (either trainer's class)."""
    return cls(
        output_dir=out_dir,
        per_device_train_batch_size=overrides.pop("batch_size", HYPER["batch_size"]),
        learning_rate=HYPER["learning_rate"],
        warmup_ratio=HYPER["warmup_ratio"],
        num_train_epochs=HYPER["epochs"],
        seed=HYPER["seed"],
        weight_decay=HYPER["weight_decay"],
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        disable_tqdm=True,
        use_cpu=True,
        **overrides,
    )


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def sts_spearman(model) -> float:
    from sbert import EmbeddingSimilarityEvaluator

    rows = read_tsv(DATA / "stsb" / "test.tsv")
    evaluator = EmbeddingSimilarityEvaluator(
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        [float(r["score"]) for r in rows],
        functions=["cosine"],
    )
    return 100 * evaluator(model)["spearman_cosine"]  # points, as docs/benchmarks.md reports them


def nli_rows(limit: int | None) -> list[dict[str, str]]:
    rows = [r for name in NLI_FILES for r in read_tsv(DATA / "nli" / name) if r["label"] in LABELS]
    return rows[:limit] if limit else rows


def classifier_accuracy(model, logits_fn) -> float:
    """Accuracy of the trained SoftmaxLoss classifier on snli_test.tsv."""
    import torch

    rows = [r for r in read_tsv(DATA / "nli" / "snli_test.tsv") if r["label"] in LABELS]
    correct = 0
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            batch = rows[start : start + 64]
            features = [
                model.tokenize([r["sentence1"] for r in batch]),
                model.tokenize([r["sentence2"] for r in batch]),
            ]
            predicted = logits_fn(features).argmax(dim=1)
            correct += int((predicted == torch.tensor([LABELS.index(r["label"]) for r in batch])).sum())
    return 100 * correct / len(rows)


# ------------------------------------------------------------------ one trainer, in its own process


def run_sbert(
    recipe: str, limit: int | None, out_dir: str, precision: str = "fp32", per_column: bool = False
) -> dict:
    import torch

    import sbert

    if per_column:  # control: one forward per text column, as sentence-transformers does (no length groups)
        import sbert._losses.base

        sbert._losses.base._merge = lambda model, features_list: None
    from sbert._format.hub import embedded_default_model_path

    path = embedded_default_model_path()
    args = sbert.TrainingArguments(
        output_dir=out_dir,
        **QUIET_RUN,
        precision=precision,
        **HYPER,
    )
    if recipe == "sts":
        model = sbert.SentenceTransformer(path, backend="torch", device="cpu")
        before = sts_spearman(model)
        train = sbert_stsb_train(limit)
        torch.manual_seed(HYPER["seed"])
        loss = sbert.CosineSimilarityLoss(model)
    else:
        encoder = sbert.Transformer(path, max_seq_length=128)
        model = sbert.SentenceTransformer(modules=[encoder, sbert.Pooling(384, mode="cls")], device="cpu")
        before = sts_spearman(model)
        rows = nli_rows(limit)
        train = sbert.load_dataset(
            rows, columns=["sentence1", "sentence2"], label="label", label_names=LABELS, name="nli"
        )
        torch.manual_seed(HYPER["seed"])
        loss = sbert.SoftmaxLoss(model, num_labels=3)
    start = time.perf_counter()
    out = sbert.Trainer(model, train, loss, args=args).train()
    seconds = time.perf_counter() - start
    system = "sbert" if precision == "fp32" else f"sbert {precision} autocast"
    result = {
        "system": system + (" (one forward per column)" if per_column else ""),
        "seconds": seconds,
        "steps": out.global_step,
        "stsb_before": before,
        "stsb_after": sts_spearman(model),
        "examples": len(train),
    }
    if recipe == "nli":
        model.eval()
        result["snli_test_accuracy"] = classifier_accuracy(model, loss.logits)
    return result


def run_st(recipe: str, limit: int | None, out_dir: str) -> dict:
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer import losses, modules

    from sbert._format.hub import embedded_default_model_path

    path = str(embedded_default_model_path())
    args = reference_arguments(SentenceTransformerTrainingArguments, out_dir)
    if recipe == "sts":
        model = SentenceTransformer(path, device="cpu")
        before = sts_spearman(model)
        rows = read_tsv(DATA / "stsb" / "train.tsv")[:limit]
        train = Dataset.from_dict(
            {
                "sentence1": [r["sentence1"] for r in rows],
                "sentence2": [r["sentence2"] for r in rows],
                "score": [float(r["score"]) / 5 for r in rows],
            }
        )
        torch.manual_seed(HYPER["seed"])
        loss = losses.CosineSimilarityLoss(model)
    else:
        encoder = modules.Transformer(path, max_seq_length=128)
        model = SentenceTransformer(modules=[encoder, modules.Pooling(384, pooling_mode="cls")], device="cpu")
        before = sts_spearman(model)
        rows = nli_rows(limit)
        train = Dataset.from_dict(
            {
                "sentence1": [r["sentence1"] for r in rows],
                "sentence2": [r["sentence2"] for r in rows],
                "label": [LABELS.index(r["label"]) for r in rows],
            }
        )
        torch.manual_seed(HYPER["seed"])
        loss = losses.SoftmaxLoss(model, 384, num_labels=3)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=loss)
    start = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - start
    result = {
        "system": "sentence-transformers",
        "seconds": seconds,
        "steps": out.global_step,
        "stsb_before": before,
        "stsb_after": sts_spearman(model),
        "examples": len(train),
    }
    if recipe == "nli":
        model.eval()
        result["snli_test_accuracy"] = classifier_accuracy(model, lambda f: loss(f, None)[1])
    return result


def stsb_pairs(split: str, limit: int | None = None) -> tuple[list[tuple[str, str]], list[float]]:
    rows = read_tsv(DATA / "stsb" / f"{split}.tsv")[:limit]
    return [(r["sentence1"], r["sentence2"]) for r in rows], [float(r["score"]) for r in rows]


def cross_spearman(model) -> float:
    """STSb test Spearman (x100) of a cross-encoder's scores (sbert's or sentence-transformers')."""
    from sbert.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

    results = CrossEncoderCorrelationEvaluator(*stsb_pairs("test"), batch_size=64)(model)
    return 100 * next(v for k, v in results.items() if k.endswith("spearman"))  # points


def cross_start(folder: Path) -> None:
    """The shared starting point: the default model's encoder with a new one-label head, seed 0."""
    import torch

    import sbert
    from sbert._format.hub import embedded_default_model_path

    torch.manual_seed(0)
    sbert.CrossEncoder(embedded_default_model_path(), num_labels=1, backend="torch").save(folder)


def sbert_stsb_train(limit: int | None):
    """STSb train as sbert reads it for both STSb recipes: (sentence1, sentence2), scores scaled to [0, 1]."""
    import sbert

    return sbert.load_dataset(
        DATA / "stsb" / "train.tsv",
        columns=["sentence1", "sentence2"],
        label="score",
        score_range=(0, 5),
        limit=limit,
    )


def run_sbert_cross(limit: int | None, out_dir: str, start: str) -> dict:
    import sbert
    from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sbert.cross_encoder.losses import BinaryCrossEntropyLoss

    model = sbert.CrossEncoder(start, backend="torch", device="cpu")
    train = sbert_stsb_train(limit)
    args = CrossEncoderTrainingArguments(
        output_dir=out_dir,
        **QUIET_RUN,
        **HYPER,
    )
    trainer = CrossEncoderTrainer(model, train, BinaryCrossEntropyLoss(model), args=args)
    started = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - started
    result = {"system": "sbert", "seconds": seconds, "steps": out.global_step, "examples": len(train)}
    return {**result, "stsb_before": None, "stsb_after": cross_spearman(model)}


def run_st_cross(limit: int | None, out_dir: str, start: str) -> dict:
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    model = CrossEncoder(start, device="cpu")
    pairs, scores = stsb_pairs("train", limit)
    train = Dataset.from_dict(
        {
            "sentence1": [a for a, _ in pairs],
            "sentence2": [b for _, b in pairs],
            "score": [s / 5 for s in scores],
        }
    )
    args = reference_arguments(CrossEncoderTrainingArguments, out_dir)
    trainer = CrossEncoderTrainer(
        model=model, args=args, train_dataset=train, loss=BinaryCrossEntropyLoss(model)
    )
    started = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - started
    result = {"system": "sentence-transformers", "seconds": seconds, "steps": out.global_step}
    return {**result, "examples": len(train), "stsb_before": None, "stsb_after": cross_spearman(model)}


# ------------------------------------------------------------------ orchestration


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", choices=("sts", "nli", "cross", "retrieval"), default="sts")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training examples")
    parser.add_argument(
        "--systems",
        default="sbert,sentence-transformers",
        help="comma-separated, run in this order: sbert, sbert-bf16, sbert-per-column, sentence-transformers",
    )
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument(
        "--seed", type=int, default=HYPER["seed"], help="the recipe's seed (0); others measure the spread"
    )
    parser.add_argument("--system", default=None, help=argparse.SUPPRESS)  # internal: run one trainer
    parser.add_argument("--start", default=None, help=argparse.SUPPRESS)  # internal: the cross recipe's start
    options = parser.parse_args()
    HYPER["seed"] = options.seed
    if options.system:
        with tempfile.TemporaryDirectory() as tmp:
            if options.recipe == "retrieval":
                result = run_retrieval(options.system, Path(options.start), tmp)
            elif options.recipe == "cross":
                run = run_st_cross if options.system == "sentence-transformers" else run_sbert_cross
                result = run(options.limit, tmp, options.start)
            elif options.system == "sentence-transformers":
                result = run_st(options.recipe, options.limit, tmp)
            else:  # sbert, sbert-bf16 or sbert-per-column
                result = run_sbert(
                    options.recipe,
                    options.limit,
                    tmp,
                    "bf16" if options.system == "sbert-bf16" else "fp32",
                    per_column=options.system == "sbert-per-column",
                )
            print(json.dumps(result))
        return
    if options.recipe == "retrieval":
        return main_retrieval(options)
    with tempfile.TemporaryDirectory() as start:
        if options.recipe == "cross":
            cross_start(Path(start) / "start")
        results = [
            run_system(system, options, Path(start) / "start") for system in options.systems.split(",")
        ]
    print(
        f"\nrecipe {options.recipe}, seed {options.seed}, "
        f"{results[0]['examples']} training examples, {results[0]['steps']} steps"
    )
    print("| trainer | wall time (s) | STSb test before | STSb test after | SNLI test accuracy |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        accuracy = f"{r['snli_test_accuracy']:.2f}" if "snli_test_accuracy" in r else "-"
        before = "-" if r["stsb_before"] is None else f"{r['stsb_before']:.2f}"
        print(f"| {r['system']} | {r['seconds']:.1f} | {before} | {r['stsb_after']:.2f} | {accuracy} |")
    if options.out:
        Path(options.out).write_text(json.dumps(results, indent=2))


def run_retrieval(system: str, start: Path, out_dir: str) -> dict:
    import retrieval_recipe

    if system == "sentence-transformers":
        from sentence_transformers import SentenceTransformerTrainingArguments
        from sentence_transformers.training_args import BatchSamplers

        def arguments(out):
            return reference_arguments(
                SentenceTransformerTrainingArguments,
                out,
                batch_size=retrieval_recipe.BATCH,
                batch_sampler=BatchSamplers.NO_DUPLICATES,
            )

        return retrieval_recipe.run_st(start, out_dir, arguments)
    return retrieval_recipe.run_sbert(start, out_dir, HYPER, QUIET_RUN)


def main_retrieval(options: argparse.Namespace) -> None:
    """Mine once, train each system in its own process, then score every model with sbert's evaluator."""
    import retrieval_recipe

    with tempfile.TemporaryDirectory() as tmp:
        start = Path(tmp) / "start"
        rows = retrieval_recipe.prepare(start, DATA, options.limit)
        print(f"{rows} training rows mined", flush=True)
        before = retrieval_recipe.scores(None, DATA, options.limit)
        print(json.dumps({"before": before}), flush=True)
        results = []
        for system in options.systems.split(","):
            result = run_system(system, options, start)
            result.update(retrieval_recipe.scores(str(start / result["system"]), DATA, options.limit))
            print(json.dumps(result), flush=True)
            results.append(result)
    print(retrieval_recipe.report(results, before))
    retrieval_recipe.dump(results, before, options.out)


def run_system(system: str, options: argparse.Namespace, start: Path) -> dict:
    """One trainer in its own fresh process; its result line."""
    command = [sys.executable, __file__, "--recipe", options.recipe, "--system", system]
    if options.limit:
        command += ["--limit", str(options.limit)]
    command += ["--seed", str(options.seed), "--start", str(start)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{system} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
