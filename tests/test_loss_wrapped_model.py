"""Losses that reach into the model (AdaptiveLayerLoss, Matryoshka2dLoss, MatryoshkaLoss around a user's loss)
given a wrapped model, as a training loop hands it to them (a DistributedDataParallel-like wrapper holding it
as ``module``, torch.compile's holding it as ``_orig_mod``, nested either way): the same loss as
sentence-transformers' with the same wrapper, and its error for a wrapper with no model inside."""

from __future__ import annotations

import random

import pytest
from torch import nn

import sbert
from sbert._losses.wrapped_model import unwrap_model


class LikeDDP(nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.module = model

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class LikeCompiled(nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self._orig_mod = model

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)


WRAPPERS = {
    "ddp": LikeDDP,
    "compiled": LikeCompiled,
    "compiled-ddp": lambda model: LikeCompiled(LikeDDP(model)),
    "ddp-compiled": lambda model: LikeDDP(LikeCompiled(model)),
}


class DotLoss(nn.Module):
    """A user's loss that runs the model itself."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, features, labels):
        a, b = (self.model(f)["sentence_embedding"] for f in features)
        return (a * b).sum(-1).mean()


def _loss(lib, model, kind: str):
    if kind == "adaptive":
        return lib.AdaptiveLayerLoss(model, lib.MultipleNegativesRankingLoss(model), n_layers_per_step=-1)
    if kind == "2d":
        return lib.Matryoshka2dLoss(
            model, lib.MultipleNegativesRankingLoss(model), [32, 16], n_layers_per_step=-1
        )
    if kind == "adaptive-user":
        return lib.AdaptiveLayerLoss(model, DotLoss(model), n_layers_per_step=-1)
    return lib.MatryoshkaLoss(model, DotLoss(model), [32, 16])


def _value(model, loss, override, wrapper) -> float:
    if wrapper is not None:
        override(loss, wrapper(model))  # as the trainer puts the wrapped model into its losses
    random.seed(0)
    features = [model.preprocess(texts) for texts in (["a cat sat", "the dog ran far"], ["a cat", "dog"])]
    return loss(features, None).item()


CASES = [
    *(("adaptive", wrapper) for wrapper in sorted(WRAPPERS)),
    ("2d", "ddp-compiled"),
    ("adaptive-user", "compiled-ddp"),
    ("matryoshka-user", "ddp"),
    ("matryoshka-user", "compiled"),
]


@pytest.mark.parametrize(("kind", "wrapper"), CASES)
def test_wrapped_model_gives_sentence_transformers_loss(models, kind, wrapper):
    from sentence_transformers.base.trainer import BaseTrainer
    from sentence_transformers.sentence_transformer import losses as st_losses

    ours, theirs = models
    stub = type("Stub", (), {"override_model_in_loss": sbert.Trainer.override_model_in_loss})()
    st_stub = type("Stub", (), {"override_model_in_loss": BaseTrainer.override_model_in_loss})()
    wrap = WRAPPERS[wrapper]
    mine = _value(ours, _loss(sbert, ours, kind), stub.override_model_in_loss, wrap)
    reference = _value(theirs, _loss(st_losses, theirs, kind), st_stub.override_model_in_loss, wrap)
    unwrapped = _value(ours, _loss(sbert, ours, kind), None, None)
    assert mine == pytest.approx(reference, rel=1e-5)
    assert mine == pytest.approx(unwrapped, rel=1e-6)


def test_wrapper_without_a_model_raises_sentence_transformers_error(models):
    from sentence_transformers.sentence_transformer import losses as st_losses

    ours, theirs = models
    errors = []
    for lib, model in ((sbert, ours), (st_losses, theirs)):
        loss = _loss(lib, model, "adaptive")
        loss.model = LikeDDP(nn.Linear(2, 2))
        with pytest.raises(TypeError) as caught:
            loss([model.preprocess(["a"]), model.preprocess(["b"])], None)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "could not unwrap LikeDDP to a BaseModel (stopped at Linear)" in errors[0]
    assert isinstance(caught.value, TypeError)


def test_unwrap_model_stops_at_a_wrapper_of_itself(models):
    ours, _ = models
    assert unwrap_model(LikeCompiled(LikeDDP(ours)), "MatryoshkaLoss") is ours
    assert unwrap_model(ours, "MatryoshkaLoss") is ours
    loop = LikeDDP(None)
    loop.module = loop  # a module of itself: nn.Module keeps it as a child
    with pytest.raises(sbert.SbertError, match="stopped at LikeDDP"):
        unwrap_model(loop, "MatryoshkaLoss")
