"""A subclass of sentence-transformers' SentenceTransformerTrainer run on both libraries, the same way:
dropout-free tiny model, seed 7, 4 steps of MultipleNegativesRankingLoss, a loss record each step. The
subclass is ``subclass(trainer_class, calls, *extra)``: it records its hook calls in ``calls``. Shared by
the trainer-subclass test modules, which compare the two runs."""

from __future__ import annotations

import os

import pytest
import torch

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]
SETTINGS = {
    "max_steps": 4, "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1,
    "save_strategy": "no", "disable_tqdm": True, "seed": 7, "report_to": "none",
}  # fmt: skip


def recorded(value):
    """A feature or label as a trainer hands it to its loss: type, dtype and values (lists item by item)."""
    if torch.is_tensor(value):
        return (type(value).__name__, str(value.dtype), value.tolist())
    if isinstance(value, list):
        return ("list", [recorded(item) for item in value])
    return (type(value).__name__, value)


class RecordingLoss(torch.nn.Module):
    """A loss that records, batch by batch, the features (per column) and labels a trainer hands it in
    ``seen``, and returns a loss the model can take a step on."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.seen = []

    def forward(self, features, labels):
        self.seen.append(([{k: recorded(v) for k, v in f.items()} for f in features], recorded(labels)))
        return sum(self.model(f)["sentence_embedding"].pow(2).mean() for f in features)


def library(name: str):
    """``"st"``: sentence-transformers and its losses module; else sbert's."""
    if name == "st":
        import sentence_transformers as module
        from sentence_transformers.sentence_transformer import losses
    else:
        import sbert as module
        from sbert.sentence_transformer import losses
    return module, losses


def kind(value) -> str:
    """What a hook got, by kind: a tensor, a dict's sorted keys, None, a type name."""
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    if isinstance(value, dict):
        return "dict:" + ",".join(sorted(k for k in value if not k.endswith("modality")))
    return "None" if value is None else type(value).__name__


def train(name, folder, out, subclass, *, data, evaluation=None, pass_losses=False, **options) -> dict:
    """The run of ``subclass``'s trainer on ``data`` (and ``evaluation``, a dict of columns): its hook calls,
    the losses, eval losses and epochs logged, the final weights and the checkpoint folders."""
    from datasets import Dataset

    module, losses = library(name)
    calls: list = []
    trainer_class = subclass(module.SentenceTransformerTrainer, calls, *((losses,) if pass_losses else ()))
    model = module.SentenceTransformer(str(folder), device="cpu")
    args = module.SentenceTransformerTrainingArguments(str(out), **{**SETTINGS, **options})
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(data),
        eval_dataset=None if evaluation is None else Dataset.from_dict(evaluation),
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    trainer.train()
    history = trainer.state.log_history
    return {
        "calls": calls,
        "losses": [r["loss"] for r in history if "loss" in r],
        "eval_losses": [r["eval_loss"] for r in history if "eval_loss" in r],
        "epochs": [r["epoch"] for r in history if "loss" in r],
        "weights": {n: p.detach().clone() for n, p in model[0].auto_model.named_parameters()},
        "checkpoints": sorted(p for p in os.listdir(out) if p.startswith("checkpoint-")),
    }


def assert_same_training(ours: dict, theirs: dict) -> None:
    """Four loss records each, and the same losses, eval losses, epochs, weights and checkpoints."""
    assert len(ours["losses"]) == len(theirs["losses"]) == 4
    assert ours["losses"] == pytest.approx(theirs["losses"], abs=1e-5)
    assert ours["eval_losses"] == pytest.approx(theirs["eval_losses"], abs=1e-5)
    assert ours["epochs"] == pytest.approx(theirs["epochs"], abs=1e-9)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)
    assert ours["checkpoints"] == theirs["checkpoints"]


def compare(subclass, folder, tmp_path, **run) -> tuple[dict, dict]:
    """Both runs of ``subclass`` (``run``: :func:`train`'s keywords), asserted to call the same hooks (some)
    and train the same; sbert's run and sentence-transformers'."""
    theirs = train("st", folder, tmp_path / "st", subclass, **run)
    ours = train("sbert", folder, tmp_path / "ours", subclass, **run)
    assert theirs["calls"]
    assert ours["calls"] == theirs["calls"]
    assert_same_training(ours, theirs)
    return ours, theirs
