"""Each loss against sentence-transformers' on identical inputs and weights: same value, same gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sbert

A = [
    "The weather is lovely today.",
    "A man plays guitar.",
    "The cat sat on the mat.",
    "He drove to the stadium.",
    "a dog runs in the house",
    "she is happy",
    "they eat food",
    "the red car is fast",
]
B = [
    "It's so sunny outside!",
    "A woman plays music.",
    "The dog sat on the mat.",
    "She walked to the tree.",
    "the big dog ran",
    "he is sad",
    "we eat",
    "a blue car is slow",
]
C = [
    "the tree is green",
    "a small house",
    "I ran fast",
    "the music was bad",
    "this is good",
    "an apple",
    "the weather was bad",
    "cats sit",
]
SCORES = torch.tensor([0.9, 0.7, 0.6, 0.1, 0.5, 0.2, 0.4, 0.3])


def _grads(params) -> torch.Tensor:
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])


def _run(model, loss, columns, labels):
    for p in list(model.parameters()) + list(loss.parameters()):
        p.grad = None
    features = [model.tokenize(c) for c in columns]
    value = loss(features, labels)
    value.backward()
    encoder = [p for _, p in sorted(model[0].auto_model.named_parameters())]
    extra = [p for _, p in sorted(n for n in loss.named_parameters() if not n[0].startswith("model."))]
    return value.item(), _grads(encoder + extra)


def _compare(ours_model, theirs_model, ours_loss, theirs_loss, columns, labels):
    value, grad = _run(ours_model, ours_loss, columns, labels)
    ref_value, ref_grad = _run(theirs_model, theirs_loss, columns, labels)
    print(f"{type(ours_loss).__name__}: sbert={value:.8f} sentence-transformers={ref_value:.8f}", end=" ")
    assert abs(value - ref_value) < 1e-5, (value, ref_value)
    cosine = torch.nn.functional.cosine_similarity(grad, ref_grad, dim=0).item()
    worst = (grad - ref_grad).abs().max().item()
    print(f"grad cosine={cosine:.7f} max abs diff={worst:.2e} (largest {ref_grad.abs().max().item():.2e})")
    assert grad.norm() > 0
    assert cosine > 0.999, cosine
    # Same gradient, not only the same direction: the size counts too (README: same value, same gradient).
    # Within 1e-5 of the gradient's scale: sbert embeds the columns in length groups (other padding than
    # sentence-transformers' per-column forward), which changes float32 rounding by ~2e-6 of the largest
    # entry; manhattan's gradient reaches 4.9, where one entry differed by 1.2e-5 on an AVX-512 EPYC.
    scale = max(1.0, ref_grad.abs().max().item())
    torch.testing.assert_close(grad, ref_grad, atol=1e-5 * scale, rtol=1e-4)


def test_softmax_loss(models):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    for multiplication in (False, True):
        torch.manual_seed(0)
        mine = sbert.SoftmaxLoss(ours, num_labels=3, concatenation_sent_multiplication=multiplication)
        ref = losses.SoftmaxLoss(theirs, 32, 3, concatenation_sent_multiplication=multiplication)
        ref.classifier.load_state_dict(mine.classifier.state_dict())
        labels = torch.tensor([0, 1, 2, 0, 1, 2, 2, 1])
        _compare(ours, theirs, mine, ref, [A, B], labels)


def test_cosine_similarity_loss(models):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    _compare(
        ours, theirs, sbert.CosineSimilarityLoss(ours), losses.CosineSimilarityLoss(theirs), [A, B], SCORES
    )


def test_cosent_loss(models):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    tied = torch.tensor([0.9, 0.7, 0.7, 0.1, 0.5, 0.1, 0.4, 0.3])  # ties must not count as ordered pairs
    for labels in (SCORES, tied):
        _compare(ours, theirs, sbert.CoSENTLoss(ours), losses.CoSENTLoss(theirs), [A, B], labels)


@pytest.mark.parametrize("columns", [2, 3, 4])
def test_multiple_negatives_ranking_loss(models, columns):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    texts = [A, B, C, list(reversed(C))][:columns]
    _compare(
        ours,
        theirs,
        sbert.MultipleNegativesRankingLoss(ours),
        losses.MultipleNegativesRankingLoss(theirs),
        texts,
        None,
    )


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "manhattan"])
def test_contrastive_loss(models, metric):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    reference_metric = getattr(
        losses.SiameseDistanceMetric, {"cosine": "COSINE_DISTANCE"}.get(metric, metric.upper())
    )
    margin = 0.5 if metric == "cosine" else 5.0
    labels = torch.tensor([1, 0, 1, 0, 0, 1, 0, 1])
    _compare(
        ours,
        theirs,
        sbert.ContrastiveLoss(ours, metric, margin=margin),
        losses.ContrastiveLoss(theirs, reference_metric, margin=margin),
        [A, B],
        labels,
    )


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "manhattan"])
def test_triplet_loss(models, metric):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    reference_metric = getattr(losses.TripletDistanceMetric, metric.upper())
    margin = {"cosine": 0.5, "euclidean": 5.0, "manhattan": 40.0}[metric]
    _compare(
        ours,
        theirs,
        sbert.TripletLoss(ours, metric, triplet_margin=margin),
        losses.TripletLoss(theirs, reference_metric, triplet_margin=margin),
        [A, B, C],
        None,
    )


@pytest.mark.parametrize("columns", [1, 2])
def test_mse_loss(models, columns):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    teacher = torch.from_numpy(np.random.default_rng(0).normal(size=(8, 32)).astype(np.float32))
    _compare(ours, theirs, sbert.MSELoss(ours), losses.MSELoss(theirs), [A, B][:columns], teacher)


def test_matryoshka_loss(models):
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    dims, weights = [32, 16, 8], [1.0, 0.5, 2.0]
    mine = sbert.MatryoshkaLoss(ours, sbert.MultipleNegativesRankingLoss(ours), dims, weights)
    ref = losses.MatryoshkaLoss(theirs, losses.MultipleNegativesRankingLoss(theirs), dims, weights)
    _compare(ours, theirs, mine, ref, [A, B], None)
    mine = sbert.MatryoshkaLoss(ours, sbert.CoSENTLoss(ours), dims)
    ref = losses.MatryoshkaLoss(theirs, losses.CoSENTLoss(theirs), dims)
    _compare(ours, theirs, mine, ref, [A, B], SCORES)


def test_matryoshka_around_softmax_loss(models):
    """sentence-transformers' MatryoshkaLoss feeds SoftmaxLoss's classifier truncated embeddings, which only
    works at the size the classifier was built for: we match its value there and refuse the rest up front."""
    from sentence_transformers.sentence_transformer import losses

    ours, theirs = models
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 2, 1])
    for size in (32, 16):  # the full size, and a classifier built on the first 16 dimensions
        torch.manual_seed(0)
        inner = sbert.SoftmaxLoss(ours, embedding_dimension=size, num_labels=3)
        ref_inner = losses.SoftmaxLoss(theirs, size, 3)
        ref_inner.classifier.load_state_dict(inner.classifier.state_dict())
        _compare(
            ours,
            theirs,
            sbert.MatryoshkaLoss(ours, inner, [size], [0.5]),
            losses.MatryoshkaLoss(theirs, ref_inner, [size], [0.5]),
            [A, B],
            labels,
        )
    with pytest.raises(sbert.InputError, match=r"cannot wrap this SoftmaxLoss at sizes \[16, 8\].*96 inputs"):
        sbert.MatryoshkaLoss(ours, sbert.SoftmaxLoss(ours, num_labels=3), [32, 16, 8])
    reference = losses.MatryoshkaLoss(theirs, losses.SoftmaxLoss(theirs, 32, 3), [32, 16])
    with pytest.raises(
        RuntimeError, match="shapes cannot be multiplied"
    ):  # where sentence-transformers fails
        reference([theirs.tokenize(A), theirs.tokenize(B)], labels)


def test_data_checks_name_the_problem(models):
    ours, _ = models
    with pytest.raises(
        sbert.InputError, match="train.tsv: CosineSimilarityLoss takes 2 text columns, the data has 3"
    ):
        sbert.CosineSimilarityLoss(ours).check_data(3, [0.5], "train.tsv")
    with pytest.raises(sbert.InputError, match=r"row 1 has label 4, outside \[-1, 1\].*score_range"):
        sbert.CosineSimilarityLoss(ours).check_data(2, [0.5, 4.0], "train.tsv")
    with pytest.raises(sbert.InputError, match=r"row 0 has class 3, outside \[0, 3\)"):
        sbert.SoftmaxLoss(ours, num_labels=3).check_data(2, np.array([3, 1]), "nli.tsv")
    with pytest.raises(sbert.InputError, match="needs a label column"):
        sbert.ContrastiveLoss(ours).check_data(2, None, "pairs")
    sbert.ContrastiveLoss(ours).check_data(2, [0.5], "pairs")  # a weight, as sentence-transformers takes it
    with pytest.raises(sbert.InputError, match="row 0 has a label that is not a finite number"):
        sbert.ContrastiveLoss(ours).check_data(2, [float("nan")], "pairs")
    with pytest.raises(sbert.InputError, match="dimension 32"):
        sbert.MSELoss(ours).check_data(1, np.zeros((2, 16)), "distill")
    with pytest.raises(sbert.InputError, match="matryoshka_dims"):
        sbert.MatryoshkaLoss(ours, sbert.CoSENTLoss(ours), [64])
    sbert.MultipleNegativesRankingLoss(ours).check_data(5, None, "pairs")  # hard negatives are fine


def test_rows_run_in_length_groups_with_the_same_embeddings(models, monkeypatch):
    from sbert._losses import base

    ours, _ = models
    long = ["the cat sat on the mat and the dog ran in the house with a big red ball"] * 3
    columns = [A[:5] + long, B[:4] + long + ["a"]]  # short and long rows in both columns
    features = [ours.tokenize(c) for c in columns]
    separate = [ours.forward(dict(f))["sentence_embedding"] for f in features]
    calls = []
    forward = ours.forward
    monkeypatch.setattr(ours, "forward", lambda f: calls.append(f["input_ids"].shape) or forward(f))
    for cost, groups in ((0, None), (192, None), (10**6, 1)):  # cheap calls: many groups; dear ones: one
        monkeypatch.setitem(base.CALL_COST_TOKENS, "cpu", cost)
        calls.clear()
        grouped = base.embed_columns(ours, features)
        for a, b in zip(grouped, separate):
            assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)
        assert sum(rows for rows, _ in calls) == 16 and (groups is None or len(calls) == groups)
        if cost == 0:  # each group padded only to its own longest row: no padding at all here
            assert sum(r * t for r, t in calls) == int(sum(f["attention_mask"].sum() for f in features))
    assert base.plan_groups([2, 2, 3, 9, 9], 0) == [(0, 2), (2, 3), (3, 5)]
    assert base.plan_groups([2, 2, 3, 9, 9], 100) == [(0, 5)]
    assert base.plan_groups([], 5) == []
    monkeypatch.setattr(ours.tokenizer, "padding_side", "left")  # positions would move with the padding
    assert base._merge(ours, features) is None
