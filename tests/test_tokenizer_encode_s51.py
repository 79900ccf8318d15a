"""``model.tokenizer.encode`` of one text as a transformers tokenizer's: its keywords named in the signature,
where chunkers look for them before passing them (semchunk checks for ``add_special_tokens`` and
``split_special_tokens``; without them it counted ``[CLS]`` and ``[SEP]`` in every chunk), and the same ids
as sentence-transformers' tokenizer for each of them."""

from __future__ import annotations

import inspect

import pytest

CASES = [
    (("a [SEP] b",), {"add_special_tokens": False, "split_special_tokens": True}),
    (("a [SEP] b",), {"split_special_tokens": True}),
    (("a [SEP] b",), {"add_special_tokens": False}),
    (("a [SEP] b", "c d"), {}),
    (("a b c d e f",), {"max_length": 4, "truncation": True}),
    (("a b",), {"padding": "max_length", "max_length": 6}),
    (("a b", None, False), {}),  # add_special_tokens by position, as transformers' signature orders it
]


def test_encode_names_transformers_keywords(default_model, st_default_model):
    ours = inspect.signature(default_model.tokenizer.encode).parameters
    theirs = list(inspect.signature(st_default_model.tokenizer.encode).parameters)
    assert {"add_special_tokens", "split_special_tokens"} <= set(ours)
    assert (
        list(ours)[:6] == theirs[:6]
    )  # text, text_pair, add_special_tokens, padding, truncation, max_length


@pytest.mark.parametrize(("args", "options"), CASES)
def test_encode_gives_transformers_ids(default_model, st_default_model, args, options):
    assert default_model.tokenizer.encode(*args, **options) == st_default_model.tokenizer.encode(
        *args, **options
    )


def test_call_splits_special_tokens_as_transformers(default_model, st_default_model):
    texts = ["a [SEP] b", "[CLS] c"]
    ours = default_model.tokenizer(texts, split_special_tokens=True, padding=True)["input_ids"]
    assert [list(row) for row in ours] == st_default_model.tokenizer(
        texts, split_special_tokens=True, padding=True
    )["input_ids"]
