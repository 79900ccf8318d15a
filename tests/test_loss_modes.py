"""What a trainer switches to training mode: the model only, as sentence-transformers' (Hugging Face's)
trainer does. Modules a loss holds besides the model (contrastive tension's copy of the encoder, a user loss's
own parts) keep the mode they had, so a copy made from a freshly loaded model (its encoder in eval mode, as
``from_pretrained`` leaves it) runs without dropout, there as here."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

import sbert

TEXTS = ["the cat sat", "a dog ran far away", "a man plays guitar", "they eat food", "a big tree"]
TEXTS += ["the sun is up", "we eat bread today", "he is sad"]


def _dropout_modes(module_tree: object) -> set[bool]:
    return {m.training for m in module_tree.modules() if isinstance(m, nn.Dropout)}


def _contrastive_tension_run(
    library: str, loss_name: str, folder, out
) -> tuple[list[float], torch.Tensor, set]:
    """Two seeded steps of the trainer with the encoder's dropout on, one forward per column: the logged
    losses, the trained model's weights and the copy's dropout modes seen during the first step."""
    from datasets import Dataset

    st = importlib.import_module(library)
    losses = importlib.import_module(f"{library}.sentence_transformer.losses")
    merged_forward = importlib.import_module(f"{library}.base.losses.merged_forward")
    model = st.SentenceTransformer(str(folder), device="cpu")
    loss = getattr(losses, loss_name)(model)
    columns = {"text": TEXTS} if loss_name.endswith("InBatchNegatives") else {"a": TEXTS, "b": TEXTS[::-1]}
    if loss_name == "ContrastiveTensionLoss":
        columns["label"] = [1, 0, 0, 1, 1, 0, 0, 1]
    modes: list[set[bool]] = []
    loss.register_forward_pre_hook(lambda module, args: modes.append(_dropout_modes(loss.model1)))
    args = st.SentenceTransformerTrainingArguments(
        str(out), per_device_train_batch_size=4, max_steps=2, learning_rate=1e-3, logging_steps=1,
        seed=3, save_strategy="no", report_to="none", disable_tqdm=True,
    )  # fmt: skip
    trainer = st.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict(columns), loss=loss
    )
    with (
        merged_forward.column_merging_disabled()
    ):  # one forward per column, as the copy's own: the same masks
        trainer.train()
    logged = [record["loss"] for record in trainer.state.log_history if "loss" in record]
    weights = torch.cat([p.detach().flatten() for _, p in sorted(model[0].auto_model.named_parameters())])
    return logged, weights, modes[0]


@pytest.mark.parametrize("loss_name", ["ContrastiveTensionLoss", "ContrastiveTensionLossInBatchNegatives"])
def test_contrastive_tension_copy_keeps_its_mode_and_trains_as_sentence_transformers(
    tiny_st_factory, tmp_path, loss_name
):
    from conftest import classic_pooling

    folder = tiny_st_factory(classic_pooling(32, "mean"))  # dropout 0.1 in the encoder's config
    ours = _contrastive_tension_run("sbert", loss_name, folder, tmp_path / "ours")
    theirs = _contrastive_tension_run("sentence_transformers", loss_name, folder, tmp_path / "theirs")
    assert ours[2] == theirs[2] == {False}  # the copy: no dropout during the steps
    assert ours[0] == pytest.approx(theirs[0], rel=1e-4)
    torch.testing.assert_close(ours[1], theirs[1], atol=1e-6, rtol=1e-5)


class _HeldModules(nn.Module):
    """A user's loss holding two modules of its own besides the model: one left in eval mode, one in
    training mode (a new module's)."""

    def __init__(self, model: object) -> None:
        super().__init__()
        self.model = model
        self.frozen = nn.Sequential(nn.Linear(32, 32), nn.Dropout(0.5)).eval()
        self.fresh = nn.Dropout(0.5)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, features: list, labels: torch.Tensor | None) -> torch.Tensor:
        self.seen.append((self.frozen[1].training, self.fresh.training))
        a, b = (self.model(f)["sentence_embedding"] for f in features)
        return (self.fresh(self.frozen(a)) - b).pow(2).mean()


@pytest.mark.parametrize("library", ["sbert", "sentence_transformers"])
def test_trainer_leaves_a_user_losss_own_modules_in_their_mode(tiny_st_factory, tmp_path, library):
    """sentence-transformers' trainer API (both libraries) and sbert's own Trainer: the model trains with
    dropout, the loss's own modules keep their modes."""
    from conftest import classic_pooling
    from datasets import Dataset

    st = importlib.import_module(library)
    model = st.SentenceTransformer(str(tiny_st_factory(classic_pooling(32, "mean"))), device="cpu")
    loss = _HeldModules(model)
    data = Dataset.from_dict({"a": TEXTS[:4], "b": TEXTS[4:]})
    args = st.SentenceTransformerTrainingArguments(
        str(tmp_path / "st"), per_device_train_batch_size=4, max_steps=1, save_strategy="no",
        report_to="none", disable_tqdm=True,
    )  # fmt: skip
    st.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
    if library == "sbert":
        own = sbert.TrainingArguments(output_dir=str(tmp_path / "own"), batch_size=4, max_steps=1)
        sbert.Trainer(model, sbert.load_dataset(list(zip(TEXTS[:4], TEXTS[4:]))), loss, args=own).train()
    assert set(loss.seen) == {(False, True)}
