"""Encoder families the graph builder does not write: sentence-transformers, sbert's default, sbert's ONNX.

    python bench/bench_families.py [--texts N] [--rounds N] [--families modernbert,t5,...]

For each family a random model of MiniLM's size (6 layers, hidden 384, 6 heads, feed-forward 1536; BERT's
WordPiece tokenizer of the embedded default model) is saved as a sentence-transformers folder by
sentence-transformers itself, then encoded by sentence-transformers, by sbert with no flags (``auto``: torch
for these families) and by sbert's ``backend="onnx"`` (a torch trace, made on first load and cached), in
one process, after a warm-up pass over the texts, in rounds of alternating order; the table gives each
system's median texts/s, its ratio to sentence-transformers' and its lowest cosine to sentence-transformers'
vectors, and the first load's time (the trace) against a cached load. Random weights: the speed is the
architecture's, not a trained model's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_encode import machine_summary, short_corpus

FAMILIES = ("modernbert", "t5", "qwen3", "gemma3", "deberta-v2")
SIZE = {"hidden": 384, "layers": 6, "heads": 6, "ffn": 1536}


def build(family: str, folder: Path) -> Path:
    """A random ``family`` model of MiniLM's size as a sentence-transformers folder, written by it."""
    import torch
    import transformers as tf
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules

    from sbert._format.hub import embedded_default_model_path

    tokenizer = tf.AutoTokenizer.from_pretrained(embedded_default_model_path())
    h, n, heads, ffn = SIZE["hidden"], SIZE["layers"], SIZE["heads"], SIZE["ffn"]
    common = {"vocab_size": tokenizer.vocab_size, "pad_token_id": 0}
    decoder = {
        "hidden_size": h,
        "intermediate_size": ffn,
        "num_hidden_layers": n,
        "num_attention_heads": heads,
    }
    decoder |= {"num_key_value_heads": 2, "head_dim": h // heads}
    configs = {
        "modernbert": lambda: tf.ModernBertModel(
            tf.ModernBertConfig(**common, hidden_size=h, intermediate_size=ffn, num_hidden_layers=n,
                                num_attention_heads=heads, cls_token_id=101, sep_token_id=102,
                                bos_token_id=101, eos_token_id=102)),
        "t5": lambda: tf.T5EncoderModel(
            tf.T5Config(**common, d_model=h, d_kv=h // heads, d_ff=ffn, num_layers=n, num_heads=heads,
                        decoder_start_token_id=0)),
        "qwen3": lambda: tf.Qwen3Model(tf.Qwen3Config(**common, **decoder)),
        "gemma3": lambda: tf.Gemma3TextModel(
            tf.Gemma3TextConfig(**common, **decoder, sliding_window=128, use_bidirectional_attention=True)),
        "deberta-v2": lambda: tf.DebertaV2Model(
            tf.DebertaV2Config(vocab_size=tokenizer.vocab_size, hidden_size=h, num_hidden_layers=n,
                               num_attention_heads=heads, intermediate_size=ffn)),
    }  # fmt: skip
    torch.manual_seed(0)
    configs[family]().eval().save_pretrained(folder / "hf")
    tokenizer.save_pretrained(folder / "hf")
    transformer = modules.Transformer(str(folder / "hf"), max_seq_length=256)
    pooling = "lasttoken" if family == "qwen3" else "mean"
    if family == "qwen3":  # as Qwen3-Embedding pads: the last token of every row is its own
        transformer.tokenizer.padding_side = "left"
    pipeline = [transformer, modules.Pooling(h, pooling), modules.Normalize()]
    SentenceTransformer(modules=pipeline, device="cpu").save(str(folder / "st"))
    return folder / "st"


def timed_load(load):
    start = time.perf_counter()
    model = load()
    return model, time.perf_counter() - start


def run_family(family: str, folder: Path, texts: list[str], rounds: int) -> dict:
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    path = build(family, folder)
    sbert.SentenceTransformer(path, backend="torch")  # the family's modeling code imported before timing
    models = {"sentence-transformers": Reference(str(path), device="cpu")}
    models["sbert default"], _ = timed_load(lambda: sbert.SentenceTransformer(path))
    models["sbert onnx"], trace_s = timed_load(lambda: sbert.SentenceTransformer(path, backend="onnx"))
    _, cached_s = timed_load(lambda: sbert.SentenceTransformer(path, backend="onnx"))
    vectors = {name: model.encode(texts, batch_size=32) for name, model in models.items()}  # warm-up
    speeds: dict[str, list[float]] = {name: [] for name in models}
    for r in range(rounds):
        for name in list(models)[:: 1 if r % 2 == 0 else -1]:
            start = time.perf_counter()
            models[name].encode(texts, batch_size=32)
            speeds[name].append(len(texts) / (time.perf_counter() - start))
    reference = vectors["sentence-transformers"]
    rows = {}
    for name, values in speeds.items():
        cosine = (vectors[name] * reference).sum(1) / (
            np.linalg.norm(vectors[name], axis=1) * np.linalg.norm(reference, axis=1)
        )
        rows[name] = {"texts_per_s": float(np.median(values)), "min_cosine": float(cosine.min())}
    base = rows["sentence-transformers"]["texts_per_s"]
    for row in rows.values():
        row["ratio"] = row["texts_per_s"] / base
    return {
        "rows": rows,
        "backend": models["sbert default"].backend,
        "trace_s": trace_s,
        "cached_s": cached_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=1000, help="STSb sentences encoded per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()
    machine_summary()
    texts = short_corpus()[: args.texts]
    print(f"{len(texts)} STSb sentences, batch 32, {args.rounds} rounds (median)")
    print("| family | sbert default runs | ST texts/s | default x ST | onnx x ST | min cosine default / onnx "
          "| first onnx load (trace) / cached |")  # fmt: skip
    print("|---|---|---:|---:|---:|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for family in args.families.split(","):
            result = run_family(family, Path(work) / family, texts, args.rounds)
            rows = result["rows"]
            default, onnx = rows["sbert default"], rows["sbert onnx"]
            print(
                f"| {family} | {result['backend']} | {rows['sentence-transformers']['texts_per_s']:.0f} "
                f"| {default['ratio']:.2f} | {onnx['ratio']:.2f} "
                f"| {default['min_cosine']:.6f} / {onnx['min_cosine']:.6f} "
                f"| {result['trace_s']:.2f} s / {result['cached_s']:.2f} s |",
                flush=True,
            )


if __name__ == "__main__":
    main()
