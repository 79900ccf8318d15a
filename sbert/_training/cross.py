"""CrossEncoderTrainer: sentence-transformers' name for training a CrossEncoder; the one Trainer underneath.

The Trainer runs cross-encoder losses as any other (schedule, checkpoints, evaluation, logging, DDP): a
cross-encoder loss gets the batch's text columns and forms the pairs itself. This module adds
sentence-transformers' default loss (BinaryCrossEntropyLoss for one label, CrossEntropyLoss for more) and
takes both calls: sentence-transformers' keywords (``args=CrossEncoderTrainingArguments(...)``,
``train_dataset=``, ``eval_dataset=``: :mod:`sbert._training.st_compat`) and sbert's
``CrossEncoderTrainer(model, train_data, loss, args=TrainingArguments(...))``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from .._errors import InputError
from .._evaluation.base import Evaluator
from .._losses.base import Loss
from .._st_loggers import ST_CROSS_ENCODER_TRAINER
from .arguments import TrainingArguments
from .collators import CrossEncoderDataCollator
from .data import TextDataset
from .st_compat import MAPPED, SentenceTransformerTrainer, SentenceTransformerTrainingArguments, TrainOutput
from .streams import is_stream
from .trainer import Trainer

# sbert's own argument names, absent from Hugging Face's: with one of them the call is sbert's
SBERT_ONLY = frozenset(f.name for f in fields(TrainingArguments)) - set(MAPPED) - {"output_dir"}


class CrossEncoderTrainingArguments(SentenceTransformerTrainingArguments):
    """sentence-transformers' ``CrossEncoderTrainingArguments``: Hugging Face's names and defaults (see
    :class:`SentenceTransformerTrainingArguments`).

    Called with one of sbert's own names (``batch_size``, ``epochs``, ``precision``, ``plot``, ...), it
    gives sbert's :class:`TrainingArguments` instead, with sbert's names and defaults, as it always has.
    """

    def __new__(cls, output_dir: Any = None, **kwargs: Any) -> Any:
        if set(kwargs) & SBERT_ONLY:
            return TrainingArguments.from_dict({"output_dir": output_dir, **kwargs})
        return super().__new__(cls)


ARGUMENT_CLASSES = (TrainingArguments, SentenceTransformerTrainingArguments)


class CrossEncoderTrainer(SentenceTransformerTrainer):
    """Fine-tune a :class:`sbert.CrossEncoder`: :class:`sbert.Trainer` with a default loss.

    Args:
        model: a CrossEncoder on the torch backend in fp32.
        train_data: a :class:`TextDataset` (``sbert.load_dataset``) or a dict name -> dataset; or, as
            sentence-transformers' ``train_dataset=``, a ``datasets.Dataset`` / ``DatasetDict``.
        loss: a loss of :mod:`sbert.cross_encoder.losses` (or a dict name -> loss); default
            ``BinaryCrossEntropyLoss`` for a one-label model, ``CrossEntropyLoss`` for more.
        args: :class:`CrossEncoderTrainingArguments` (Hugging Face's names) or sbert's
            :class:`TrainingArguments`.
        evaluator: e.g. ``CrossEncoderCorrelationEvaluator`` or ``CrossEncoderRerankingEvaluator``.
        train_dataset, eval_dataset: sentence-transformers' keywords (see
            :class:`~sbert._training.st_compat.SentenceTransformerTrainer`).

    The arguments' ``prompts`` (one string, or a dict dataset name -> string) go before the first text of each
    pair, as sentence-transformers puts them; per-column prompts are refused, as there.

    With sbert's ``TrainingArguments``, :meth:`train` returns sbert's ``TrainOutput``; with
    ``CrossEncoderTrainingArguments`` it returns ``(global_step, training_loss, metrics)`` as Hugging Face's.

    Example::

        from datasets import Dataset
        from sbert.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments

        model = CrossEncoder(num_labels=1)  # the default model's encoder with a new head
        train = Dataset.from_dict({"query": [...], "document": [...], "label": [...]})
        args = CrossEncoderTrainingArguments(output_dir="runs/ce", per_device_train_batch_size=16)
        CrossEncoderTrainer(model=model, args=args, train_dataset=train).train()
    """

    args_class = CrossEncoderTrainingArguments
    collator_class = CrossEncoderDataCollator

    def __init__(self, *given: Any, **kwargs: Any) -> None:
        if len(given) > 1 and given[1] is not None and not isinstance(given[1], ARGUMENT_CLASSES):
            # sbert's own order, (model, train_data, loss): data where sentence-transformers has args
            if len(given) > 3:
                raise TypeError(
                    "CrossEncoderTrainer(model, train_data, loss) takes its other arguments by keyword; "
                    "or pass sentence-transformers' (model, args, train_dataset, eval_dataset, loss, ...)."
                )
            for name, value in zip(("train_data", "loss"), given[1:]):
                if name in kwargs:
                    raise TypeError(f"CrossEncoderTrainer() got multiple values for argument '{name}'")
                kwargs[name] = value
            given = given[:1]
        self._start(*given, **kwargs)

    def _start(
        self,
        model: Any = None,
        args: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        loss: Loss | Mapping[str, Loss] | Any = None,
        evaluator: Evaluator | Any = None,
        data_collator: Any = None,
        processing_class: Any = None,
        model_init: Any = None,
        compute_metrics: Any = None,
        callbacks: Sequence[Any] | None = None,
        optimizers: Any = (None, None),
        optimizer_cls_and_kwargs: Any = None,
        preprocess_logits_for_metrics: Any = None,
        *,
        train_data: TextDataset | Mapping[str, TextDataset] | Any = None,
        **unsupported: Any,
    ) -> None:
        hf = {
            "data_collator": data_collator,
            "processing_class": processing_class,
            "model_init": model_init,
            "compute_metrics": compute_metrics,
            "optimizers": optimizers,
            "optimizer_cls_and_kwargs": optimizer_cls_and_kwargs,
            "preprocess_logits_for_metrics": preprocess_logits_for_metrics,
            **unsupported,
        }
        train_data = train_data if train_data is not None else train_dataset
        if isinstance(args, TrainingArguments):  # sbert's own call
            given = sorted(k for k, v in hf.items() if v is not None and v != (None, None))
            if given or eval_dataset is not None:
                unused = given + ["eval_dataset"] * (eval_dataset is not None)
                raise InputError(
                    f"{unused} need CrossEncoderTrainingArguments (sentence-transformers' trainer); sbert's "
                    "TrainingArguments train without them."
                )
            Trainer.__init__(
                self,
                model,
                train_data,
                default_loss(model) if loss is None else loss,
                args=args,
                evaluator=evaluator,
                callbacks=callbacks,
            )
            self.st_args, self.eval_data, self.user_evaluator = None, None, evaluator
            self.loaders, self.loss_part_keys = {}, set()
            return
        train_dataset = train_dataset if train_dataset is not None else train_data
        for name, dataset in (("train", train_dataset), ("eval", eval_dataset)):
            sets = dataset.values() if isinstance(dataset, Mapping) else [dataset]
            if any(is_stream(d) for d in sets):
                # sentence-transformers' refusal: there accelerate cannot join batches of texts from a stream
                raise InputError(
                    f"CrossEncoderTrainer does not support an IterableDataset for the `{name}_dataset`. "
                    "Please convert the dataset to a `Dataset` or `DatasetDict` before passing it to the "
                    "trainer."
                )
        super().__init__(
            model,
            args,
            train_dataset,
            eval_dataset,
            loss,
            evaluator,
            callbacks=callbacks,
            **hf,
        )

    # sentence-transformers' parameters in its order (a positional call binds as there), then train_data
    __init__.__signature__ = inspect.signature(_start)  # type: ignore[attr-defined]

    def collect_features(self, inputs: dict[str, Any]) -> tuple[list[Any], Any]:
        """A collated cross-encoder batch's text columns and its ``label`` (popped), as
        sentence-transformers'."""
        labels = inputs.pop("label", None)
        return list(inputs.values()), labels

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """The loss of a collated batch: its text columns and labels, its ``prompt`` as the loss's keyword
        (which puts it before each pair's first text), as sentence-transformers' ``CrossEncoderTrainer``."""
        dataset_name = inputs.pop("dataset_name", None)
        prompt = inputs.pop("prompt", None)
        if inputs.pop("task", None):
            raise InputError(
                "The batch has a task for cross-encoder training, which sbert's losses do not take; train a "
                "CrossEncoder without a Router."
            )
        texts, labels = self.collect_features(inputs)
        out = self._loss_for(dataset_name)(texts, labels, prompt=prompt, task=None)
        return self._loss_of(out, return_outputs)

    def default_loss(self, model: Any) -> Loss:
        """sentence-transformers' default cross-encoder loss, with its notice naming the loss by its path
        there (the module names are the same under sbert.cross_encoder.losses)."""
        loss = default_loss(model)
        module = type(loss).__module__.rsplit(".", 1)[-1]
        logging.getLogger(ST_CROSS_ENCODER_TRAINER).info(
            f"No `loss` passed, using `sentence_transformers.cross_encoder.losses.{module}."
            f"{type(loss).__name__}` as a default option."
        )
        return loss

    def train(self, resume_from_checkpoint: bool | str | None = None) -> Any:  # type: ignore[override]
        if self.st_args is None:
            return Trainer.train(self)
        out: TrainOutput = super().train(resume_from_checkpoint)
        return out


def default_loss(model: Any, activation_fn: Any = None) -> Loss:
    """sentence-transformers' default cross-encoder loss for ``model`` (``activation_fn`` on its logits)."""
    from .._losses.cross.binary_cross_entropy import BinaryCrossEntropyLoss
    from .._losses.cross.cross_entropy import CrossEntropyLoss

    loss = BinaryCrossEntropyLoss if getattr(model, "num_labels", 1) == 1 else CrossEntropyLoss
    return loss(model, activation_fn=activation_fn)
