"""sentence-transformers' classic ``CrossEncoder.fit`` (its API before v4) on sbert's Trainer.

sentence-transformers 4 and later run that fit on their trainer; this maps it onto sbert's the same way. The
DataLoader of ``InputExample`` s is read once, in the order it yields (``fit_inputs.loader_examples``), and
the trainer shuffles it with seed 42. AdamW with ``optimizer_params`` and ``weight_decay`` (none on biases and
LayerNorm weights), a linear warm-up over ``warmup_steps``, then a linear decay that reaches 0 after
``len(data) // batch_size * epochs`` steps (whole batches only, as that fit counts them), gradients clipped to
``max_grad_norm``. The evaluator runs every ``evaluation_steps`` steps (and at the last step, as Hugging
Face's trainer does) and after each epoch, its CSV files ending up in ``output_path/eval``; with
``save_best_model`` the model is saved to ``output_path`` whenever the evaluator's primary metric improves.
The trainer's own records go to a temporary folder, removed afterwards.

Imported by :meth:`CrossEncoder.fit` only (training sits above the model: this module imports the trainer,
which never imports the model).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError
from .._losses.cross.base import CrossEncoderLoss, pairs_of
from .._training.arguments import TrainingArguments
from .._training.classic_fit import ClassicEvaluations, ClassicTrainer, st_fit_arguments
from .._training.cross import default_loss
from .._training.fit_inputs import (
    LOGGING_STEPS,
    classic_optimizer,
    loader_batch_sampler,
    loader_examples,
    objective_dataset,
)

SEED = 42  # that fit runs its trainer with Hugging Face's default seed


def classic_fit(
    model: Any,
    train_dataloader: Any,
    *,
    evaluator: Any,
    epochs: int,
    loss_fct: Any,
    activation_fct: Any,
    evaluation_steps: int | None,
    output_path: str | os.PathLike | None,
    save_best_model: bool,
    callback: Any,
    **options: Any,
) -> None:
    """Train ``model`` as sentence-transformers' ``CrossEncoder.fit`` with these arguments (``options``: the
    optimizer, schedule and display ones, see :func:`_arguments`)."""
    examples, batch_size = loader_examples(train_dataloader)
    dataset, _ = objective_dataset(examples, 0)
    batch_size = batch_size or 8  # sentence-transformers' fallback for a loader without one
    loss = _loss(model, loss_fct, activation_fct)
    with tempfile.TemporaryDirectory(prefix="sbert-fit-") as run_dir:
        args = _arguments(model, train_dataloader, run_dir, epochs, batch_size, **options)
        evaluations = None
        if evaluator is not None:
            saves = Path(output_path) if output_path is not None and save_best_model else None
            evaluations = ClassicEvaluations(
                evaluator, evaluation_steps, Path(run_dir) / "eval", saves, callback
            )
        trainer = ClassicTrainer(
            model,
            dataset,
            loss,
            args=args,
            schedule_steps=len(dataset) // batch_size * epochs,
            evaluations=evaluations,
            evaluation_steps=evaluation_steps,
            st_trainer="CrossEncoderTrainer",
            st_arguments=st_fit_arguments(
                batch_size=batch_size,
                epochs=epochs,
                evaluation_steps=evaluation_steps,
                max_grad_norm=options["max_grad_norm"],
                use_amp=options["use_amp"],
                show_progress_bar=options["show_progress_bar"],
                batch_sampler=loader_batch_sampler(train_dataloader) or "batch_sampler",
            ),
        )
        try:
            trainer.train()
        finally:
            if evaluations is not None:
                evaluations.keep_csv_files(output_path)


def _arguments(
    model: Any,
    loader: Any,
    run_dir: str,
    epochs: int,
    batch_size: int,
    *,
    scheduler: str,
    warmup_steps: int,
    optimizer_class: Any,
    optimizer_params: dict[str, Any],
    weight_decay: float,
    max_grad_norm: float,
    use_amp: bool,
    show_progress_bar: bool,
) -> TrainingArguments:
    """sbert's training arguments for that fit's."""
    classic = {"scheduler": scheduler, "optimizer_class": optimizer_class}
    classic["optimizer_params"] = optimizer_params
    optimizer = classic_optimizer(classic)  # leaves the schedule's type in classic
    if use_amp and not str(model.device).startswith("cuda"):
        raise InputError("fit(): use_amp=True trains under fp16 autocast, which needs a GPU; leave it off.")
    sampler = loader_batch_sampler(loader) or "batch_sampler"
    return TrainingArguments(
        output_dir=run_dir,
        epochs=epochs,
        batch_size=batch_size,
        **optimizer,
        warmup_ratio=0.0,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        max_grad_norm=max_grad_norm or None,
        seed=SEED,
        precision="fp16" if use_amp else "fp32",
        save_steps=0,  # that fit writes no checkpoints
        logging_steps=LOGGING_STEPS,
        log_last_steps=False,
        load_best_model_at_end=False,
        show_progress_bar=show_progress_bar,
        plot=False,
        save_final_model=False,
        batch_sampler=sampler,
        optim="adamw_torch",
        lr_scheduler_type=classic.get("lr_scheduler_type", "linear"),
        report_to="none",
    )


def _loss(model: Any, loss_fct: Any, activation_fct: Any) -> CrossEncoderLoss:
    if loss_fct is None:
        return default_loss(model, activation_fct)
    if isinstance(loss_fct, CrossEncoderLoss):  # one of sbert.cross_encoder.losses, as it is
        return loss_fct
    if not callable(loss_fct):
        raise InputError(
            f"fit(): loss_fct must be a torch loss such as torch.nn.MSELoss(), got {type(loss_fct).__name__}."
        )
    return TorchLoss(model, loss_fct, activation_fct)


class TorchLoss(CrossEncoderLoss):
    """A plain torch loss on a cross-encoder's logits, as that fit takes ``loss_fct``: the one logit of each
    pair against a float label for a one-label model, the logits against class ids otherwise."""

    label_kind = "score"
    one_label = False

    def __init__(self, model: Any, loss_fct: Any, activation_fn: Any = None) -> None:
        super().__init__(model, activation_fn)
        self.loss_fct = loss_fct

    def forward(
        self, inputs: Any, labels: Any, prompt: str | None = None, task: str | None = None
    ) -> torch.Tensor:
        logits = self.logits(pairs_of(inputs), prompt)  # (B, num_labels)
        labels = torch.as_tensor(labels).to(logits.device)
        if self.model.num_labels == 1:
            logits, labels = logits.view(-1), labels.float()
        else:
            labels = labels.long()
        return self.loss_fct(self.activation_fn(logits), labels)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "loss_fct": type(self.loss_fct).__name__}
