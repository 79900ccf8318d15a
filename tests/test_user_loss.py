"""A loss the user wrote as sentence-transformers' documentation teaches (a ``torch.nn.Module`` with
``forward(sentence_features, labels)``; a cross-encoder's gets the text columns) trains in sbert's trainers
as in sentence-transformers': the same weights, its own parameters trained, its name in the model card."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert, build_tiny_classifier, classic_pooling, without_dropout, write_st_folder
from torch import nn

import sbert
from sbert import InputError

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


class InBatchLoss(nn.Module):
    """In-batch negatives over cosine scores, with a learned temperature (a parameter of the loss)."""

    def __init__(self, model, util):
        super().__init__()
        self.model, self.util = model, util
        self.log_scale = nn.Parameter(torch.tensor(3.0))
        self.cross_entropy = nn.CrossEntropyLoss()

    def forward(self, sentence_features, labels):
        anchors, positives = (self.model(f)["sentence_embedding"] for f in sentence_features)
        scores = self.util.cos_sim(anchors, positives) * self.log_scale.exp()
        return self.cross_entropy(scores, torch.arange(len(scores), device=scores.device))

    def get_config_dict(self):
        return {"start_scale": 20.0}


class PairBCELoss(nn.Module):
    """A cross-encoder loss in sentence-transformers 6's style: preprocess the pairs, read "scores"."""

    def __init__(self, model, batch_to_device):
        super().__init__()
        self.model, self.batch_to_device = model, batch_to_device
        self.bce = nn.BCEWithLogitsLoss()

    def forward(self, inputs, labels):
        features = self.batch_to_device(
            self.model.preprocess(list(zip(inputs[0], inputs[1]))), self.model.device
        )
        return self.bce(self.model(features)["scores"].view(-1), labels.float())


def train_bi_encoder(library, path, out):
    from datasets import Dataset

    model = library.SentenceTransformer(str(path), device="cpu")
    loss = InBatchLoss(model, library.util)
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]})
    args = library.SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=4, learning_rate=1e-3, seed=3, report_to="none",
        save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    library.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
    return model.encode(WORDS, convert_to_numpy=True), float(loss.log_scale.detach())


def test_a_users_nn_module_loss_trains_as_in_sentence_transformers(tmp_path):
    import sentence_transformers

    folder = write_st_folder(
        without_dropout(build_tiny_bert(tmp_path / "bert")), tmp_path / "st", classic_pooling(32, "mean")
    )
    ours, our_scale = train_bi_encoder(sbert, folder, tmp_path / "ours")
    theirs, their_scale = train_bi_encoder(sentence_transformers, folder, tmp_path / "theirs")
    before = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(WORDS)
    assert np.abs(theirs - before).max() > 1e-3  # the model trained
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert our_scale != 3.0 and abs(our_scale - their_scale) < 1e-5  # the loss's own parameter trained too


# every size and layer each step: sentence-transformers' trainer draws from Python's random numbers for the
# model card's examples before training, so a random choice of sizes or layers would differ from sbert's;
# Matryoshka2dLoss is AdaptiveLayerLoss around MatryoshkaLoss, so it runs both wrappers' paths
WRAPPERS = {
    "matryoshka": lambda losses, model, inner: losses.MatryoshkaLoss(model, inner, [32, 16, 8]),
    "matryoshka-2d": lambda losses, model, inner: losses.Matryoshka2dLoss(
        model, inner, [32, 16, 8], n_layers_per_step=-1, n_dims_per_step=-1
    ),
}


@pytest.mark.parametrize("wrapper", list(WRAPPERS))
def test_a_users_loss_inside_matryoshka_and_adaptive_layer_losses_trains_as_in_sentence_transformers(
    dropout_free_st, tmp_path, wrapper
):
    """The wrappers shape what ``model(features)`` returns to the user's loss (truncated embeddings, an
    earlier layer's), as sentence-transformers' decorate the model's forward: the same losses and weights."""
    import importlib

    import sentence_transformers
    from datasets import Dataset

    runs = []
    for library in (sbert, sentence_transformers):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        inner = InBatchLoss(model, library.util)
        data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]})
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / library.__name__), per_device_train_batch_size=4, num_train_epochs=2,
            learning_rate=1e-3, seed=3, logging_steps=1, report_to="none", save_strategy="no",
            disable_tqdm=True,
        )  # fmt: skip
        loss = WRAPPERS[wrapper](losses, model, inner)
        trainer = library.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
        trainer.train()
        logged = [r["loss"] for r in trainer.state.log_history if "loss" in r]
        runs.append((logged, model.encode(WORDS, convert_to_numpy=True), float(inner.log_scale.detach())))
        assert library is not sbert or "forward" not in vars(model)  # the model's own forward is back
    (our_losses, ours, our_scale), (their_losses, theirs, their_scale) = runs
    assert len(our_losses) == 4
    np.testing.assert_allclose(our_losses, their_losses, atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert our_scale != 3.0 and abs(our_scale - their_scale) < 1e-5  # the user's parameter trained too


def test_sbert_trainer_takes_a_users_loss_and_names_it_in_the_model_card(tmp_path):
    folder = write_st_folder(build_tiny_bert(tmp_path / "bert"), tmp_path / "st", classic_pooling(32, "mean"))
    model = sbert.SentenceTransformer(str(folder), backend="torch")
    loss = InBatchLoss(model, sbert.util)
    data = sbert.load_dataset([(a, b) for a, b in zip(WORDS[:8], WORDS[4:12])])
    args = sbert.TrainingArguments(
        output_dir=str(tmp_path / "run"),
        batch_size=4,
        learning_rate=1e-2,
        plot=False,
        show_progress_bar=False,
    )
    sbert.Trainer(model, data, loss, args=args).train()
    assert float(loss.log_scale.detach()) != 3.0
    card = (tmp_path / "run" / "final" / "README.md").read_text()
    assert "InBatchLoss(start_scale=20.0)" in card


def test_a_users_cross_encoder_loss_trains_as_in_sentence_transformers(tmp_path):
    import sentence_transformers
    from datasets import Dataset

    folder = without_dropout(build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1))
    data = Dataset.from_dict({"query": WORDS[:8], "document": WORDS[4:12], "label": [1.0, 0.0] * 4})
    scores = []
    for library in (sbert, sentence_transformers):
        cross = library.cross_encoder
        model = cross.CrossEncoder(str(folder), device="cpu")
        args = cross.CrossEncoderTrainingArguments(
            output_dir=str(tmp_path / library.__name__), per_device_train_batch_size=4, learning_rate=1e-3,
            seed=3, report_to="none", save_strategy="no", disable_tqdm=True,
        )  # fmt: skip
        loss = PairBCELoss(model, library.util.batch_to_device)
        cross.CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
        scores.append(model.predict(list(zip(WORDS[:6], WORDS[6:])), activation_fn=nn.Identity()))
    before = sentence_transformers.CrossEncoder(str(folder), device="cpu")
    assert (
        np.abs(scores[1] - before.predict(list(zip(WORDS[:6], WORDS[6:])), activation_fn=nn.Identity())).max()
        > 1e-3
    )
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-5, rtol=0)


def test_a_loss_that_is_no_module_is_refused_by_name(tmp_path):
    folder = write_st_folder(build_tiny_bert(tmp_path / "bert"), tmp_path / "st", classic_pooling(32, "mean"))
    model = sbert.SentenceTransformer(str(folder), backend="torch")
    data = sbert.load_dataset([("a", "b"), ("c", "d")])
    args = sbert.TrainingArguments(output_dir=str(tmp_path / "run"), plot=False)
    with pytest.raises(InputError, match="torch.nn.Module whose forward\\(features, labels\\)"):
        sbert.Trainer(model, data, "MultipleNegativesRankingLoss", args=args)


def test_trainer_loss_is_the_users_own_object_as_in_sentence_transformers(tmp_path):
    """``trainer.loss`` is the loss the user gave (or a loss function made), its own class and attributes,
    a dict of them for a dict; one set on the trainer afterwards is the one trained, as there."""
    import importlib

    import sentence_transformers
    from datasets import Dataset, DatasetDict

    folder = write_st_folder(build_tiny_bert(tmp_path / "bert"), tmp_path / "st", classic_pooling(32, "mean"))
    pairs = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]})
    seen = []
    for library in (sbert, sentence_transformers):
        model = library.SentenceTransformer(str(folder), device="cpu")
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / library.__name__), per_device_train_batch_size=4, max_steps=1,
            learning_rate=1e-2, report_to="none", save_strategy="no", disable_tqdm=True,
        )  # fmt: skip
        trainer_class = library.SentenceTransformerTrainer
        loss = InBatchLoss(model, library.util)
        one = trainer_class(model=model, args=args, train_dataset=pairs, loss=loss)
        made = trainer_class(
            model=model,
            args=args,
            train_dataset=pairs,
            loss=lambda m, util=library.util: InBatchLoss(m, util),
        )
        cosent = importlib.import_module(
            f"{library.__name__}.sentence_transformer.losses"
        ).MultipleNegativesRankingLoss(model)
        data = DatasetDict({"a": pairs, "b": pairs})
        several = trainer_class(model=model, args=args, train_dataset=data, loss={"a": loss, "b": cosent})
        other = InBatchLoss(model, library.util)
        one.loss = other
        one.train()
        seen.append(
            [
                type(made.loss).__name__,
                type(several.loss).__name__,
                several.loss["a"] is loss,
                several.loss["b"] is cosent,
                one.loss is other,
                float(other.log_scale.detach()) != 3.0,  # the loss set afterwards trained
                float(loss.log_scale.detach()) == 3.0,
            ]
        )
    assert seen[0] == seen[1] == ["InBatchLoss", "dict", True, True, True, True, True]
