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
