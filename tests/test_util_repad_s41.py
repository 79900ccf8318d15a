"""``util.repad_flattened_features`` (sentence-transformers 6.3, for custom modules after a flash-attention
flattened batch): the same padded features as sentence-transformers' for the same flattened input."""

from __future__ import annotations

import pytest
import torch


def _flattened(lengths, width=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    total = sum(lengths)
    bounds = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    return {
        "token_embeddings": torch.randn(1, total, width, generator=generator),
        "input_ids": torch.randint(1, 100, (1, total), generator=generator),
        "cu_seq_lens_q": bounds,
        "cu_seq_lens_k": bounds.clone(),
        "max_length_q": max(lengths),
        "max_length_k": max(lengths),
        "position_ids": torch.cat([torch.arange(n) for n in lengths])[None],
        "sentence_embedding": torch.zeros(len(lengths), width),  # other features stay
    }


@pytest.mark.parametrize("lengths", [[3, 1, 4], [2], [5, 5], [1, 7, 2, 2]])
def test_repad_flattened_features_as_sentence_transformers(lengths):
    from sentence_transformers.util import repad_flattened_features as theirs

    from sbert.util import repad_flattened_features as ours
    from sbert.util.tensor import repad_flattened_features as at_the_tensor_path

    assert at_the_tensor_path is ours
    expected, features = theirs(_flattened(lengths)), _flattened(lengths)
    returned = ours(features)
    assert returned is features  # in place, as there
    assert sorted(returned) == sorted(expected)
    for key, value in expected.items():
        assert returned[key].dtype == value.dtype and returned[key].shape == value.shape, key
        assert torch.equal(returned[key], value), key
