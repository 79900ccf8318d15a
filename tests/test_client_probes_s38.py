"""Calls of beir's ``SentenceBERT`` (``encode(queries, prompt=..., prompt_name=..., batch_size=...,
convert_to_tensor=...)``, ``max_seq_length`` set on the model, the pool worker it looks up by a private
name), of pyterrier-dr's ``SBertBiEncoder`` (``model.tokenizer(texts, return_tensors="pt", truncation=True,
padding=True).to(device)`` then ``model.forward(inputs)["sentence_embedding"]`` with gradients) and of
embetter's ``SentenceEncoder`` (a pandas Series passed as ``Series.to_numpy()``, an object array of
strings), written out here without the libraries and compared with sentence-transformers on the same
folder."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import classic_pooling

import sbert

TEXTS = ["a cat sat on the mat", "x", "", "the river runs " * 40]


@pytest.fixture(scope="module")
def folder(tiny_st_factory):
    return str(tiny_st_factory(classic_pooling(32, "mean")))


def _both(folder, **options):
    import sentence_transformers as st

    return [lib.SentenceTransformer(folder, **options) for lib in (st, sbert)]


@pytest.mark.parametrize(
    ("prompt", "prompt_name", "tensor"),
    [(None, None, False), ("query: ", None, True), (None, "query", True), (None, None, True)],
)
def test_beir_sentence_bert_encodes_as_sentence_transformers(folder, prompt, prompt_name, tensor):
    outputs = []
    for model in _both(folder):
        model.max_seq_length = 8  # beir's max_length
        out = model.encode(
            TEXTS, prompt=prompt, prompt_name=prompt_name, batch_size=16, convert_to_tensor=tensor
        )
        outputs.append(out)
    theirs, ours = outputs
    assert type(ours) is type(theirs) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5)


def test_beir_missing_prompt_name_and_private_pool_worker_fail_as_in_sentence_transformers(folder):
    """beir passes prompt_names={"passage": ...} (absent from the default prompts) and starts its own pool
    with ``SentenceTransformer._encode_multi_process_worker``, which sentence-transformers 6 removed."""
    for model in _both(folder):
        with pytest.raises(ValueError, match="Prompt name 'passage' not found"):
            model.encode(TEXTS, prompt_name="passage")
        with pytest.raises(AttributeError):
            type(model)._encode_multi_process_worker  # noqa: B018


def test_pyterrier_dr_tokenizer_then_forward_trains_as_sentence_transformers(folder):
    import torch

    results = []
    for model in _both(folder):
        model = model.to(torch.device("cpu")).eval()
        inputs = model.tokenizer(TEXTS, return_tensors="pt", truncation=True, padding=True).to(model.device)
        embeddings = model.forward(inputs)["sentence_embedding"]
        embeddings = torch.nn.functional.normalize(embeddings, p=2, dim=1)
        embeddings.sum().backward()
        grad = next(model.parameters()).grad.clone()
        model.zero_grad()
        results.append((embeddings.detach(), embeddings.requires_grad, grad))
    (theirs, their_grad_on, their_grad), (ours, our_grad_on, our_grad) = results
    assert our_grad_on and their_grad_on
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(our_grad, their_grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", [None, object])
def test_embetter_array_of_strings_encodes_as_sentence_transformers(folder, dtype):
    theirs, ours = (model.encode(np.array(TEXTS, dtype=dtype)) for model in _both(folder))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
