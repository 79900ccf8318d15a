"""What sentence-transformers' classic ``model.fit`` is given, as sbert's training data and arguments.

Its tutorials train on ``DataLoader(list_of_InputExample, shuffle=True, batch_size=16)`` with
``fit(train_objectives=[(loader, loss)], epochs=..., warmup_steps=..., optimizer_params={"lr": ...},
evaluation_steps=..., checkpoint_save_steps=..., ...)``. The examples become a :class:`TextDataset` with
sentence-transformers' column names (``sentence_0``, ``sentence_1``, ..., ``label``), the loader's batch size
the batch size, and the classic argument names :class:`TrainingArguments` fields.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError
from .._st_loggers import ST_FIT_MIXIN
from .data import TextDataset, load_dataset


@dataclass
class InputExample:
    """One training example of sentence-transformers' classic API: its texts and a label."""

    guid: str = ""
    texts: list[str] = field(default_factory=list)
    label: int | float = 0

    def __str__(self) -> str:
        return f"<InputExample> label: {self.label}, texts: {'; '.join(self.texts)}"


class SentencesDataset(Sequence):
    """sentence-transformers' old dataset of ``InputExample`` s, ``SentencesDataset(examples, model)``: the
    examples as they are (the model is not needed: texts are tokenized when training runs)."""

    def __init__(self, examples: Sequence[InputExample], model: Any = None) -> None:
        self.examples = list(examples)

    def __getitem__(self, index: Any) -> Any:
        return self.examples[index]

    def __len__(self) -> int:
        return len(self.examples)


class NoDuplicatesDataLoader:
    """sentence-transformers' ``NoDuplicatesDataLoader(train_examples, batch_size)``: batches in which no text
    appears twice (for in-batch negatives losses). ``fit`` trains it with ``batch_sampler="no_duplicates"``;
    iterated directly it yields such batches of ``InputExample`` s in a random order."""

    batch_sampler_name = "no_duplicates"

    def __init__(self, train_examples: Sequence[InputExample], batch_size: int) -> None:
        self.dataset, self.batch_size = list(train_examples), batch_size

    def __iter__(self) -> Any:
        pending = random.sample(self.dataset, len(self.dataset))
        while pending:
            batch, texts, later = [], set(), []
            for example in pending:
                if len(batch) < self.batch_size and not texts & set(example.texts):
                    batch.append(example)
                    texts |= set(example.texts)
                else:
                    later.append(example)
            yield batch
            pending = later

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)


# sentence-transformers' own loader and dataset classes with a batching of their own, told apart by name
_BATCH_SAMPLERS_BY_CLASS = {
    "NoDuplicatesDataLoader": "no_duplicates",
    "SentenceLabelDataset": "group_by_label",
}


def loader_batch_sampler(data: Any) -> str | None:
    """The batch sampler a classic ``fit`` objective asks for by its class (sbert's or sentence-transformers'
    ``NoDuplicatesDataLoader`` / ``SentenceLabelDataset``, also inside a DataLoader), else None."""
    for item in (data, getattr(data, "dataset", None)):
        name = getattr(item, "batch_sampler_name", None) or _BATCH_SAMPLERS_BY_CLASS.get(type(item).__name__)
        if name is not None:
            return name
    return None


def objective_dataset(data: Any, index: int) -> tuple[TextDataset, int | None]:
    """``(dataset, batch size of its loader or None)`` for one ``(data, loss)`` objective of ``fit``."""
    if isinstance(data, TextDataset):
        return data, None
    batch_size = None
    inner = getattr(data, "dataset", None)
    if hasattr(data, "collate_fn") and inner is not None and not isinstance(inner, TextDataset):
        # a torch DataLoader of examples: one pass of it, in the order it yields them (shuffled by torch's
        # global generator when it shuffles), as sentence-transformers' fit reads it
        data, batch_size = loader_examples(data)
    elif hasattr(data, "dataset") and hasattr(data, "batch_size"):  # a DataLoader over a TextDataset
        data, batch_size = data.dataset, data.batch_size
    elif hasattr(data, "batch_size") and hasattr(data, "__iter__") and not isinstance(data, (str, Sequence)):
        # a loader of InputExample batches with no dataset behind it (ContrastiveTensionDataLoader): one
        # pass of it, as sentence-transformers' fit reads it
        batch_size, data = data.batch_size, [example for batch in data for example in batch]
    name = f"objective_{index}"
    if isinstance(data, TextDataset):
        return data, batch_size
    if isinstance(data, Sequence) and data and all(_is_example(e) for e in data):
        return _from_examples(data, name), batch_size
    return load_dataset(data, name=name), batch_size


def loader_examples(data: Any) -> tuple[Any, int | None]:
    """``(examples, batch size)`` of a torch DataLoader: the examples in the order one pass yields them (a
    shuffling loader draws that order from torch's global generator, as sentence-transformers' fit reads
    it); anything else is returned as it is, with no batch size."""
    if not (hasattr(data, "dataset") and hasattr(data, "collate_fn")):
        return data, None
    collate = data.collate_fn
    data.collate_fn = _as_given  # the default collate cannot batch InputExamples
    try:
        examples = [example for batch in data for example in batch]
    finally:
        data.collate_fn = collate
    # a loader with its own batch_sampler has no batch_size: sentence-transformers asks the sampler, else 8
    return examples, data.batch_size or getattr(data.batch_sampler, "batch_size", None) or 8


# the classic fit's schedulers by the names of Hugging Face's that compute them
CLASSIC_SCHEDULERS = {
    "constantlr": "constant",
    "warmupconstant": "constant_with_warmup",
    "warmuplinear": "linear",
    "warmupcosine": "cosine",
    "warmupcosinewithhardrestarts": "cosine_with_restarts",
}
# sentence-transformers' fit(): its own defaults, where they differ from TrainingArguments' (its trainer's
# seed, its warm-up of 10000 steps, its round robin over objectives)
# sentence-transformers' fit writes no TensorBoard events and no plot into checkpoint_path
LOGGING_STEPS = 500  # Hugging Face's default, which that fit keeps: a loss record every 500 steps
CLASSIC_FIT_DEFAULTS = {
    "seed": 42,
    "logging_steps": LOGGING_STEPS,
    "log_last_steps": False,
    "multi_dataset_batch_sampler": "round_robin",
    "report_to": "none",
    "plot": False,
}
CLASSIC_WARMUP_STEPS = 10000


ADAMW_LR = 1e-3  # torch's AdamW default, what optimizer_params without "lr" leave
# optimizer_params keys as the TrainingArguments fields that carry them to sbert's AdamW
_ADAMW_FIELDS = {"lr": "learning_rate", "eps": "adam_epsilon"}
# keys of torch's AdamW that change no number here: fit's parameter groups set their own weight_decay,
# the others pick torch's kernels
_ADAMW_NO_EFFECT = {"weight_decay", "foreach", "fused", "capturable", "differentiable"}
_ADAMW_OFF_ONLY = {"amsgrad", "maximize"}  # variants sbert's trainer does not run


def classic_optimizer(arguments: dict[str, Any]) -> dict[str, Any]:
    """The :class:`TrainingArguments` fields set by the classic ``scheduler``, ``optimizer_class`` and
    ``optimizer_params`` (removed from ``arguments``; the scheduler becomes ``lr_scheduler_type``): AdamW's
    ``lr`` (torch's default where the params leave it out), ``betas`` and ``eps``. A key torch's AdamW does
    not take is its TypeError, as sentence-transformers' ``optimizer_class(params, **optimizer_params)``
    raises it (beir passes ``correct_bias``); what sbert's trainer does not run is an InputError."""
    scheduler = arguments.pop("scheduler", None)
    if scheduler is not None:
        kind = CLASSIC_SCHEDULERS.get(str(scheduler).lower())
        if kind is None:
            raise InputError(
                f"fit(): scheduler={scheduler!r} is not one of sentence-transformers' schedulers "
                "(ConstantLR, WarmupConstant, WarmupLinear, WarmupCosine, WarmupCosineWithHardRestarts)."
            )
        arguments.setdefault("lr_scheduler_type", kind)
    optimizer = arguments.pop("optimizer_class", None)
    if optimizer is not None and "adamw" not in str(optimizer).lower():
        raise InputError(f"fit(): optimizer_class={optimizer!r} is not supported; sbert trains with AdamW.")
    params = arguments.pop("optimizer_params", None)
    fields: dict[str, Any] = {} if params is None else {"learning_rate": ADAMW_LR}
    for key, value in (params or {}).items():
        if key in _ADAMW_FIELDS:
            fields[_ADAMW_FIELDS[key]] = value
        elif key == "betas":
            fields["adam_beta1"], fields["adam_beta2"] = (float(beta) for beta in value)
        elif key in _ADAMW_OFF_ONLY:
            if value:
                raise InputError(
                    f"fit(): optimizer_params {key}=True is not supported; sbert trains with AdamW."
                )
        elif key not in _ADAMW_NO_EFFECT:
            raise TypeError(f"AdamW.__init__() got an unexpected keyword argument '{key}'")
    return fields


def fit_arguments(
    arguments: dict[str, Any], loader_batch_sizes: list[int | None], samplers: Sequence[str | None] = ()
) -> dict[str, Any]:
    """``fit``'s keyword arguments as :class:`TrainingArguments` fields; ``samplers``: the batch samplers the
    objectives' loaders ask for (:func:`loader_batch_sampler`). Unset, they take sentence-transformers'
    fit's defaults: seed 42, 10000 warm-up steps, a round robin over objectives."""
    arguments = {**CLASSIC_FIT_DEFAULTS, **arguments}
    if "warmup_steps" not in arguments and "warmup_ratio" not in arguments:
        arguments["warmup_steps"] = CLASSIC_WARMUP_STEPS
    asked = sorted({sampler for sampler in samplers if sampler is not None})
    if len(asked) > 1:
        raise InputError(
            f"fit(): the objectives ask for different batch samplers {asked}; pass batch_sampler=."
        )
    if asked:
        arguments.setdefault("batch_sampler", asked[0])
    for name, value in classic_optimizer(arguments).items():
        arguments.setdefault(name, value)
    if "steps_per_epoch" in arguments:
        steps, epochs = arguments.pop("steps_per_epoch"), arguments.get("epochs", 1)
        if steps and epochs == 1:
            arguments.setdefault("max_steps", steps)
        elif steps:  # sentence-transformers' fit ignores it then, logging (not warning) the same words
            logging.getLogger(ST_FIT_MIXIN).warning(
                "Setting `steps_per_epoch` alongside `epochs` > 1 no longer works. "
                "We will train with the full datasets per epoch."
            )
    if arguments.pop("use_amp", False):  # fp16 autocast (a GPU's; the trainer says so on a CPU)
        arguments.setdefault("precision", "fp16")
    known_sizes = {size for size in loader_batch_sizes if size is not None}
    if "batch_size" not in arguments and known_sizes:
        if len(known_sizes) > 1:
            raise InputError(
                f"fit(): the DataLoaders have different batch sizes {sorted(known_sizes)}; sbert trains "
                "every objective with one batch_size: pass batch_size=..."
            )
        arguments["batch_size"] = known_sizes.pop()
    return arguments


def _as_given(batch: list[Any]) -> list[Any]:
    return batch


def _is_example(item: Any) -> bool:
    return hasattr(item, "texts") and hasattr(item, "label")


def _from_examples(examples: Sequence[Any], name: str) -> TextDataset:
    widths = {len(e.texts) for e in examples}
    if len(widths) != 1:
        raise InputError(f"{name}: InputExamples hold different numbers of texts {sorted(widths)}.")
    texts = [{f"sentence_{i}": text for i, text in enumerate(e.texts)} for e in examples]
    if all(_is_vector(e.label) for e in examples):  # teacher embeddings (MSELoss distillation)
        vectors = [np.asarray(e.label, dtype=np.float32) for e in examples]
        if len({v.shape for v in vectors}) != 1:
            raise InputError(f"{name}: InputExample labels are vectors of different lengths.")
        return load_dataset(texts, name=name, label_values=np.stack(vectors))
    rows = [{**row, "label": e.label} for row, e in zip(texts, examples)]
    return load_dataset(rows, label="label", name=name)


def _is_vector(label: Any) -> bool:
    """A label that is a list or array of numbers (a teacher's embedding), not one number."""
    return isinstance(label, (list, tuple)) or (hasattr(label, "shape") and len(label.shape) == 1)
