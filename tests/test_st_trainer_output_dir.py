"""What the sentence-transformers-style trainer leaves in ``output_dir``: the files that
sentence-transformers 6.3's trainer writes there, plus sbert's ``metrics.jsonl`` (its log, which the run reads
back for ``state`` and a resume continues), and no ``eval_results.json`` of its own: that name is Hugging
Face's ``save_metrics``'."""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import sentence_transformers
from datasets import Dataset

import sbert.sentence_transformer as sbert_st

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
KEPT = {"metrics.jsonl"}  # sbert's run log: needed by the run itself (state.log_history, resume)


def _train(pkg, bert: Path, out: Path):
    losses = pkg.losses
    evaluation = importlib.import_module(pkg.__name__ + ".evaluation")
    scores = [0.1, 0.9, 0.4, 0.5, 0.2, 0.7]
    model = pkg.SentenceTransformer(str(bert), device="cpu")
    args = pkg.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        max_steps=2,
        per_device_train_batch_size=4,
        eval_strategy="steps",
        eval_steps=1,
        save_strategy="steps",
        save_steps=1,
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = pkg.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[2:10]}),
        loss=losses.MultipleNegativesRankingLoss(model),
        evaluator=evaluation.EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:], scores),
    )
    trainer.save_metrics("eval", {"eval_loss": 0.5})  # a user's file, by Hugging Face's name for it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return {p.name for p in out.iterdir()}


def test_output_dir_holds_what_sentence_transformers_writes(tiny_bert, tmp_path):
    theirs = _train(sentence_transformers.sentence_transformer, tiny_bert, tmp_path / "theirs")
    ours = _train(sbert_st, tiny_bert, tmp_path / "ours")
    assert ours - KEPT == theirs
    assert json.loads((tmp_path / "ours" / "eval_results.json").read_text()) == {"eval_loss": 0.5}
