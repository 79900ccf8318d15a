"""``model.tokenizer`` as sentence-transformers' (a transformers fast tokenizer) for the calls the session-52
client audit found missing: ``pad`` of features a caller has (sbert's own batching step is ``pad_encodings``),
``transformers.DataCollatorWithPadding`` on it, ``return_overflowing_tokens`` with ``stride``,
``convert_tokens_to_string``, ``num_special_tokens_to_add`` and ``do_lower_case``."""

from __future__ import annotations

import contextlib
import json
import shutil

import numpy as np
import pytest
import torch

TEXTS = ["The cat sat on the mat.", "Hello", "a b c d e f g h i j k"]


def _examples(tokenizer):
    """Per-text features with a label, as a dataset's rows reach a collator."""
    return [{**tokenizer(text), "label": label} for text, label in zip(TEXTS, [1, 0, 1])]


INPUTS = {
    "dict of lists": lambda tok: {"input_ids": [[101, 7592, 2088, 102], [101, 102]], "label": [1, 0]},
    "list of dicts": _examples,
    "batch encoding": lambda tok: tok(TEXTS),
    "one example": lambda tok: {"input_ids": [101, 7592, 102], "label": 3},
    "special tokens mask": lambda tok: [
        {"input_ids": [101, 1037, 102], "special_tokens_mask": [1, 0, 1]},
        {"input_ids": [101, 102], "special_tokens_mask": [1, 1]},
    ],
    "numpy rows": lambda tok: [
        {"input_ids": np.array([101, 1037, 1038, 102])},
        {"input_ids": np.array([101, 102])},
    ],
    "torch rows": lambda tok: [
        {"input_ids": torch.tensor([101, 1037, 102]), "label": torch.tensor(1)},
        {"input_ids": torch.tensor([101, 102]), "label": torch.tensor(0)},
    ],
}
OPTIONS = [
    {},
    {"padding": "longest"},
    {"padding": "max_length", "max_length": 9},
    {"padding": "max_length"},  # to the model's limit
    {"padding": False},
    {"padding": "do_not_pad"},
    {"pad_to_multiple_of": 8},
    {"padding_side": "left"},
    {"return_attention_mask": False},
]


def _plain(value):
    """A value as comparable data: tensors and arrays with their kind and dtype."""
    if isinstance(value, torch.Tensor):
        return ("torch", str(value.dtype), value.tolist())
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("numpy rows", [_plain(row) for row in value])
        return ("numpy", str(value.dtype), value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _same_result(ours, theirs):
    """sbert's call gives transformers' result, or fails where it fails (a ValueError both)."""
    try:
        expected = theirs()
    except ValueError:
        with pytest.raises(ValueError):
            ours()
        return
    got = ours()
    assert [(key, _plain(value)) for key, value in got.items()] == [
        (key, _plain(value)) for key, value in expected.items()
    ]


@pytest.mark.parametrize("return_tensors", [None, "np", "pt"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("name", list(INPUTS))
def test_pad_as_transformers(default_model, st_default_model, name, options, return_tensors):
    make = INPUTS[name]
    ours, theirs = default_model.tokenizer, st_default_model.tokenizer
    _same_result(
        lambda: ours.pad(make(ours), **options, return_tensors=return_tensors),
        lambda: theirs.pad(make(theirs), **options, return_tensors=return_tensors),
    )


def test_pad_warns_that_max_length_is_ignored_when_padding_to_the_longest(default_model, st_default_model):
    for tokenizer in (default_model.tokenizer, st_default_model.tokenizer):
        with pytest.warns(UserWarning, match="`max_length` is ignored"):
            padded = tokenizer.pad({"input_ids": [[101, 102], [101]]}, max_length=8)
        assert padded["input_ids"] == [[101, 102], [101, 0]]


@pytest.mark.parametrize(
    "options",
    [{}, {"pad_to_multiple_of": 8}, {"return_tensors": "np"}, {"padding": "max_length", "max_length": 16}],
)
def test_data_collator_with_padding(default_model, st_default_model, options):
    from transformers import DataCollatorWithPadding

    ours, theirs = default_model.tokenizer, st_default_model.tokenizer
    _same_result(
        lambda: DataCollatorWithPadding(tokenizer=ours, **options)(_examples(ours)),
        lambda: DataCollatorWithPadding(tokenizer=theirs, **options)(_examples(theirs)),
    )


OVERFLOW_CALLS = [
    (("a b c d e f g h",), {"truncation": True, "max_length": 5, "stride": 1}),
    ((TEXTS,), {"truncation": True, "max_length": 6}),  # no stride
    ((TEXTS,), {"truncation": True, "max_length": 6, "stride": 2, "padding": True, "return_tensors": "pt"}),
    ((TEXTS,), {"max_length": 7, "stride": 3, "padding": "max_length", "return_tensors": "np"}),
    ((TEXTS,), {"truncation": True, "max_length": 6, "stride": 1, "return_offsets_mapping": True}),
    ((TEXTS,), {}),  # nothing cut off: one row per text, still mapped
    ((TEXTS, ["x y z", "w", "v u"]), {"truncation": "only_first", "max_length": 9, "stride": 1}),
]


@pytest.mark.parametrize(("args", "options"), OVERFLOW_CALLS)
def test_overflowing_tokens_as_transformers(default_model, st_default_model, args, options):
    ours, theirs = default_model.tokenizer, st_default_model.tokenizer
    _same_result(
        lambda: ours(*args, **options, return_overflowing_tokens=True),
        lambda: theirs(*args, **options, return_overflowing_tokens=True),
    )


def test_overflow_rows_keep_their_token_maps(default_model, st_default_model):
    call = {"truncation": True, "max_length": 5, "stride": 1, "return_overflowing_tokens": True}
    ours = default_model.tokenizer(TEXTS, **call)
    theirs = st_default_model.tokenizer(TEXTS, **call)
    rows = len(theirs["input_ids"])
    assert [ours.tokens(i) for i in range(rows)] == [theirs.tokens(i) for i in range(rows)]
    assert [ours.word_ids(i) for i in range(rows)] == [theirs.word_ids(i) for i in range(rows)]


@pytest.mark.parametrize("text", ["Hello world", "unaffable café 日本 [SEP] a", ""])
def test_convert_tokens_to_string(default_model, st_default_model, text):
    ours, theirs = default_model.tokenizer, st_default_model.tokenizer
    assert ours.convert_tokens_to_string(ours.tokenize(text)) == theirs.convert_tokens_to_string(
        theirs.tokenize(text)
    )


@pytest.mark.parametrize("pair", [False, True])
def test_num_special_tokens_to_add(default_model, st_default_model, pair):
    expected = st_default_model.tokenizer.num_special_tokens_to_add(pair=pair)
    assert default_model.tokenizer.num_special_tokens_to_add(pair=pair) == expected
    assert default_model.tokenizer.num_special_tokens_to_add(pair) == expected


def test_do_lower_case_and_pad_token_type_id(default_model, st_default_model):
    ours, theirs = default_model.tokenizer, st_default_model.tokenizer
    assert ours.do_lower_case is theirs.do_lower_case
    assert ours.pad_token_type_id == theirs.pad_token_type_id
    # settable as there since session 53: tests/test_tokenizer_saved_settings_s53.py


@pytest.mark.parametrize("return_tensors", [None, "np", "pt"])
@pytest.mark.parametrize(
    "options", [{"padding": "max_length", "max_length": 7}, {"padding": True, "max_length": 7}]
)
def test_max_length_with_padding_does_not_truncate(default_model, st_default_model, options, return_tensors):
    """transformers truncates at ``max_length`` alone only without padding: a longer text keeps its tokens."""
    ours, theirs = default_model.tokenizer, st_default_model.tokenizer
    warns = options["padding"] is True  # transformers says max_length is ignored, and sbert as well

    def call(tokenizer):
        expected = pytest.warns(UserWarning, match="`max_length` is ignored")
        with expected if warns else contextlib.nullcontext():
            return tokenizer(TEXTS, **options, return_tensors=return_tensors)

    _same_result(lambda: call(ours), lambda: call(theirs))


@pytest.mark.parametrize(
    ("tokenizer_class", "lower"),
    [
        ("BertTokenizer", None),
        ("BertTokenizer", False),
        ("DistilBertTokenizer", False),
        ("MPNetTokenizer", None),
        ("RobertaTokenizer", True),  # a class without the switch: no attribute, whatever the file says
        ("PreTrainedTokenizerFast", None),
    ],
)
def test_do_lower_case_follows_the_tokenizer_class(tiny_bert, tmp_path, tokenizer_class, lower):
    from transformers import AutoTokenizer

    from sbert._tokens.tokenizer import TextTokenizer

    folder = shutil.copytree(tiny_bert, tmp_path / "tokenizer")
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    settings = {key: value for key, value in settings.items() if key != "do_lower_case"}
    settings |= {"tokenizer_class": tokenizer_class} | ({} if lower is None else {"do_lower_case": lower})
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    theirs = AutoTokenizer.from_pretrained(folder)
    ours = TextTokenizer.from_folder(folder)
    assert hasattr(ours, "do_lower_case") == hasattr(theirs, "do_lower_case")
    assert getattr(ours, "do_lower_case", None) == getattr(theirs, "do_lower_case", None)
