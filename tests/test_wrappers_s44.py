"""MatryoshkaLoss, Matryoshka2dLoss and AdaptiveLayerLoss against sentence-transformers 6.3, side by side on
the same tiny dropout-free model:

- around a user's own ``nn.Module`` loss, ``.loss`` is that module (sbert held an internal adapter there,
  which showed in ``named_children``, ``modules()``, ``state_dict`` keys, the repr and the card's ``loss:``
  tags), while training gives sentence-transformers' per-step losses;
- ``gather_across_devices=True`` without a process group logs sentence-transformers' one-time warning on its
  logger (sbert logged nothing);
- a cached inner loss in AdaptiveLayerLoss warns when built, as there, and fails in training (sbert refused
  it with an InputError when built).
"""

from __future__ import annotations

import importlib
import logging
import random
import warnings

import pytest
import torch
from torch import nn

import sbert

A = ["a sunny day outside", "the cat sat on the mat", "a man plays guitar", "the dog runs fast"]
B = ["it is sunny", "a cat on a mat", "someone plays music", "a slow dog"]
LIBS = ["sentence_transformers", "sbert"]


class Fake(nn.Module):
    """A user's loss as sentence-transformers' docs teach it: runs the model, has a parameter of its own."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, sentence_features, labels):
        anchors, positives = (self.model(f)["sentence_embedding"] for f in sentence_features)
        scores = anchors @ positives.T * self.scale
        return nn.functional.cross_entropy(scores, torch.arange(len(scores)))


class FakeWithEmbeddings(Fake):
    """One that also has sbert's / sentence-transformers' ``compute_loss_from_embeddings``."""

    def compute_loss_from_embeddings(self, embeddings, labels):
        return (embeddings[0] - embeddings[1]).pow(2).sum()


WRAPPERS = {
    "matryoshka": lambda losses, model, inner: losses.MatryoshkaLoss(model, inner, [32, 16]),
    "matryoshka_2d": lambda losses, model, inner: losses.Matryoshka2dLoss(model, inner, [32, 16]),
    "adaptive_layer": lambda losses, model, inner: losses.AdaptiveLayerLoss(model, inner),
}


def lib_and_losses(name):
    lib = importlib.import_module(name)
    return lib, importlib.import_module(f"{name}.sentence_transformer.losses")


def surface(wrapper, inner):
    """What client code sees of a wrapper loss: its attribute, module tree, weights' names, repr, config."""
    return {
        "loss_is_given": (wrapper.loss if not hasattr(wrapper.loss, "matryoshka_dims") else wrapper.loss.loss)
        is inner,
        "children": [(name, type(child).__name__) for name, child in wrapper.named_children()],
        "modules": [type(module).__name__ for module in wrapper.modules()],
        "state_dict": list(wrapper.state_dict()),
        "repr": repr(wrapper),
        "config": wrapper.get_config_dict(),
        "citation": wrapper.citation,
    }


@pytest.mark.parametrize("inner_class", [Fake, FakeWithEmbeddings])
@pytest.mark.parametrize("wrap", list(WRAPPERS))
def test_wrapped_user_loss_is_the_users_module(dropout_free_st, wrap, inner_class):
    seen = {}
    for name in LIBS:
        lib, losses = lib_and_losses(name)
        model = lib.SentenceTransformer(str(dropout_free_st), device="cpu")
        inner = inner_class(model)
        seen[name] = surface(WRAPPERS[wrap](losses, model, inner), inner)
    for key, value in seen["sentence_transformers"].items():
        assert seen["sbert"][key] == value, key
    assert seen["sbert"]["loss_is_given"]


def steps_and_card(name, folder, out, wrap):
    """Three training steps through the library's trainer: the logged losses, the card's loss tags and
    citations, and the saved card's training-loss section."""
    from datasets import Dataset

    lib, losses = lib_and_losses(name)
    model = lib.SentenceTransformer(str(folder), device="cpu")
    args = lib.SentenceTransformerTrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=2,
        num_train_epochs=1,
        max_steps=3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=3,
    )
    data = Dataset.from_dict({"anchor": A + A[:2], "positive": B + B[:2]})
    loss = WRAPPERS[wrap](losses, model, Fake(model))
    trainer = lib.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
    trainer.train()
    card = model.model_card_data
    tags = sorted(tag for tag in card.tags if tag.startswith("loss:"))
    model.save(str(out / "model"))
    readme = (out / "model" / "README.md").read_text()
    section = readme[readme.index("#### Unnamed Dataset") :].split("### Training Hyperparameters")[0]
    losses_logged = [record["loss"] for record in trainer.state.log_history if "loss" in record]
    return losses_logged, tags, dict(card.citations), section


@pytest.mark.parametrize("wrap", list(WRAPPERS))
def test_wrapped_user_loss_trains_and_cards_as_sentence_transformers(dropout_free_st, tmp_path, wrap):
    ours = steps_and_card("sbert", dropout_free_st, tmp_path / "sbert", wrap)
    theirs = steps_and_card("sentence_transformers", dropout_free_st, tmp_path / "st", wrap)
    assert len(ours[0]) == 3
    assert ours[0] == pytest.approx(theirs[0], rel=1e-4)
    assert ours[1:] == theirs[1:]
    assert "loss:Fake" in ours[1]


# ---------------------------------------------------------------- gather_across_devices on one process

GATHERING = {
    "mnrl": lambda losses, model: losses.MultipleNegativesRankingLoss(model, gather_across_devices=True),
    "cached_mnrl": lambda losses, model: losses.CachedMultipleNegativesRankingLoss(
        model, mini_batch_size=2, gather_across_devices=True
    ),
    "gist": lambda losses, model: losses.GISTEmbedLoss(model, guide=model, gather_across_devices=True),
}


def gather_records(name, folder, make, caplog, steps=2):
    lib, losses = lib_and_losses(name)
    model = lib.SentenceTransformer(str(folder), device="cpu")
    loss = make(losses, model)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for _ in range(steps):
            features = [model.tokenize(A[:3]), model.tokenize(B[:3])]
            loss(features, None).backward()
    return [
        (record.name, record.levelname, record.getMessage())
        for record in caplog.records
        if "gather" in record.getMessage()
    ]


@pytest.mark.parametrize("loss", list(GATHERING))
def test_gathering_without_a_process_group_warns_once(dropout_free_st, caplog, monkeypatch, loss):
    logging.Logger.warning_once.cache_clear()  # transformers' once-per-process cache (sentence-transformers')
    monkeypatch.setattr("sbert._errors._LOGGED", set())  # sbert's
    seen = {name: gather_records(name, dropout_free_st, GATHERING[loss], caplog) for name in LIBS}
    assert seen["sbert"] == seen["sentence_transformers"]
    assert len(seen["sbert"]) == 1
    # once per process: a second loss says nothing more
    assert gather_records("sbert", dropout_free_st, GATHERING[loss], caplog) == []


def test_no_gathering_no_warning(dropout_free_st, caplog, monkeypatch):
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    plain = lambda losses, model: losses.MultipleNegativesRankingLoss(model)  # noqa: E731
    assert gather_records("sbert", dropout_free_st, plain, caplog) == []


def test_util_all_gather_shares_the_warning(caplog, monkeypatch):
    import sentence_transformers.util

    logging.Logger.warning_once.cache_clear()
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    seen = {}
    for name, util in [("sentence_transformers", sentence_transformers.util), ("sbert", sbert.util)]:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            for _ in range(2):
                assert util.all_gather(torch.ones(2)).shape == (2,)
        seen[name] = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert seen["sbert"] == seen["sentence_transformers"] and len(seen["sbert"]) == 1


# ---------------------------------------------------------------- cached losses inside AdaptiveLayerLoss

CACHED = {
    "cached_mnrl": lambda losses, model: losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2),
    "cached_gist": lambda losses, model: losses.CachedGISTEmbedLoss(model, guide=model, mini_batch_size=2),
    "mega_batch": lambda losses, model: losses.MegaBatchMarginLoss(model, mini_batch_size=2),
    "cached_mnsrl": lambda losses, model: losses.CachedMultipleNegativesSymmetricRankingLoss(
        model, mini_batch_size=2
    ),
}


def adaptive_around(name, folder, make, two_d):
    lib, losses = lib_and_losses(name)
    model = lib.SentenceTransformer(str(folder), device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the symmetric cached loss's deprecation
        inner = make(losses, model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if two_d:
            loss = losses.Matryoshka2dLoss(model, inner, [32, 16])
        else:
            loss = losses.AdaptiveLayerLoss(model, inner)
    built = [(w.category, str(w.message)) for w in caught]
    features = [model.tokenize(A), model.tokenize(B)]
    random.seed(0)
    with pytest.raises(Exception) as failure:
        loss(features, torch.tensor([1.0, 0.0, 1.0, 0.0])).backward()
    return built, failure.type


@pytest.mark.parametrize("two_d", [False, True], ids=["adaptive", "2d"])
@pytest.mark.parametrize("cached", list(CACHED))
def test_cached_inner_loss_warns_when_built_and_fails_in_training(dropout_free_st, cached, two_d):
    theirs = adaptive_around("sentence_transformers", dropout_free_st, CACHED[cached], two_d)
    ours = adaptive_around("sbert", dropout_free_st, CACHED[cached], two_d)
    assert ours[0] == theirs[0] and len(ours[0]) == 1
    assert issubclass(ours[1], theirs[1])  # a KeyError there (its layer outputs are missing)
    assert issubclass(ours[1], sbert.InputError)


def test_mega_batch_without_mini_batches_still_trains_in_adaptive_layer(dropout_free_st):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu")
        inner = sbert.losses.MegaBatchMarginLoss(model, use_mini_batched_version=False)
        loss = sbert.losses.AdaptiveLayerLoss(model, inner)
    value = loss([model.tokenize(A), model.tokenize(B)], None)
    assert torch.isfinite(value)
