"""A tokenizer call with a token limit other than the model's (a call's ``max_length``, sentence-transformers'
``processing_kwargs``) reads a truncating copy of the Rust tokenizer: made once per limit and kept, not per
batch, and made again after the tokenizer changes (added tokens, the truncation side, a new normalizer)."""

from __future__ import annotations

from sbert._tokens.tokenizer import TextTokenizer

TEXT = "the weather is lovely today and the cat sat on the mat"


def test_a_limit_reuses_its_copy_and_a_change_makes_it_again(tiny_bert):
    tokenizer = TextTokenizer.from_folder(tiny_bert)
    first = tokenizer._encoder(5)
    assert tokenizer._encoder(5) is first and tokenizer._encoder(6) is not first
    assert tokenizer._encoder(tokenizer.max_length) is tokenizer.backend  # the model's own limit: no copy
    cut = tokenizer([TEXT], max_length=5)["input_ids"][0]
    assert len(cut) == 5

    tokenizer.add_tokens(["weatherword"])
    assert tokenizer._encoder(5) is not first
    ids = tokenizer(["weatherword " + TEXT], max_length=5)["input_ids"][0]
    assert ids[1] == tokenizer.convert_tokens_to_ids("weatherword") and len(ids) == 5

    right = tokenizer([TEXT], max_length=5)["input_ids"][0]
    tokenizer.truncation_side = "left"
    left = tokenizer([TEXT], max_length=5)["input_ids"][0]
    assert left != right and left[-2] == tokenizer([TEXT])["input_ids"][0][-2]  # the end kept
