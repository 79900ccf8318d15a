"""SparseEncoder's torch API against sentence-transformers 6.3, side by side on the same tiny SPLADE folder:
the order in which ``encode`` checks its options (an unknown prompt name, the prompt/prompt_name notice, then
``max_active_dims``; an empty input checks none of them) and the words of its ``max_active_dims`` and
``similarity_fn_name`` errors."""

from __future__ import annotations

import logging

import pytest

TEXTS = ["The weather is nice!", "It's sunny outside"]


@pytest.fixture(scope="module")
def splade_pair(masked_lm):
    import sentence_transformers

    import sbert

    folder = str(masked_lm)
    return (
        sentence_transformers.SparseEncoder(folder, device="cpu"),
        sbert.SparseEncoder(folder, device="cpu"),
    )


def _outcome(call, caplog):
    """What a user sees: the error (type's base ValueError/TypeError and message) or the result's shape, and
    the warnings logged on the way."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        try:
            result = ("ok", tuple(call().shape))
        except ValueError as error:
            result = ("ValueError", str(error))
    return result, [record.getMessage() for record in caplog.records]


@pytest.mark.parametrize(
    "options",
    [
        {"max_active_dims": 0},
        {"max_active_dims": -2},
        {"max_active_dims": 0, "prompt_name": "nope"},
        {"max_active_dims": 0, "prompt_name": "query", "prompt": "q: "},
    ],
)
def test_encode_checks_options_in_sentence_transformers_order(splade_pair, options, caplog):
    reference, model = splade_pair
    (kind, message), logged = _outcome(lambda: reference.encode_query(TEXTS, **options), caplog)
    (got_kind, got_message), got_logged = _outcome(lambda: model.encode_query(TEXTS, **options), caplog)
    assert (got_kind, got_logged) == (kind, logged)
    assert got_message.startswith(message)  # sbert may add what to do next


@pytest.mark.parametrize("setting", [0, -1])
def test_a_bad_max_active_dims_attribute_fails_as_in_sentence_transformers(splade_pair, setting, caplog):
    outcomes = []
    for encoder in splade_pair:
        encoder.max_active_dims = setting
        try:
            outcomes.append(_outcome(lambda m=encoder: m.encode(TEXTS), caplog))
        finally:
            encoder.max_active_dims = None
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize("sparse", [True, False])
def test_an_empty_input_ignores_max_active_dims_as_sentence_transformers(splade_pair, sparse, caplog):
    reference, model = splade_pair
    options = {"max_active_dims": 0, "convert_to_sparse_tensor": sparse}
    expected = _outcome(lambda: reference.encode([], **options), caplog)
    assert _outcome(lambda: model.encode([], **options), caplog) == expected


def test_unknown_similarity_fn_name_says_what_sentence_transformers_says(splade_pair):
    messages = []
    for encoder in splade_pair:
        with pytest.raises(ValueError) as caught:
            encoder.similarity_fn_name = "nope"
        messages.append(str(caught.value))
    assert messages[1] == messages[0]


def _dense_scores(score, a, b):
    scores = score(a, b)
    return scores.layout, scores.to_dense()


@pytest.mark.parametrize("rows", [(2, 2), (2, 1), (1, 2)])
def test_dot_scores_of_csr_embeddings_are_dense_as_in_sentence_transformers(splade_pair, rows):
    import torch
    from sentence_transformers import util as st_util

    from sbert import util

    reference, model = splade_pair
    embeddings = reference.encode(TEXTS, convert_to_sparse_tensor=False)
    a, b = embeddings[: rows[0]].to_sparse_csr(), embeddings[: rows[1]].to_sparse_csr()
    for ours, theirs in ((model.similarity, reference.similarity), (util.dot_score, st_util.dot_score)):
        layout, scores = _dense_scores(ours, a, b)
        expected_layout, expected = _dense_scores(theirs, a, b)
        assert layout == expected_layout == torch.strided
        torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-5)
