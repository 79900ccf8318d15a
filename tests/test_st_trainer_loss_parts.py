"""A loss that returns named parts (a dict) in a multi-dataset run: sentence-transformers 6.3 keeps every part
it has seen in each later training record, ``nan`` where the steps since the last record ran only the other
dataset's loss. ``trainer.state.log_history`` must hold the same keys and values with sbert."""

from __future__ import annotations

import importlib
import math

import torch

import sbert

A = ["a sunny day outside", "the cat sat on the mat", "a man plays guitar", "the dog runs fast"]
B = ["it is sunny", "a cat on a mat", "someone plays music", "a slow dog"]


def parts_history(lib, folder, out):
    from datasets import Dataset

    losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")

    class TwoParts(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model
            self.ranking = losses.MultipleNegativesRankingLoss(model)

        def forward(self, features, labels):
            one = self.ranking(features, labels)
            return {"part_one": one, "part_two": one * 0.5}

    model = lib.SentenceTransformer(str(folder), device="cpu")
    args = lib.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=2,
        num_train_epochs=1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=1,
        multi_dataset_batch_sampler="round_robin",
    )
    trainer = lib.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset={
            "pairs": Dataset.from_dict({"anchor": A, "positive": B}),
            "scored": Dataset.from_dict(
                {"sentence1": A, "sentence2": B[::-1], "score": [0.1, 0.4, 0.6, 0.9]}
            ),
        },
        loss={"pairs": TwoParts(model), "scored": losses.CoSENTLoss(model)},
    )
    trainer.train()
    return [
        {k: v for k, v in record.items() if k.startswith("part_")}
        for record in trainer.state.log_history
        if "loss" in record
    ]


def test_named_loss_parts_stay_in_later_records_as_sentence_transformers(dropout_free_st, tmp_path):
    import sentence_transformers

    theirs = parts_history(sentence_transformers, dropout_free_st, tmp_path / "st")
    ours = parts_history(sbert, dropout_free_st, tmp_path / "sbert")
    assert any(math.isnan(v) for record in theirs for v in record.values())  # the case under test
    assert [sorted(r) for r in ours] == [sorted(r) for r in theirs]
    for mine, their in zip(ours, theirs):
        for key, value in their.items():
            assert (math.isnan(value) and math.isnan(mine[key])) or abs(mine[key] - value) <= 2e-4
