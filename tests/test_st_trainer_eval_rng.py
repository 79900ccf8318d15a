"""Evaluations and the dropout stream, as sentence-transformers 6.3's trainer has them: Hugging Face's
evaluation loop iterates a torch DataLoader, which takes one number from the global generator (an empty
loader where the trainer has only an evaluator), so the dropout masks of the training steps after an
evaluation depend on it. With dropout on and one forward per column, a distillation run (MSELoss on teacher
vectors added with ``datasets.map``) that evaluates between its steps logs the same losses as there."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch

TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "they eat food", "a big tree", "a red car"]
TEXTS += ["the sun is up", "we eat bread", "he is sad", "a small house", "it is sunny", "a woman sings"]


def distill_losses(library: str, folder, out, with_eval_dataset: bool) -> list[float]:
    """The training losses logged at each of 3 steps, evaluating after each."""
    from datasets import Dataset

    st = importlib.import_module(library)
    losses = importlib.import_module(f"{library}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library}.sentence_transformer.evaluation")
    merged_forward = importlib.import_module(f"{library}.base.losses.merged_forward")
    model = st.SentenceTransformer(str(folder), device="cpu")
    teacher = np.random.default_rng(0).normal(size=(len(TEXTS), 32))
    data = Dataset.from_dict({"sentence": TEXTS}).map(
        lambda batch, indices: {"label": teacher[indices].tolist()}, batched=True, with_indices=True
    )
    evaluator = evaluation.EmbeddingSimilarityEvaluator(TEXTS[:3], TEXTS[3:6], [0.1, 0.5, 0.9], name="dev")
    args = st.SentenceTransformerTrainingArguments(
        str(out),
        per_device_train_batch_size=2,
        per_device_eval_batch_size=4,
        max_steps=3,
        learning_rate=1e-2,
        eval_strategy="steps",
        eval_steps=1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=3,
    )
    trainer = st.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data.select(range(6)) if with_eval_dataset else None,
        loss=losses.MSELoss(model),
        evaluator=evaluator,
    )
    with merged_forward.column_merging_disabled():  # one forward per column: the same masks' shapes
        trainer.train()
    return [record["loss"] for record in trainer.state.log_history if "loss" in record]


@pytest.mark.parametrize("with_eval_dataset", [True, False], ids=["eval dataset", "evaluator only"])
def test_dropout_after_evaluations_follows_sentence_transformers(tiny_bert, tmp_path, with_eval_dataset):
    from conftest import classic_pooling, write_st_folder

    assert json.loads((tiny_bert / "config.json").read_text())["hidden_dropout_prob"] > 0
    folder = write_st_folder(tiny_bert, tmp_path / "model", classic_pooling(32, "mean"))
    theirs = distill_losses("sentence_transformers", folder, tmp_path / "st", with_eval_dataset)
    ours = distill_losses("sbert", folder, tmp_path / "sbert", with_eval_dataset)
    assert len(ours) == len(theirs) == 3
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), atol=1e-6, rtol=1e-5)
