"""util.maxsim and its family (late-interaction scores of token embeddings) as sentence-transformers' util
computes them: every input form, masks, length normalization, chunking, half precision, bad shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sbert import InputError, util

FUNCTIONS = ["maxsim", "maxsim_pairwise", "mean_maxsim", "mean_maxsim_pairwise"]


def reference(name):
    from sentence_transformers.util import similarity

    return getattr(similarity, name)


def ragged(seed, n, dim=8):
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(int(length), dim, generator=generator)
        for length in torch.randint(1, 7, (n,), generator=generator)
    ]


def padded(items):
    longest = max(len(i) for i in items)
    tensor = torch.zeros(len(items), longest, items[0].shape[1])
    mask = torch.zeros(len(items), longest, dtype=torch.bool)
    for k, item in enumerate(items):
        tensor[k, : len(item)], mask[k, : len(item)] = item, True
    return tensor, mask


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_input_form_scores_as_sentence_transformers(name):
    ours, theirs = getattr(util, name), reference(name)
    queries, documents = ragged(0, 4), ragged(1, 4)
    (q, q_mask), (d, d_mask) = padded(queries), padded(documents)
    q_mask[0, 0] = False  # a masked query token adds nothing
    cases = [
        ((queries, documents), {}),  # lists of (tokens, dim) items
        ((q, d), {"a_mask": q_mask, "b_mask": d_mask}),  # padded tensors with masks
        ((q.numpy(), d.numpy()), {"a_mask": q_mask, "b_mask": d_mask}),  # arrays
        ((q, d), {"a_mask": q_mask, "b_mask": d_mask, "chunk_elements": 50}),  # many small chunks
        ((q, d), {"a_mask": q_mask, "b_mask": d_mask, "length_normalize": not name.startswith("mean")}),
        ((queries[0], documents[0]), {}),  # one item each: a batch of one
    ]
    for args, options in cases:
        expected = theirs(*args, **options)
        got = ours(*args, **options)
        assert got.dtype == expected.dtype == torch.float32 and got.shape == expected.shape, options
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_half_precision_is_scored_in_float32_and_matrices_have_each_pair():
    queries, documents = ragged(2, 3), ragged(3, 5)
    half_q, half_d = [q.half() for q in queries], [d.half() for d in documents]
    got = util.maxsim(half_q, half_d)
    assert got.shape == (3, 5) and got.dtype == torch.float32
    torch.testing.assert_close(got, reference("maxsim")(half_q, half_d), atol=1e-3, rtol=1e-3)
    by_pair = torch.tensor([[util.maxsim(q, d).item() for d in documents] for q in queries])
    torch.testing.assert_close(util.maxsim(queries, documents), by_pair, atol=1e-5, rtol=1e-5)


def test_padded_stacks_match_sentence_transformers():
    from sentence_transformers.util import tensor as st_tensor

    embeddings = [torch.randn(2, 3, 4), torch.randn(2, 5, 4)]
    masks = [torch.ones(2, 3), torch.ones(2, 5)]
    for name in ("stack_padded_token_embeddings", "cat_padded_token_embeddings"):
        for ours, theirs in zip(
            getattr(util, name)(embeddings, masks), getattr(st_tensor, name)(embeddings, masks)
        ):
            torch.testing.assert_close(ours, theirs)


def test_bad_shapes_name_the_expected_ones():
    with pytest.raises(InputError, match=r"\(batch, tokens, dim\)"):
        util.maxsim(np.zeros(3), np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="8 wide, b's 4"):
        util.maxsim(torch.zeros(2, 3, 8), torch.zeros(2, 3, 4))
    with pytest.raises(InputError, match="a_mask has shape"):
        util.maxsim(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), a_mask=torch.ones(2, 4))
    with pytest.raises(InputError, match="a holds 2 items, b 3"):
        util.maxsim_pairwise(torch.zeros(2, 3, 4), torch.zeros(3, 3, 4))


@pytest.mark.parametrize("length_normalize", [False, True])
def test_numpy_maxsim_reads_padding_and_empty_documents_as_the_torch_one(length_normalize):
    """The numpy MaxSim (an ONNX MultiVectorEncoder's where torch is not installed) on padded arrays: all-zero
    rows are padding and an empty document scores -1e9 (divided by the query's length for meanmaxsim), as
    sbert.util.maxsim / mean_maxsim score the same tensors."""
    from sbert._maxsim import maxsim_arrays

    rng = np.random.default_rng(0)
    queries = rng.normal(size=(2, 4, 8)).astype(np.float32)
    queries[1, 3:] = 0
    documents = rng.normal(size=(3, 6, 8)).astype(np.float32)
    documents[0, 4:] = 0
    documents[2] = 0
    reference = (util.mean_maxsim if length_normalize else util.maxsim)(
        torch.from_numpy(queries), torch.from_numpy(documents)
    )
    ours = maxsim_arrays(queries, documents, length_normalize=length_normalize)
    np.testing.assert_allclose(ours, reference.numpy(), rtol=1e-6, atol=1e-5)
