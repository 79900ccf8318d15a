"""``model.tokenizer.encode`` of a list of texts as a transformers tokenizer's: one id list per text (it
gave sbert's internal encodings, the batching step, now ``encode_texts``), with the keywords of one text."""

from __future__ import annotations

import pytest

TEXTS = ["The cat sat on the mat.", "a [SEP] b", ""]
CASES = [
    ((TEXTS,), {}),
    ((TEXTS,), {"add_special_tokens": False}),
    ((TEXTS,), {"truncation": True, "max_length": 5}),
    ((TEXTS,), {"padding": True}),
    ((TEXTS, ["x y", "z", "w"]), {}),  # pairs, text by text
    ((TEXTS,), {"split_special_tokens": True}),
]


@pytest.mark.parametrize(("args", "options"), CASES)
def test_encode_of_a_list_gives_transformers_id_lists(default_model, st_default_model, args, options):
    ours = default_model.tokenizer.encode(*args, **options)
    assert ours == st_default_model.tokenizer.encode(*args, **options)
    assert isinstance(ours, list) and all(isinstance(row, list) for row in ours)


def test_encoding_a_list_leaves_encode_unchanged(default_model):
    """The tokenizer's own batching step is separate: ``encode`` of a list changes nothing in ``encode``."""
    before = default_model.encode(TEXTS)
    default_model.tokenizer.encode(TEXTS, truncation=True, max_length=3)
    assert (default_model.encode(TEXTS) == before).all()
