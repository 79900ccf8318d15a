"""``model.tokenizer`` counts as transformers' ``PreTrainedTokenizerBase``, as sentence-transformers' does:
langchain's ``TextSplitter.from_huggingface_tokenizer(model.tokenizer)`` and docling's
``HuggingFaceTokenizer`` refused sbert's ("not an instance of PreTrainedTokenizerBase"). The base adds only
that check: names transformers' class would add stay missing, and sbert still tells its own tokenizer from a
transformers one. (Made before transformers is imported: tests/test_st_registration_s45.py.)"""

from __future__ import annotations

import pickle

import pytest
from transformers import PreTrainedTokenizerBase

from sbert._tokens.tokenizer import is_transformers_tokenizer

TEXT = " ".join(f"Sentence {i} is about topic {i % 5}, and a little more." for i in range(12))


def _tokenizer_length(tokenizer) -> int:
    """langchain's ``from_huggingface_tokenizer``: the check, then ``len(tokenizer.tokenize(text))``."""
    if not isinstance(tokenizer, PreTrainedTokenizerBase):
        raise ValueError("Tokenizer received was not an instance of PreTrainedTokenizerBase")
    return len(tokenizer.tokenize(TEXT))


def test_tokenizers_pass_transformers_check_as_sentence_transformers(default_model, st_default_model):
    assert _tokenizer_length(default_model.tokenizer) == _tokenizer_length(st_default_model.tokenizer)
    assert isinstance(default_model[0].tokenizer, PreTrainedTokenizerBase)


def test_cross_encoder_tokenizer_passes_the_check(tmp_path):
    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

    from sbert import CrossEncoder

    folder = build_tiny_classifier(tmp_path / "cross")
    assert isinstance(ReferenceCrossEncoder(str(folder)).tokenizer, PreTrainedTokenizerBase)
    assert isinstance(CrossEncoder(str(folder)).tokenizer, PreTrainedTokenizerBase)


def test_names_only_transformers_defines_stay_missing(default_model):
    tokenizer = default_model.tokenizer
    own_classes = [  # sbert's classes, not the bases made from transformers' classes
        kind
        for kind in type(tokenizer).__mro__
        if kind.__module__.startswith("sbert.") and kind.__module__ != "sbert._tokens.transformers_base"
    ]
    ours = {name for kind in own_classes for name in vars(kind)}
    theirs = {
        name
        for kind in PreTrainedTokenizerBase.__mro__[:-1]
        for name in vars(kind)
        if not name.startswith("__") and name not in ours and name not in vars(tokenizer)
    }
    assert theirs, "transformers' class defines names sbert's lacks (apply_chat_template, ...)"
    reached = sorted(name for name in theirs if hasattr(tokenizer, name))
    assert reached == [], f"transformers' code reached through the base: {reached}"
    assert not set(dir(tokenizer)) & theirs  # dir() lists only what reads
    with pytest.raises(AttributeError, match="no_such_name"):
        tokenizer.no_such_name  # noqa: B018 (transformers' __getattr__ would log and answer special names)


def test_own_attribute_handling_stays(default_model):
    """transformers' ``__setattr__`` would store special tokens in its own table (missing here), its repr
    would read its own state."""
    tokenizer = pickle.loads(pickle.dumps(default_model.tokenizer))  # a copy: the shared model stays as it is
    tokenizer.pad_token = "[MASK]"
    assert tokenizer.pad_token == "[MASK]" and tokenizer.pad_token_id == tokenizer.mask_token_id
    assert repr(tokenizer).startswith("<sbert.")
    assert isinstance(tokenizer, PreTrainedTokenizerBase)


def test_sbert_tokenizer_is_not_taken_for_a_transformers_one(default_model):
    """Putting sbert's own tokenizer in place keeps it (a transformers one would be converted)."""
    module = default_model[0]
    tokenizer = module.tokenizer
    assert not is_transformers_tokenizer(tokenizer)
    module.tokenizer = tokenizer
    assert module.tokenizer is tokenizer
