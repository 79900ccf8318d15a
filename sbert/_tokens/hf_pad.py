"""transformers' ``tokenizer.pad``: token features a caller already has, padded into a batch.

``transformers.DataCollatorWithPadding(tokenizer=model.tokenizer)`` and user code hand
``model.tokenizer.pad`` one example (``{"input_ids": [...]}``), a batch as a dict of lists, a list of such
dicts (a collate function's features) or a ``BatchEncoding``, with lists, numpy arrays or torch tensors; this
gives back what a transformers fast tokenizer of the same folder gives: ``input_ids`` padded with the pad
token's id, ``attention_mask`` with 0 (made for the unpadded tokens where it is missing, unless
``return_attention_mask=False``), ``token_type_ids`` with 0 and ``special_tokens_mask`` with 1, every other
key (``"label"``, ...) as it came; lists, or tensors of ``return_tensors`` (by default the kind the inputs
came in). Nothing is truncated. sbert's own batches are made by ``pad_encodings``, from ``tokenizers``
encodings, and never come here.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .._errors import InputError

_LONGEST, _MAX_LENGTH, _NO_PADDING = "longest", "max_length", "do_not_pad"
# transformers' padding values (its PaddingStrategy's, and the booleans that stand for them).
_STRATEGIES = {True: _LONGEST, _LONGEST: _LONGEST, _MAX_LENGTH: _MAX_LENGTH, False: _NO_PADDING}
_STRATEGIES[_NO_PADDING] = _NO_PADDING
_NAMES = [_LONGEST, _MAX_LENGTH, _NO_PADDING]
# What each padded key is filled with (input_ids: the pad token's id); other keys are left as they are.
_FILLS = {"attention_mask": 0, "token_type_ids": 0, "special_tokens_mask": 1}
# transformers' warning, word for word, where padding=True meets a max_length that nothing truncates to.
MAX_LENGTH_IGNORED = (
    "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
    "To pad to max length, use `padding='max_length'`."
)


class Padding(NamedTuple):
    """One ``pad`` call's padding, as every example is padded by it."""

    strategy: str  # _LONGEST, _MAX_LENGTH or _NO_PADDING
    width: int | None  # the length to pad to (None: each example's own, or no padding)
    multiple: int | None  # pad_to_multiple_of
    side: str  # "left" or "right"
    pad_id: int
    mask: bool  # whether the result holds an attention mask


def pad_features(tokenizer: Any, encoded_inputs: Any, options: dict[str, Any]) -> dict[str, Any]:
    """``tokenizer.pad(encoded_inputs, **options)`` with transformers' options (``padding``, ``max_length``,
    ``pad_to_multiple_of``, ``padding_side``, ``return_attention_mask``, ``return_tensors``, ``verbose``):
    a dict of the padded features, to be wrapped in a ``BatchEncoding`` by the caller."""
    features = _as_dict_of_lists(encoded_inputs)
    stacked_mask = _take_stacked_mask(features)
    main = tokenizer.model_input_names[0]
    if main not in features:
        raise InputError(
            "You should supply an encoding or a list of encodings to this method "
            f"that includes {main}, but you provided {list(features)}"
        )
    ids = features[main]
    mask = options["return_attention_mask"]
    if ids is None or (hasattr(ids, "__len__") and len(ids) == 0):
        return {**features, "attention_mask": []} if mask else features
    return_tensors = options["return_tensors"]
    kind = _tensor_kind(ids)
    if kind is not None:  # tensors or arrays: padded as lists, given back as that kind unless told otherwise
        return_tensors = kind if return_tensors is None else return_tensors
        features = {key: as_python(value) for key, value in features.items()}
        ids = features[main]
    padding = _padding(tokenizer, options, mask)
    if not isinstance(ids[0], (list, tuple)):  # one example
        return _as_tensors(_pad_example(features, main, padding), return_tensors)
    if any(len(value) != len(ids) for value in features.values()):
        raise InputError("Some items in the output dictionary have a different batch size than others.")
    if padding.strategy == _LONGEST:  # every example to the longest one
        padding = Padding(_MAX_LENGTH, max(len(row) for row in ids), *padding[2:])
    batch: dict[str, list[Any]] = {}
    for index in range(len(ids)):
        example = _pad_example({key: value[index] for key, value in features.items()}, main, padding)
        for key, value in example.items():
            batch.setdefault(key, []).append(value)
    if stacked_mask is not None:
        batch["attention_mask"] = stacked_mask
    return _as_tensors(batch, return_tensors)


def _as_dict_of_lists(encoded_inputs: Any) -> dict[str, Any]:
    """A list of examples (dicts) as one dict of lists, keyed as the first example; a dict copied."""
    if (
        isinstance(encoded_inputs, (list, tuple))
        and encoded_inputs
        and isinstance(encoded_inputs[0], Mapping)
    ):
        return {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0].keys()}
    if isinstance(encoded_inputs, Mapping):
        return dict(encoded_inputs.items())
    raise InputError(
        "pad takes an encoding (a dict such as {'input_ids': [...]}, a BatchEncoding) or a list of them, "
        f"got {type(encoded_inputs).__name__}"
    )


def _take_stacked_mask(features: dict[str, Any]) -> Any:
    """Attention masks of two or more dimensions per example (a model's 4D masks) are not padded: taken out
    and stacked as they are, as transformers does."""
    masks = features.get("attention_mask")
    if not (isinstance(masks, list) and masks and getattr(masks[0], "ndim", 0) > 1):
        return None
    del features["attention_mask"]
    if _is_torch(masks[0]):
        return sys.modules["torch"].stack(masks)
    return np.stack(masks) if isinstance(masks[0], np.ndarray) else np.array(masks)


def _padding(tokenizer: Any, options: dict[str, Any], mask: bool | None) -> Padding:
    """The call's padding options checked and resolved (``max_length`` padding without a length: the
    tokenizer's ``model_max_length``)."""
    padding, width = getattr(options["padding"], "value", options["padding"]), options["max_length"]
    strategy = _STRATEGIES.get(padding) if isinstance(padding, (bool, str)) else None
    if strategy is None:
        raise InputError(f"{padding!r} is not a valid PaddingStrategy, please select one of {_NAMES}")
    if padding is True and width is not None and options["verbose"]:
        warnings.warn(MAX_LENGTH_IGNORED, stacklevel=4)
    if strategy == _MAX_LENGTH and width is None:
        width = tokenizer.model_max_length
    pad_id = tokenizer.pad_token_id
    if strategy != _NO_PADDING:
        check_pad_token(tokenizer)
    side = options["padding_side"] or tokenizer.padding_side
    multiple = options["pad_to_multiple_of"]
    with_mask = "attention_mask" in tokenizer.model_input_names if mask is None else bool(mask)
    return Padding(strategy, width, multiple, side, 0 if pad_id is None else int(pad_id), with_mask)


def check_pad_token(tokenizer: Any) -> None:
    """transformers' refusal to pad (``pad``, or a call with ``padding``) where the tokenizer has no pad
    token (or one without an id)."""
    pad_id = tokenizer.pad_token_id
    if tokenizer.pad_token is None or pad_id is None or pad_id < 0:
        raise InputError(
            "Asking to pad but the tokenizer does not have a padding token. "
            "Please select a token to use as `pad_token` `(tokenizer.pad_token = tokenizer.eos_token e.g.)` "
            "or add a new pad token via `tokenizer.add_special_tokens({'pad_token': '[PAD]'})`."
        )


def _pad_example(example: dict[str, Any], main: str, padding: Padding) -> dict[str, Any]:
    """One example's features padded (a new dict; an attention mask added last where it has none)."""
    ids = list(example[main])
    width = len(ids) if padding.strategy == _LONGEST else padding.width
    if width is not None and padding.multiple and width % padding.multiple:
        width = (width // padding.multiple + 1) * padding.multiple
    example = dict(example)
    if padding.mask and "attention_mask" not in example:
        example["attention_mask"] = [1] * len(ids)
    extra = 0 if padding.strategy == _NO_PADDING or width is None else width - len(ids)
    if extra == 0:
        return example
    if padding.side not in ("left", "right"):
        raise InputError(f"Invalid padding strategy:{padding.side}")
    fills = {main: padding.pad_id, **_FILLS}
    keys = [main, *(key for key in _FILLS if key in example and (key != "attention_mask" or padding.mask))]
    for key in keys:
        fill = [fills[key]] * max(extra, 0)  # a longer example keeps its length: pad never truncates
        row = list(example[key])
        example[key] = fill + row if padding.side == "left" else row + fill
    return example


def _tensor_kind(ids: Any) -> str | None:
    """``"pt"`` or ``"np"`` where the examples' ids are torch tensors or numpy arrays, None for lists of
    ints; anything else is refused, as transformers refuses it."""
    first = ids[0]
    if isinstance(first, (list, tuple)):  # the first id of the first example that has one
        first = next((row[0] for row in ids if len(row)), first)
    if isinstance(first, (int, list, tuple)):
        return None
    if _is_torch(first):
        return "pt"
    if isinstance(first, np.ndarray):
        return "np"
    raise InputError(
        f"type of {first} unknown: {type(first)}. Should be one of a python, numpy, or pytorch object."
    )


def _is_torch(value: Any) -> bool:
    torch = sys.modules.get("torch")  # a torch tensor means torch is imported already
    return torch is not None and isinstance(value, torch.Tensor)


def as_python(value: Any) -> Any:
    """Tensors and arrays (also inside lists and dicts) as Python lists and numbers."""
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Mapping):
        return {key: as_python(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, (int, float, np.number)) for item in value):
            return list(value)
        return [as_python(item) for item in value]
    if _is_torch(value):
        return value.tolist()
    if isinstance(value, (np.ndarray, np.number)):
        return value.tolist()
    return value


def _as_tensors(features: dict[str, Any], return_tensors: Any) -> dict[str, Any]:
    """Every feature as a tensor of ``return_tensors`` (``"pt"``, ``"np"``; None: left as it is)."""
    kind = getattr(return_tensors, "value", return_tensors)  # transformers' TensorType too
    if kind is None:
        return features
    if kind not in ("pt", "np"):
        raise InputError(f"return_tensors must be 'pt', 'np' or None, got {return_tensors!r}")
    convert = _as_torch if kind == "pt" else _as_numpy
    out = {}
    for key, value in features.items():
        try:
            out[key] = convert(value)
        except Exception as e:
            raise InputError(
                "Unable to create tensor, you should probably activate truncation and/or padding with "
                "'padding=True' 'truncation=True' to have batched tensors with the same length. Perhaps your "
                f"features (`{key}` in this case) have excessive nesting (inputs type `list` where type "
                "`int` is expected)."
            ) from e
    return out


def _as_torch(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return torch.from_numpy(np.array(value))
    return torch.tensor(value, dtype=torch.int64 if _is_empty(value) else None)


def _as_numpy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value
    ragged = (
        isinstance(value, (list, tuple))
        and value
        and isinstance(value[0], (list, tuple, np.ndarray))
        and len({len(row) for row in value}) > 1
    )
    if ragged:  # examples of different lengths: an array of arrays, as transformers gives them
        rows = np.empty(len(value), dtype=object)
        rows[:] = [np.asarray(row) for row in value]
        return rows
    return np.asarray(value, dtype=np.int64 if _is_empty(value) else None)


def _is_empty(value: Any) -> bool:
    """True where ``value`` holds no numbers (empty lists, however nested). A value without a length (a
    number) raises ``TypeError``: transformers makes tensors of sequences only."""
    if len(value) == 0:
        return True
    return isinstance(value[0], (list, tuple)) and all(map(_is_empty, value))
