"""What is set on ``model.tokenizer`` survives a save, as transformers' ``save_pretrained`` (which
sentence-transformers' save calls) writes it: the padding and truncation sides (a model set to keep the end of
long texts came back keeping the start: cosine 0.697 to its own vectors before the save) and special tokens
set as attributes (``tokenizer.pad_token = tokenizer.eos_token``, ``do_lower_case``).
``model_max_length = int(1e30)``, transformers' "no limit", is no limit (it raised OverflowError, leaving the
old limit in force)."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from sbert import SentenceTransformer

LONG = (
    "The start of a long document about cats. " + "filler words here and there " * 80 + "It ends on stocks."
)


@pytest.fixture
def fresh_model(default_model_path):
    return SentenceTransformer(str(default_model_path))


def test_sides_set_on_the_tokenizer_are_saved(fresh_model, tmp_path):
    fresh_model.tokenizer.truncation_side = "left"
    fresh_model.tokenizer.padding_side = "left"
    before = fresh_model.encode(["short", LONG])
    fresh_model.save(str(tmp_path / "model"))
    reloaded = SentenceTransformer(str(tmp_path / "model"))
    reference = AutoTokenizer.from_pretrained(str(tmp_path / "model"))  # what sentence-transformers loads
    for tokenizer in (reloaded.tokenizer, reference):
        assert (tokenizer.truncation_side, tokenizer.padding_side) == ("left", "left")
    np.testing.assert_allclose(reloaded.encode(["short", LONG]), before, atol=1e-6)


def test_special_tokens_set_as_attributes_are_saved(fresh_model, tmp_path):
    """And ``do_lower_case``, which transformers lets one set (it raised): the tokenizer tokenizes as before,
    the setting is saved, and a reload follows it."""
    tokenizer = fresh_model.tokenizer
    cased = tokenizer("Hello")["input_ids"]
    tokenizer.do_lower_case = False
    assert tokenizer.do_lower_case is False and tokenizer("Hello")["input_ids"] == cased
    tokenizer.pad_token = tokenizer.sep_token
    padded = tokenizer(["hi", "hello there world"], padding=True)["input_ids"][0]
    assert padded[-1] == tokenizer.sep_token_id
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    fresh_model.save(str(tmp_path / "model"))
    for folder in (tmp_path / "tokenizer", tmp_path / "model"):
        assert AutoTokenizer.from_pretrained(str(folder)).pad_token == "[SEP]"
    again = SentenceTransformer(str(tmp_path / "model")).tokenizer
    assert again.pad_token == "[SEP]"
    reference = AutoTokenizer.from_pretrained(str(tmp_path / "model"))
    assert again("Hello")["input_ids"] == reference("Hello")["input_ids"] != cased
    assert again(["hi", "hello there world"], padding=True)["input_ids"][0] == padded


def test_unchanged_tokenizer_files_are_copied_as_they_were(fresh_model, default_model_path, tmp_path):
    fresh_model.tokenizer.truncation_side = "right"  # the loaded value: nothing changed
    fresh_model.save(str(tmp_path / "model"))
    for name in ("tokenizer.json", "special_tokens_map.json"):
        assert (tmp_path / "model" / name).read_bytes() == (default_model_path / name).read_bytes()


def test_transformers_no_limit_value_means_no_limit(fresh_model, default_model_path):
    reference = AutoTokenizer.from_pretrained(str(default_model_path))  # what sentence-transformers holds
    text = "word " * 600
    for tokenizer in (fresh_model.tokenizer, reference):
        tokenizer.model_max_length = int(1e30)
    ours = fresh_model.tokenizer(text, truncation=True)["input_ids"]
    assert ours == reference(text, truncation=True)["input_ids"] and len(ours) == 602
    assert fresh_model.tokenizer.encode_texts([text])[0].ids == ours  # the model's own batching step too
    assert fresh_model.max_seq_length == int(1e30)


def test_a_special_token_outside_the_vocabulary_has_the_unknown_id(fresh_model, default_model_path):
    """As in transformers (it was None, and padding wrote id 0)."""
    reference = AutoTokenizer.from_pretrained(str(default_model_path))
    for tokenizer in (fresh_model.tokenizer, reference):
        tokenizer.pad_token = "<not in the vocabulary>"
    assert fresh_model.tokenizer.pad_token_id == reference.pad_token_id == reference.unk_token_id
    texts = ["hi", "hello there world"]
    ours = fresh_model.tokenizer(texts, padding=True)["input_ids"]
    assert ours == reference(texts, padding=True)["input_ids"]


def test_split_special_tokens_set_on_the_tokenizer_applies_to_calls_and_encode(
    fresh_model, st_default_model, tmp_path
):
    """As transformers' attribute (it was ignored): calls and ``model.encode`` read a special token's text
    as text; a call's own ``split_special_tokens=False`` still wins."""
    text = "a [SEP] b"
    before = fresh_model.encode([text])
    fresh_model.tokenizer.split_special_tokens = True
    st_default_model.tokenizer.split_special_tokens = True
    try:
        reference_ids = st_default_model.tokenizer(text)["input_ids"]
        reference_vectors = st_default_model.encode([text])
    finally:
        st_default_model.tokenizer.split_special_tokens = False
    assert fresh_model.tokenizer(text)["input_ids"] == reference_ids
    assert fresh_model.tokenizer.encode(text) == reference_ids
    np.testing.assert_allclose(fresh_model.encode([text]), reference_vectors, atol=1e-6)
    assert np.abs(fresh_model.encode([text]) - before).max() > 1e-3
    assert fresh_model.tokenizer(text, split_special_tokens=False)["input_ids"] == [101, 1037, 102, 1038, 102]
