"""The cross-encoder losses beyond the first five (RankNet, ListNet, ListMLE, PListMLE, ADR-MSE, MarginMSE,
cached MNRL): each equals sentence-transformers' loss (value and gradient) on the same tiny classifier, the
cached MNRL equals the plain one (dropout on too), a trainer steps with one, and bad data names the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import build_tiny_classifier

TOL = 1e-5
QUERIES = ["a man plays music", "the cat sat", "numbers 123"]
DOCS = ["a man plays the guitar", "the dog ran in the house", "12345 and more"]
NEGATIVES = ["music is good", "", "the weather"]
LISTS = [[DOCS[0], NEGATIVES[0], NEGATIVES[1]], [DOCS[1], NEGATIVES[2]], [DOCS[2], NEGATIVES[0], DOCS[0]]]
LIST_LABELS = [[2.0, 0.0, 1.0], [1.0, 0.0], [1.0, 1.0, 3.0]]  # ragged, with a tie


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """sbert's and sentence-transformers' CrossEncoder of one tiny one-label classifier, and its folder."""
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    folder = build_tiny_classifier(tmp_path_factory.mktemp("ce-more") / "labels1", num_labels=1, seed=1)
    return CrossEncoder(folder, backend="torch"), Reference(str(folder), device="cpu"), folder


def _value_and_gradients(loss, hf_model, inputs, labels, *, train=False):
    """The loss and each weight's gradient, from the same torch seed (MNRL draws negatives)."""
    import torch

    hf_model.train(train)
    hf_model.zero_grad(set_to_none=True)
    torch.manual_seed(7)
    value = loss(inputs, labels)
    value.backward()
    hf_model.eval()
    return value.item(), {n: p.grad.clone() for n, p in hf_model.named_parameters() if p.grad is not None}


def _assert_same(ours, theirs):
    (value, gradients), (expected, expected_gradients) = ours, theirs
    assert value > 0 and abs(value - expected) <= TOL
    assert gradients.keys() == expected_gradients.keys() and len(gradients) > 30
    assert max(float(g.abs().max()) for g in gradients.values()) > 1e-4  # real gradients
    for key, gradient in gradients.items():
        np.testing.assert_allclose(gradient.numpy(), expected_gradients[key].numpy(), atol=TOL, rtol=0)


# (loss name, our options, sentence-transformers' options, inputs, labels)
def _cases():
    import torch

    lists = [torch.tensor(row) for row in LIST_LABELS]
    listwise = [QUERIES, LISTS]
    yield "RankNetLoss", {}, {}, listwise, lists
    ours = {"k": 2, "sigma": 0.5, "reduction_log": "natural", "mini_batch_size": 3}
    yield "RankNetLoss", ours, ours, listwise, lists
    yield "ListNetLoss", {}, {}, listwise, lists
    sigmoid = {"activation_fn": torch.nn.Sigmoid()}
    yield (
        "ListNetLoss",
        {"activation_fn": "Sigmoid", "mini_batch_size": 0},
        {**sigmoid, "mini_batch_size": 0},
        listwise,
        lists,
    )
    yield "ListMLELoss", {}, {}, listwise, lists
    yield "ListMLELoss", {"respect_input_order": False}, {"respect_input_order": False}, listwise, lists
    yield "PListMLELoss", {}, {}, listwise, lists
    unordered = {"respect_input_order": False, "mini_batch_size": 2}
    yield "PListMLELoss", unordered, unordered, listwise, lists
    yield "ADRMSELoss", {}, {}, listwise, lists
    yield "ADRMSELoss", {"alpha": 3.0}, {"alpha": 3.0}, listwise, lists
    margins = torch.tensor([[1.5, 0.5], [0.2, -1.0], [2.0, 0.0]])
    yield "MarginMSELoss", {}, {}, [QUERIES, DOCS, NEGATIVES, NEGATIVES[::-1]], margins
    scores = [torch.tensor(row) for row in ([3.0, 1.0, 0.5], [2.0, 2.5, 0.0], [1.0, -1.0, 0.0])]
    yield "MarginMSELoss", {"activation_fn": "Sigmoid"}, sigmoid, [QUERIES, DOCS, NEGATIVES, LISTS[0]], scores
    yield "MarginMSELoss", {}, {}, [QUERIES, DOCS, NEGATIVES], torch.tensor([1.0, 0.5, -0.5])
    triplets = [QUERIES, DOCS, NEGATIVES]
    yield "CachedMultipleNegativesRankingLoss", {"mini_batch_size": 4}, {"mini_batch_size": 4}, triplets, None
    options = {"num_negatives": None, "scale": 5.0, "mini_batch_size": 2}
    yield "CachedMultipleNegativesRankingLoss", options, options, [QUERIES, DOCS], None


CASES = list(_cases())


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c[0]}-{json.dumps({k: str(v) for k, v in c[1].items()})}" for c in CASES]
)
def test_each_loss_equals_sentence_transformers_value_and_gradient(models, case):
    from sentence_transformers.cross_encoder import losses as st

    from sbert.cross_encoder import losses

    name, options, st_options, inputs, labels = case
    ours, reference, _ = models
    _assert_same(
        _value_and_gradients(getattr(losses, name)(ours, **options), ours.model, inputs, labels),
        _value_and_gradients(getattr(st, name)(reference, **st_options), reference.model, inputs, labels),
    )


def test_cached_mnrl_with_dropout_on_and_under_no_grad(models):
    """With dropout on, the cached loss equals sentence-transformers' (its replay draws the first pass's
    masks); not the plain loss, whose forwards run one a column there (tests/test_dropout_s43.py)."""
    import torch
    from sentence_transformers.cross_encoder import losses as st

    from sbert.cross_encoder import losses

    model, reference, _ = models
    inputs = [QUERIES, DOCS, NEGATIVES]
    plain = losses.MultipleNegativesRankingLoss(model)
    # one mini-batch holds every pair
    cached = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=64)
    ours = _value_and_gradients(cached, model.model, inputs, None, train=True)
    theirs = st.CachedMultipleNegativesRankingLoss(reference, mini_batch_size=64)
    _assert_same(ours, _value_and_gradients(theirs, reference.model, inputs, None, train=True))
    torch.manual_seed(7)
    with torch.no_grad():
        value = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=3)(inputs, None)
    assert (
        not value.requires_grad
        and abs(value.item() - _value_and_gradients(plain, model.model, inputs, None)[0]) <= TOL
    )
    assert cached.config() == {
        "scale": 10.0,
        "num_negatives": 4,
        "activation_fn": "torch.nn.modules.activation.Sigmoid",
        "mini_batch_size": 64,
    }


def test_trainer_runs_two_steps_with_a_listwise_and_the_cached_loss(models, tmp_path):
    import torch

    from sbert import CrossEncoder, load_dataset
    from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments, losses

    model = CrossEncoder(models[2], backend="torch")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rows = [{"query": q, "docs": d, "labels": y} for q, d, y in zip(QUERIES, LISTS, LIST_LABELS)]
    data = {
        "lists": load_dataset(rows, label="labels"),
        "triplets": load_dataset(list(zip(QUERIES, DOCS, NEGATIVES))),
    }
    loss = {
        "lists": losses.PListMLELoss(model),
        "triplets": losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2),
    }
    args = CrossEncoderTrainingArguments(
        output_dir=tmp_path / "run",
        max_steps=2,
        batch_size=3,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        plot=False,
    )
    out = CrossEncoderTrainer(model, data, loss, args=args).train()
    assert out.global_step == 2 and np.isfinite(out.training_loss)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "0.model.classifier.weight" in changed  # sentence-transformers 6's names
    assert any(k.startswith("0.model.bert.encoder") for k in changed)


def test_bad_data_or_options_name_the_fix(models, tmp_path):
    from sbert import CrossEncoder, Trainer, TrainingArguments, load_dataset
    from sbert.cross_encoder import losses

    model = CrossEncoder(models[2], backend="torch")
    args = TrainingArguments(output_dir=tmp_path)
    flat = load_dataset([(q, d, 1.0) for q, d in zip(QUERIES, DOCS)])
    for name in ("RankNetLoss", "ListNetLoss", "ListMLELoss", "PListMLELoss", "ADRMSELoss"):
        with pytest.raises(ValueError, match=f"{name} takes .*does not hold lists of texts.*groups by query"):
            Trainer(model, flat, getattr(losses, name)(model), args=args)
    with pytest.raises(ValueError, match="MarginMSELoss takes 3\\+ text columns"):
        Trainer(model, flat, losses.MarginMSELoss(model), args=args)
    wide = load_dataset([(q, d, n, [1.0, 2.0, 3.0]) for q, d, n in zip(QUERIES, DOCS, NEGATIVES)])
    with pytest.raises(ValueError, match="3 label\\(s\\) per row for 1 negative.*teacher's margins"):
        Trainer(model, wide, losses.MarginMSELoss(model), args=args)
    with pytest.raises(ValueError, match="labels of shape \\(3, 3\\) for 3 rows with 1 negatives"):
        losses.MarginMSELoss(model)([QUERIES, DOCS, NEGATIVES], np.ones((3, 3)))
    with pytest.raises(ValueError, match="ListNetLoss needs one list of labels per query"):
        losses.ListNetLoss(model)([QUERIES, LISTS], np.ones(3))
    with pytest.raises(ValueError, match="lambda_weight must be a PListMLELambdaWeight"):
        losses.PListMLELoss(model, lambda_weight="Linear")
    with pytest.raises(ValueError, match="mini_batch_size must be a positive int"):
        losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=0)
