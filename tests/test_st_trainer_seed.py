"""Where sentence-transformers 6.3's trainer seeds: Hugging Face's trainer seeds the global generators as it
is made (and again in ``train()`` only to make ``model_init``'s model), not as a run starts. So with dropout
on, whatever draws from them between making the trainer and ``train()`` (an ``evaluate()``, the user's own
``torch.rand``), and a second ``train()``, change the run's dropout masks there; sbert's ST-compatible
trainer logs the same losses."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch

TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "they eat food", "a big tree", "a red car"]


def logged_losses(library: str, folder, out, between: str) -> list[list[float]]:
    """Each run's logged training losses (3 steps), after ``between`` is done to the made trainer."""
    from datasets import Dataset

    st = importlib.import_module(library)
    losses = importlib.import_module(f"{library}.sentence_transformer.losses")
    merged_forward = importlib.import_module(f"{library}.base.losses.merged_forward")
    model = st.SentenceTransformer(str(folder), device="cpu")
    teacher = np.random.default_rng(0).normal(size=(len(TEXTS), 32)).tolist()
    data = Dataset.from_dict({"sentence": TEXTS, "label": teacher})
    args = st.SentenceTransformerTrainingArguments(
        str(out),
        per_device_train_batch_size=2,
        per_device_eval_batch_size=4,
        max_steps=3,
        learning_rate=1e-2,
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
        eval_dataset=data.select(range(4)),
        loss=losses.MSELoss(model),
    )
    runs = []
    with merged_forward.column_merging_disabled():  # one forward per column: the same masks' shapes
        if between == "evaluate":
            trainer.evaluate()
        elif between == "torch.rand":
            torch.rand(3)
        for _ in range(2 if between == "train" else 1):
            trainer.train()
            runs.append([record["loss"] for record in trainer.state.log_history if "loss" in record])
    return runs


@pytest.mark.parametrize("between", ["evaluate", "torch.rand", "train"])
def test_draws_after_making_the_trainer_show_in_the_run_as_in_sentence_transformers(
    tiny_bert, tmp_path, between
):
    from conftest import classic_pooling, write_st_folder

    assert json.loads((tiny_bert / "config.json").read_text())["hidden_dropout_prob"] > 0
    folder = write_st_folder(tiny_bert, tmp_path / "model", classic_pooling(32, "mean"))
    theirs = logged_losses("sentence_transformers", folder, tmp_path / "st", between)
    ours = logged_losses("sbert", folder, tmp_path / "sbert", between)
    assert [len(run) for run in ours] == [len(run) for run in theirs]
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), atol=1e-6, rtol=1e-5)
