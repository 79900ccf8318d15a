"""Scenarios of sentence-transformers' own test suite (part 2) run against sbert and sentence-transformers 6.3
on the same inputs. Half precision: the losses whose default distance or score is one of
sentence-transformers' ``util.pairwise_*`` functions (TripletLoss's three metrics, MarginMSELoss and
DistillKLDivLoss's dot product) compute it in float32, as those functions upcast float16 / bfloat16, so the
loss comes back in float32 with the same value, also under a bfloat16 autocast of float16 embeddings."""

from __future__ import annotations

import json
from contextlib import nullcontext

import pytest
import sentence_transformers.sentence_transformer.losses as st_losses
import torch
from torch import nn

import sbert.losses as sbert_losses

HALF = [torch.float16, torch.bfloat16]


class Identity(nn.Module):
    """A stand-in model: the losses here only read embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, features):
        return features


def columns(n, dtype):
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(4, 6, generator=generator).to(dtype).requires_grad_(True) for _ in range(n)]


SCORES = [[3.0, 2.8, 1.0], [1, 1.1, 0.2], [2, 1.5, 0], [0, 1, 2]]  # teacher scores: positive, two negatives


def triplet(metric):
    return lambda lib, model: lib.TripletLoss(model, getattr(lib.TripletDistanceMetric, metric))


LOSSES = {
    "TripletLoss-EUCLIDEAN": (triplet("EUCLIDEAN"), 3, None),
    "TripletLoss-COSINE": (triplet("COSINE"), 3, None),
    "TripletLoss-MANHATTAN": (triplet("MANHATTAN"), 3, None),
    "MarginMSELoss": (lambda lib, model: lib.MarginMSELoss(model), 3, [0.2, -0.1, 0.5, 0.0]),
    "MarginMSELoss-scores": (lambda lib, model: lib.MarginMSELoss(model), 4, SCORES),
    "DistillKLDivLoss": (lambda lib, model: lib.DistillKLDivLoss(model), 4, SCORES),
}


def loss_and_grads(library, name, dtype, autocast):
    make, n, labels = LOSSES[name]
    embeddings = columns(n, dtype)
    labels = None if labels is None else torch.tensor(labels)
    with torch.autocast("cpu", dtype=torch.bfloat16) if autocast else nullcontext():
        value = make(library, Identity()).compute_loss_from_embeddings(embeddings, labels)
    value.float().backward()
    return value, [column.grad for column in embeddings]


@pytest.mark.parametrize("autocast", [False, True])
@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", list(LOSSES))
def test_util_distance_losses_on_half_precision_as_sentence_transformers(name, dtype, autocast):
    ours, our_grads = loss_and_grads(sbert_losses, name, dtype, autocast)
    theirs, their_grads = loss_and_grads(st_losses, name, dtype, autocast)
    assert ours.dtype == theirs.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    for mine, other in zip(our_grads, their_grads):
        assert mine.dtype == other.dtype == dtype
        torch.testing.assert_close(mine, other, rtol=0, atol=0)


TRIPLET = {"anchors": ["a cat"], "positives": ["a kitten"], "negatives": ["a car"]}


@pytest.mark.parametrize("margin", [None, -1, 2, 0.5, {"cosine": 1, "dot": 0.25}, {"cosine": 0}])
def test_triplet_evaluator_config_margin_as_sentence_transformers(margin):
    """The margins as given (an int stays an int, in the model card too), in sentence-transformers' order of
    its similarity functions (cosine, dot, manhattan, euclidean)."""
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator as STTriplet

    from sbert.evaluation import TripletEvaluator

    ours = TripletEvaluator(**TRIPLET, margin=margin).get_config_dict()
    theirs = STTriplet(**TRIPLET, margin=margin).get_config_dict()
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("option", [{"margin": {"cosien": 0.5}}, {"similarity_fn_names": ["cosin"]}])
def test_triplet_evaluator_unknown_names_as_sentence_transformers(option):
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator as STTriplet

    from sbert.evaluation import TripletEvaluator

    with pytest.raises(ValueError) as theirs:
        STTriplet(**TRIPLET, **option)
    with pytest.raises(ValueError) as ours:
        TripletEvaluator(**TRIPLET, **option)
    assert str(ours.value) == str(theirs.value)
