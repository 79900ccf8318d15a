"""Losses against sentence-transformers 6.3 where its own loss tests found sbert apart: GOR's per-column
terms, DistillKLDivLoss's checks and teacher-collapse warning, MSELoss as EmbedDistillLoss with a
projection, and MatryoshkaLoss's half-precision truncation and its dimension checks."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from sentence_transformers.sentence_transformer import losses as st_losses
from sentence_transformers.sentence_transformer.losses.matryoshka import shrink as st_shrink

import sbert
from sbert.sentence_transformer import losses


def test_gor_compute_gor_matches_sentence_transformers() -> None:
    torch.manual_seed(0)
    for rows in (1, 5, 16):
        embeddings = torch.randn(rows, 8, dtype=torch.float64) * 0.1 + 1.0
        ours = losses.GlobalOrthogonalRegularizationLoss(None).compute_gor(embeddings)
        theirs = st_losses.GlobalOrthogonalRegularizationLoss(None).compute_gor(embeddings.clone())
        for mine, reference in zip(ours, theirs):
            torch.testing.assert_close(mine, reference, rtol=1e-10, atol=1e-10)


def test_distill_kl_warns_once_when_the_teacher_softmax_underflows(caplog) -> None:
    torch.manual_seed(1)
    embeddings = [torch.randn(2, 8) for _ in range(3)]
    labels = torch.tensor([[8.5, -10.0], [7.0, -12.0]])  # spread / 0.1 underflows a float32 softmax
    ours = losses.DistillKLDivLoss(model=None, teacher_temperature=0.1)
    theirs = st_losses.DistillKLDivLoss(model=None, teacher_temperature=0.1)
    with caplog.at_level(logging.WARNING):
        value = ours.compute_loss_from_embeddings(embeddings, labels)
    assert "teacher_temperature=0.1" in caplog.text and "carry no gradient" in caplog.text
    torch.testing.assert_close(
        value, theirs.compute_loss_from_embeddings(embeddings, labels), atol=1e-5, rtol=0
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ours.compute_loss_from_embeddings(embeddings, labels)
        losses.DistillKLDivLoss(model=None).compute_loss_from_embeddings(embeddings, labels)
    assert caplog.text == ""  # once per loss, and a temperature that fits the spread is quiet


@pytest.mark.parametrize(
    ("kwargs", "columns", "labels", "message"),
    [
        ({"temperature": float("nan")}, 3, [[1.0, 2.0]], "must be a positive finite number"),
        ({}, 3, [[1.0], [1.0]], r"teacher scores of shape \(batch_size, N\)"),
        ({}, 3, [[1.0, 2.0], [float("nan"), 1.0]], "teacher scores contain NaN"),
        ({}, 2, [[1.0], [1.0]], "at least 3 columns"),
    ],
)
def test_distill_kl_refuses_what_sentence_transformers_refuses(kwargs, columns, labels, message) -> None:
    embeddings = [torch.randn(2, 8) for _ in range(columns)]
    for module in (losses, st_losses):
        with pytest.raises(ValueError, match=message):
            module.DistillKLDivLoss(None, **kwargs).compute_loss_from_embeddings(
                embeddings, torch.tensor(labels)
            )


def test_mse_loss_is_embed_distill_with_a_projection(models) -> None:
    ours, theirs = models
    assert issubclass(losses.MSELoss, losses.EmbedDistillLoss)
    for projection_dim in (None, 48):
        mine, reference = losses.MSELoss(ours, projection_dim), st_losses.MSELoss(theirs, projection_dim)
        assert mine.get_config_dict() == reference.get_config_dict() == {"projection_dim": projection_dim}
    mine = losses.MSELoss(ours, projection_dim=48)
    assert mine.projection.in_features == 32 and mine.projection.out_features == 48
    student, teacher = torch.randn(4, 32), torch.randn(4, 32)
    torch.testing.assert_close(
        losses.MSELoss(ours).compute_loss_from_embeddings([student], [teacher]),
        st_losses.MSELoss(theirs).compute_loss_from_embeddings([student], [teacher]),
    )


def test_matryoshka_shrink_normalizes_half_precision_as_sentence_transformers() -> None:
    from sbert.sentence_transformer.losses.matryoshka import shrink

    rows = torch.tensor([[0.0] * 4, [1e-7] * 4, [60000.0] * 4, [1.0, 2.0, 3.0, 4.0]], dtype=torch.float16)
    for dim in (2, 3, 4):
        result = shrink(rows, dim)
        assert result.dtype == torch.float16 and torch.isfinite(result).all()
        torch.testing.assert_close(result, st_shrink(rows, dim), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("dims", "weights", "message"),
    [
        ([], None, "at least one dimension"),
        ([32, 0], None, "must be > 0"),
        ([32, 16], [1.0], "matryoshka_weights must be the same length as matryoshka_dims"),
        ([64, 16], None, "cannot exceed the model's embedding dimension of 32"),
    ],
)
def test_matryoshka_refuses_dims_as_sentence_transformers(models, dims, weights, message) -> None:
    ours, theirs = models
    with pytest.raises(ValueError, match=message):
        sbert.MatryoshkaLoss(ours, sbert.MultipleNegativesRankingLoss(ours), dims, weights)
    with pytest.raises(ValueError, match=message):
        st_losses.MatryoshkaLoss(theirs, st_losses.MultipleNegativesRankingLoss(theirs), dims, weights)


def test_matryoshka_warns_when_the_full_dimension_is_left_out(models, caplog) -> None:
    ours, theirs = models
    messages = []
    for module, model in ((losses, ours), (st_losses, theirs)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            module.MatryoshkaLoss(model, module.MultipleNegativesRankingLoss(model), [16, 8])
        messages.append(
            [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
        )
    assert messages[0] == messages[1] and "embedding dimension 32 is not included" in messages[0][0]


class _TableModel:
    """A model that is only a callable (no ``forward``, no ``nn.Module``): row ``i`` of a fixed table for id
    ``i``, as a test double or a user's own embedder may be."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table

    def __call__(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"sentence_embedding": self.table[features["ids"]]}


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("ContrastiveLoss", [1.0, 0.0, 1.0]),
        ("CoSENTLoss", [0.2, 0.9, 0.5]),
        ("MultipleNegativesRankingLoss", None),
        ("OnlineContrastiveLoss", [1.0, 0.0, 0.0]),
    ],
)
def test_losses_call_a_plain_callable_model_as_sentence_transformers(name, labels) -> None:
    """The losses call ``model(features)`` as sentence-transformers does: a callable without ``forward``
    trains the same, not an AttributeError."""
    table = torch.randn(6, 8, generator=torch.Generator().manual_seed(3))
    features = [{"ids": torch.tensor([0, 1, 2])}, {"ids": torch.tensor([3, 4, 5])}]
    target = None if labels is None else torch.tensor(labels)
    mine = getattr(losses, name)(_TableModel(table))(features, target)
    reference = getattr(st_losses, name)(_TableModel(table))(features, target)
    torch.testing.assert_close(mine, reference)


def test_contrastive_loss_warns_once_for_soft_labels_with_a_callable_model() -> None:
    table = torch.randn(4, 8, generator=torch.Generator().manual_seed(4))
    features = [{"ids": torch.tensor([0, 1])}, {"ids": torch.tensor([2, 3])}]
    for module in (losses, st_losses):
        loss = module.ContrastiveLoss(_TableModel(table))
        with pytest.warns(UserWarning, match="ContrastiveLoss expects binary labels"):
            loss(features, torch.tensor([0.5, 1.0]))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss(features, torch.tensor([0.5, 1.0]))  # once per loss


@pytest.mark.parametrize("columns", [1, 3])
@pytest.mark.parametrize("mini_batched", [True, False])
def test_mega_batch_margin_names_its_columns_as_st(models, columns, mini_batched) -> None:
    message = rf"MegaBatchMarginLoss expects exactly 2 input columns, \(anchor, positive\), but got {columns}"
    for module, model in zip((losses, st_losses), models):
        features = [model.preprocess(["a first text", "a second one"]) for _ in range(columns)]
        loss = module.MegaBatchMarginLoss(model, use_mini_batched_version=mini_batched, mini_batch_size=2)
        with pytest.raises(ValueError, match=message):
            loss(features, None)
