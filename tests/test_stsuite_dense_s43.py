"""Scenarios of sentence-transformers' own test suite run against sbert and sentence-transformers 6.3 on the
same inputs: the Pooling module on half-precision token embeddings sums in float32 and casts back, as
sentence-transformers does (a bfloat16 or float16 sum over the tokens rounds at every step)."""

from __future__ import annotations

import pytest
import sentence_transformers.sentence_transformer.modules as st_models
import torch

import sbert.models as sbert_models

HALF = [torch.float16, torch.bfloat16]
MODES = ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]


def token_batch(dtype):
    torch.manual_seed(0)
    tokens = (torch.randn(4, 9, 6) * 3).to(dtype)
    mask = torch.tensor(
        [[1] * 9, [1] * 5 + [0] * 4, [0] * 3 + [1] * 6, [1, 0, 1, 0, 1, 1, 0, 1, 0]], dtype=torch.int64
    )
    return tokens, mask


def pooled(library, modes, tokens, mask, **options):
    """The sentence embedding ``library``'s Pooling gives (``options``: its keywords, a prompt length)."""
    prompt = {"prompt_length": options.pop("prompt_length")} if "prompt_length" in options else {}
    pooling = library.Pooling(tokens.shape[-1], pooling_mode=modes, **options)
    features = {"token_embeddings": tokens, "attention_mask": mask.clone(), **prompt}
    return pooling(features)["sentence_embedding"]


@pytest.mark.parametrize("dtype", HALF + [torch.float32, torch.float64])
@pytest.mark.parametrize("modes", [*MODES, ("mean", "mean_sqrt_len_tokens", "weightedmean")])
def test_pooling_half_precision_sums_as_sentence_transformers(dtype, modes):
    tokens, mask = token_batch(dtype)
    ours, theirs = pooled(sbert_models, modes, tokens, mask), pooled(st_models, modes, tokens, mask)
    assert ours.dtype == theirs.dtype == dtype
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("mode", ["mean", "weightedmean"])
def test_pooling_half_precision_without_the_prompt_as_sentence_transformers(dtype, mode):
    tokens, mask = token_batch(dtype)
    options = {"include_prompt": False, "prompt_length": torch.tensor([2, 2, 2, 2])}
    ours = pooled(sbert_models, mode, tokens, mask, **dict(options))
    theirs = pooled(st_models, mode, tokens, mask, **dict(options))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", HALF)
def test_pooling_half_precision_gradients_as_sentence_transformers(dtype):
    grads = []
    for library in (sbert_models, st_models):
        tokens, mask = token_batch(dtype)
        tokens.requires_grad_(True)
        pooled(library, ("mean", "weightedmean"), tokens, mask).float().pow(2).sum().backward()
        grads.append(tokens.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


class Identity(torch.nn.Module):
    """A stand-in model: the losses below are called on embeddings directly."""

    def forward(self, features):
        return features


COSINE_LOSSES = {
    "MultipleNegativesRankingLoss": 3,
    "MultipleNegativesSymmetricRankingLoss": 2,
    "CoSENTLoss": 2,
    "AnglELoss": 2,
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", list(COSINE_LOSSES))
def test_cosine_losses_on_half_precision_embeddings_as_sentence_transformers(name, dtype):
    """sentence-transformers' cosine similarities upcast float16 / bfloat16 embeddings to float32 (its
    ``util.cos_sim`` / ``pairwise_cos_sim``), so a loss on half-precision embeddings is a float32 loss."""
    import sentence_transformers.sentence_transformer.losses as st_losses

    import sbert.losses as sbert_losses

    torch.manual_seed(0)
    columns = [torch.randn(4, 6).to(dtype) for _ in range(COSINE_LOSSES[name])]
    labels = torch.tensor([0.9, 0.1, 0.5, 0.3])
    results = []
    for library in (sbert_losses, st_losses):
        embeddings = [column.clone().requires_grad_(True) for column in columns]
        loss = getattr(library, name)(Identity()).compute_loss_from_embeddings(embeddings, labels)
        loss.backward()
        results.append((loss, [embedding.grad for embedding in embeddings]))
    (ours, our_grads), (theirs, their_grads) = results
    assert ours.dtype == theirs.dtype
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    # the gradients are summed in the embeddings' half precision where a column feeds two terms, so the
    # graphs' shapes leave them a few steps of it apart (a bfloat16 step at 1 is 0.0078)
    torch.testing.assert_close(our_grads, their_grads, rtol=0, atol=8e-3)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", ["CosineSimilarityLoss", "ContrastiveLoss", "OnlineContrastiveLoss"])
def test_pairwise_cosine_losses_stay_in_half_precision_as_sentence_transformers(name, dtype):
    """These losses take ``torch.cosine_similarity`` in the embeddings' own dtype there, not util's upcast."""
    import sentence_transformers.sentence_transformer.losses as st_losses

    import sbert.losses as sbert_losses

    torch.manual_seed(0)
    columns = [torch.randn(4, 6).to(dtype) for _ in range(2)]
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    ours, theirs = (
        getattr(library, name)(Identity()).compute_loss_from_embeddings(columns, labels)
        for library in (sbert_losses, st_losses)
    )
    assert ours.dtype == theirs.dtype
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
