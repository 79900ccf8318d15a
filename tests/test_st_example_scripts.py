"""Call patterns of sentence-transformers' shipped training examples (examples/*/training/*.py), which users
copy and run with only the import changed: what they do on a CPU and what they log must be the same."""

from __future__ import annotations

import logging

import torch

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _train(library, folder, out, **extra):
    """The examples' recipe: fp16=True (their comment: set it False if the GPU cannot run FP16), steps
    strategies with checkpoints; returns the trained first-layer weights."""
    from datasets import Dataset

    scores = [i / 8 for i in range(8)]
    data = Dataset.from_dict({"sentence1": WORDS[:8], "sentence2": WORDS[4:], "score": scores})
    model = library.SentenceTransformer(str(folder), device="cpu")
    args = library.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        num_train_epochs=2,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        warmup_steps=0.1,
        fp16=True,
        bf16=False,
        save_strategy="steps",
        save_steps=2,
        save_total_limit=1,
        logging_steps=2,
        disable_tqdm=True,
        **extra,
    )
    trainer = library.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=library.losses.CosineSimilarityLoss(model)
    )
    trainer.train()
    return dict(model[0].auto_model.named_parameters())[
        "encoder.layer.0.attention.self.query.weight"
    ].detach()


class _Lib:
    def __init__(self, package: str) -> None:
        import importlib

        self.SentenceTransformer = importlib.import_module(package).SentenceTransformer
        st = importlib.import_module(f"{package}.sentence_transformer")
        self.SentenceTransformerTrainer = st.SentenceTransformerTrainer
        self.SentenceTransformerTrainingArguments = st.SentenceTransformerTrainingArguments
        self.losses = st.losses


def test_example_recipe_fp16_on_the_cpu_trains_and_logs_as_sentence_transformers(
    dropout_free_st, tmp_path, caplog
):
    # Hugging Face's trainer (accelerate) has no fp16 autocast on a CPU: it trains in float32, no error;
    # each checkpoint's "Saving model to" names the checkpoint folder, not a temporary one
    weights, lines = {}, {}
    for name, package in (("st", "sentence_transformers"), ("ours", "sbert")):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            weights[name] = _train(_Lib(package), dropout_free_st, tmp_path / name)
        lines[name] = [
            r.getMessage().replace(str(tmp_path / name), "OUT")
            for r in caplog.records
            if r.getMessage().startswith("Saving model")
        ]
    assert weights["ours"].dtype == weights["st"].dtype == torch.float32
    torch.testing.assert_close(weights["ours"], weights["st"], atol=1e-5, rtol=0)
    assert lines["ours"] == lines["st"]
    assert "Saving model to OUT/checkpoint-2" in lines["ours"]


def test_cross_encoder_on_a_plain_encoder_shows_transformers_load_report_as_sentence_transformers(tiny_bert):
    # the cross-encoder examples start from a base encoder: transformers reports the new head as missing
    import sentence_transformers

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler, hf_logger = Collect(logging.WARNING), logging.getLogger("transformers")
    hf_logger.addHandler(handler)
    reports = {}
    try:
        for name, library in (("st", sentence_transformers), ("ours", __import__("sbert"))):
            seen = []
            library.CrossEncoder(str(tiny_bert), num_labels=1)
            text = "\n".join(seen)
            assert "LOAD REPORT" in text and "newly initialized" in text, (name, text)
            reports[name] = sorted(x.split("|")[0].strip() for x in text.splitlines() if "MISSING |" in x)
    finally:
        hf_logger.removeHandler(handler)
    assert reports["ours"] == reports["st"] == ["classifier.bias", "classifier.weight"]
