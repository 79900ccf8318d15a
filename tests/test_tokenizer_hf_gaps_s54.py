"""``model.tokenizer`` as sentence-transformers' (a transformers 5 fast tokenizer) for the gaps the session-54
audit found: what a call returns counts as transformers' ``BatchEncoding`` and has its ``data`` (data
collators and a trainer's ``model(**batch)`` take it), the tokenizer counts as ``PreTrainedTokenizerFast``, a
call without a limit logs transformers' long-sequence warning once per tokenizer (never ``model.encode``),
padding without a pad token is refused on the tokenizer's own calls only, and a text of another type is
refused with an error that is a ``ValueError`` (as there) and a ``TypeError``. Each is compared with
transformers' ``AutoTokenizer`` of the same folder, which is what sentence-transformers loads."""

from __future__ import annotations

import copy
import logging
import pickle

import numpy as np
import pytest
import torch
import transformers
from conftest import WarningMessages, build_tiny_gpt2, child_json, classic_pooling, write_st_folder

from sbert import SentenceTransformer
from sbert._tokens.tokenizer import TextTokenizer

TEXTS = ["the cat sat on the mat", "a man plays guitar", "she"]
LONG = " ".join(["the cat sat"] * 30)  # 90 tokens and more: over the tiny tokenizers' 64
NO_PAD = "Asking to pad but the tokenizer does not have a padding token"


@pytest.fixture(scope="module")
def bert_pair(tiny_bert):
    """sbert's tokenizer and transformers' ``AutoTokenizer`` of the tiny BERT's folder."""
    return TextTokenizer.from_folder(tiny_bert), transformers.AutoTokenizer.from_pretrained(str(tiny_bert))


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    return build_tiny_gpt2(tmp_path_factory.mktemp("gpt2") / "gpt2", TEXTS)


def _same(mine, reference) -> None:
    """Two feature dicts hold the same keys, in order, and values (tensors compared as lists)."""
    assert list(mine) == list(reference)
    for key in reference:
        ours, theirs = mine[key], reference[key]
        if isinstance(theirs, torch.Tensor):
            assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype
            ours, theirs = ours.tolist(), theirs.tolist()
        assert ours == theirs, key


def test_a_call_returns_a_transformers_batch_encoding_with_its_data(bert_pair):
    ours, theirs = bert_pair
    for options in ({}, {"padding": True, "return_tensors": "pt"}):
        mine, reference = ours(TEXTS, **options), theirs(TEXTS, **options)
        assert isinstance(mine, transformers.BatchEncoding)
        assert isinstance(reference, transformers.BatchEncoding)
        _same(mine.data, reference.data)
    for batch in (ours(TEXTS), theirs(TEXTS)):  # written through data, read off the batch
        batch.data["labels"] = [1, 0, 1]
        assert batch["labels"] == [1, 0, 1] and batch.data is batch.data
        batch.data = {"input_ids": [[2, 3]]}
        assert dict(batch) == {"input_ids": [[2, 3]]} and batch.input_ids == [[2, 3]]


def test_the_batch_encoding_base_runs_none_of_transformers_code(bert_pair):
    """Copies and pickles stay sbert's dicts (transformers' ``__getstate__`` would read its ``data``), and
    names only transformers' class defines read as missing."""
    ours, theirs = bert_pair
    batch = ours(TEXTS, padding=True, return_tensors="pt")
    assert isinstance(batch, transformers.BatchEncoding)
    assert not hasattr(batch, "convert_to_tensors") and "convert_to_tensors" not in dir(batch)
    for copied in (copy.copy(batch), copy.deepcopy(batch), pickle.loads(pickle.dumps(batch))):
        assert type(copied) is type(batch) and isinstance(copied, dict)
        _same(copied, batch)
        assert copied.tokens(1) == theirs(TEXTS, padding=True).tokens(1)


def test_data_collators_and_a_forward_take_its_batches(tiny_bert, bert_pair):
    """``DataCollatorWithPadding`` and ``DataCollatorForLanguageModeling`` give what they give with
    transformers' tokenizer, as a transformers ``BatchEncoding``; a trainer's step rebuilds the batch by its
    type and calls ``model(**batch)``."""
    encoder = transformers.AutoModel.from_pretrained(str(tiny_bert)).eval()
    collated = {}
    for name, tokenizer in zip(("ours", "theirs"), bert_pair):
        rows = [tokenizer(text) for text in TEXTS]
        padded = transformers.DataCollatorWithPadding(tokenizer)([{**row, "label": 1} for row in rows])
        torch.manual_seed(0)
        masked = transformers.DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.5)(rows)
        batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
        batch = type(batch)({key: value.to("cpu") for key, value in batch.items()})  # Trainer._prepare_input
        with torch.no_grad():
            hidden = encoder(**batch).last_hidden_state
        assert all(isinstance(out, transformers.BatchEncoding) for out in (padded, masked))
        collated[name] = (padded, masked, hidden)
    for mine, reference in zip(collated["ours"], collated["theirs"]):
        if isinstance(reference, torch.Tensor):
            torch.testing.assert_close(mine, reference)
        else:
            _same(mine, reference)


def test_the_tokenizer_counts_as_pretrained_tokenizer_fast(bert_pair):
    """transformers 5's ``PreTrainedTokenizerFast`` is ``TokenizersBackend``; what it defines that sbert's
    class lacks stays missing."""
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    ours, theirs = bert_pair
    assert transformers.PreTrainedTokenizerFast is TokenizersBackend
    assert isinstance(theirs, transformers.PreTrainedTokenizerFast)
    assert isinstance(ours, transformers.PreTrainedTokenizerFast)
    assert isinstance(ours, transformers.PreTrainedTokenizerBase)
    own = {
        name
        for kind in type(ours).__mro__
        if kind.__module__.startswith("sbert.") and kind.__module__ != "sbert._tokens.transformers_base"
        for name in vars(kind)
    }
    theirs_only = {
        name
        for kind in TokenizersBackend.__mro__[:-1]
        for name in vars(kind)
        if not name.startswith("__") and name not in own and name not in vars(ours)
    }
    assert theirs_only  # transformers' class has names sbert's lacks (train_new_from_iterator, ...)
    assert sorted(name for name in theirs_only if hasattr(ours, name)) == []


CHECK = """
import json, sys
import sbert
from sbert._tokens.tokenizer import TextTokenizer
tokenizer = TextTokenizer.from_folder(sys.argv[1])
batch = tokenizer(["the cat"])
imported = "transformers.tokenization_utils_base" in sys.modules
import transformers
print(json.dumps({
    "imported_by_sbert": imported,
    "batch": isinstance(batch, transformers.BatchEncoding),
    "later_batch": isinstance(tokenizer(["the cat"]), transformers.BatchEncoding),
    "fast_tokenizer_class": isinstance(tokenizer, transformers.PreTrainedTokenizerFast),
}))
"""


def test_objects_made_before_transformers_is_imported_count_too(tiny_bert):
    found = child_json(CHECK, tiny_bert)
    assert found == {
        "imported_by_sbert": False,
        "batch": True,
        "later_batch": True,
        "fast_tokenizer_class": True,
    }


@pytest.fixture
def long_warnings():
    """The messages logged on transformers' tokenizer logger (which does not propagate to the root)."""
    handler = WarningMessages()
    logger = logging.getLogger("transformers.tokenization_utils_base")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


WARNED = {
    "call": lambda t: t(LONG),
    "padded batch": lambda t: t([TEXTS[0], LONG], padding=True),
    "no truncation": lambda t: t(LONG, truncation=False),
    "encode": lambda t: t.encode(LONG),
    "tokenize": lambda t: t.tokenize(LONG),
    "text_target": lambda t: t(text_target=LONG),
    "overflowing rows": lambda t: t([LONG], return_overflowing_tokens=True),
}
QUIET = {
    "truncation": lambda t: t(LONG, truncation=True),
    "max_length": lambda t: t(LONG, max_length=200, truncation=False),
    "max_length padding": lambda t: t(LONG, padding="max_length"),
    "verbose=False": lambda t: t(LONG, verbose=False),
    "pad": lambda t: t.pad({"input_ids": list(range(100))}),
    "short": lambda t: t(TEXTS),
}


def _logged(tokenizers, long_warnings, *calls) -> list[list[list[str]]]:
    """Per tokenizer (its once-per-tokenizer record emptied first), the messages each of ``calls`` logged."""
    logged = []
    for tokenizer in tokenizers:
        tokenizer.deprecation_warnings.clear()
        logged.append([])
        for call in calls:
            call(tokenizer)
            logged[-1].append(list(long_warnings))
            long_warnings.clear()
    return logged


@pytest.mark.parametrize("call", WARNED)
def test_long_sequence_warning_once_per_tokenizer_as_transformers(bert_pair, long_warnings, call):
    ours, theirs = _logged(bert_pair, long_warnings, WARNED[call], WARNED[call])
    assert ours == theirs
    first, second = ours
    assert len(first) == 1 and second == []  # once per tokenizer
    assert first[0].startswith("Token indices sequence length is longer than the specified maximum")


@pytest.mark.parametrize("call", QUIET)
def test_calls_with_a_limit_log_nothing_as_transformers(bert_pair, long_warnings, call):
    """Nothing logged, and the tokenizer's one warning still to come (a call without a limit gives it)."""
    ours, theirs = _logged(bert_pair, long_warnings, QUIET[call], WARNED["call"])
    assert ours == theirs
    quiet, warned = ours
    assert quiet == [] and len(warned) == 1


def test_models_log_no_long_sequence_warning(tiny_bert, tmp_path, long_warnings):
    model = SentenceTransformer(str(write_st_folder(tiny_bert, tmp_path / "st", classic_pooling(32, "mean"))))
    model.tokenizer.deprecation_warnings.clear()
    model.encode([LONG, TEXTS[0]])
    model.tokenize([LONG])
    assert long_warnings == []
    model.tokenizer(LONG)
    assert len(long_warnings) == 1


@pytest.mark.parametrize(
    "options", [{"padding": True}, {"padding": "longest"}, {"padding": "max_length", "max_length": 8}]
)
def test_padding_without_a_pad_token_is_refused_as_transformers(gpt2_folder, options):
    ours = TextTokenizer.from_folder(gpt2_folder)
    theirs = transformers.AutoTokenizer.from_pretrained(str(gpt2_folder))
    assert ours.pad_token is None and theirs.pad_token is None
    for tokenizer in (ours, theirs):
        with pytest.raises(ValueError, match=NO_PAD):
            tokenizer(TEXTS, **options)
        with pytest.raises(ValueError, match=NO_PAD):
            tokenizer.encode(TEXTS[0], **options)
    assert ours(TEXTS)["input_ids"] == theirs(TEXTS)["input_ids"]  # no padding asked for
    ours.pad_token, theirs.pad_token = ours.eos_token, theirs.eos_token  # what the message asks for
    _same(ours(TEXTS, **options), theirs(TEXTS, **options))


def test_models_without_a_pad_token_still_pad_their_own_batches(gpt2_folder):
    model = SentenceTransformer(str(gpt2_folder))
    assert model.tokenizer.pad_token is None
    features = model.tokenize(TEXTS)
    padded = features["attention_mask"] == 0
    assert padded.any() and (features["input_ids"][padded] == 0).all()
    batch = model.encode(TEXTS)
    np.testing.assert_allclose(batch, np.stack([model.encode([text])[0] for text in TEXTS]), atol=1e-5)
    with pytest.raises(ValueError, match=NO_PAD):
        model.tokenizer(TEXTS, padding=True)


INVALID = [5, 3.5, None, [1, 2], {"text": "a"}, b"bytes"]
CALLS = {
    "call": lambda t, value: t(value),
    "encode": lambda t, value: t.encode(value),
    "tokenize": lambda t, value: t.tokenize(value),
    "pair": lambda t, value: t("a", value),
}
CASES = [(call, value) for call in CALLS for value in INVALID if not (call == "pair" and value is None)]


@pytest.mark.parametrize(
    ("call", "value"), CASES, ids=[f"{call}-{type(value).__name__}" for call, value in CASES]
)
def test_texts_of_other_types_are_refused_as_transformers(bert_pair, call, value):
    """transformers raises ``ValueError``; code that catches ``TypeError`` for a wrong type catches sbert's
    too. The message starts with transformers' and says what to pass."""
    ours, theirs = bert_pair
    with pytest.raises(ValueError) as reference:
        CALLS[call](theirs, value)
    with pytest.raises(ValueError) as raised:
        CALLS[call](ours, value)
    assert isinstance(raised.value, TypeError)
    message = str(raised.value)
    assert message.startswith(str(reference.value))
    assert "pass the text" in message.lower()
