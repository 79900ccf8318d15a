"""sentence-transformers' ``old_fit``: the plain torch training loop of its versions before 3, which it keeps
(for ``SentenceTransformer`` and ``CrossEncoder``) for scripts that depend on that loop's behaviour.

No trainer and no seed: batches come from the caller's ``DataLoader`` (its shuffling draws from torch's
global random state), one optimizer (AdamW by default; any torch optimizer class) and one schedule per
objective, the objectives round robin, gradient clipping per step, and an evaluation every
``evaluation_steps`` steps and after each epoch that saves the model to ``output_path`` when the score
improves. sbert's ``fit`` is the other classic API (on its trainer, as sentence-transformers' ``fit`` is).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError
from .._progress import tracked
from .fit_inputs import CLASSIC_SCHEDULERS
from .optim import scheduler as lr_schedule

NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight")  # parameter names without weight decay there
OLD_FIT_OPTIMIZER_PARAMS = {"lr": 2e-5}


def optimizer_and_schedule(
    named_parameters: Sequence[tuple[str, torch.nn.Parameter]],
    *,
    optimizer_class: Any,
    optimizer_params: dict[str, Any] | None,
    weight_decay: float,
    scheduler: Any,
    warmup_steps: int,
    total_steps: int,
) -> tuple[torch.optim.Optimizer, Any]:
    """The optimizer over two parameter groups (with and without weight decay) and its learning-rate
    schedule, named as sentence-transformers names them (``WarmupLinear``, ...) or given (with ``step()``)."""
    groups = [
        {"params": [p for n, p in named_parameters if not any(nd in n for nd in NO_DECAY)]},
        {"params": [p for n, p in named_parameters if any(nd in n for nd in NO_DECAY)], "weight_decay": 0.0},
    ]
    groups[0]["weight_decay"] = weight_decay
    optimizer = (optimizer_class or torch.optim.AdamW)(
        groups, **(OLD_FIT_OPTIMIZER_PARAMS if optimizer_params is None else optimizer_params)
    )
    if not isinstance(scheduler, str):  # CrossEncoder.old_fit takes a ready scheduler too
        return optimizer, scheduler
    kind = CLASSIC_SCHEDULERS.get(scheduler.lower())
    if kind is None:
        raise InputError(
            f"Unknown scheduler {scheduler!r}: one of ConstantLR, WarmupConstant, WarmupLinear, "
            "WarmupCosine, WarmupCosineWithHardRestarts."
        )
    return optimizer, lr_schedule(optimizer, kind, warmup_steps, total_steps)


class Stepper:
    """One optimizer step from a loss: backward (scaled with ``use_amp``), clipping, step, schedule."""

    def __init__(self, device: torch.device, use_amp: bool, max_grad_norm: float):
        self.device, self.max_grad_norm = device, max_grad_norm
        self.scaler = torch.amp.GradScaler(device.type) if use_amp else None

    def forward(self) -> contextlib.AbstractContextManager:
        return torch.autocast(device_type=self.device.type) if self.scaler else contextlib.nullcontext()

    def step(self, loss: torch.Tensor, parameters: Any, optimizer: Any, schedule: Any) -> None:
        parameters = list(parameters)
        skip_schedule = False
        if self.scaler is not None:
            scale = self.scaler.get_scale()
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
            self.scaler.step(optimizer)
            self.scaler.update()
            skip_schedule = self.scaler.get_scale() != scale  # a skipped step moves no schedule
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
            optimizer.step()
        optimizer.zero_grad()
        if not skip_schedule:
            schedule.step()


class _Cycled:
    """A loader's batches, started again (a new shuffle) each time it runs out. Its first pass starts when
    made, as sentence-transformers starts every loader before the first step (its sampler's seed is drawn
    from torch's random state then)."""

    def __init__(self, loader: Any):
        self.loader, self.batches = loader, iter(loader)

    def __next__(self) -> Any:
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)


def old_fit(
    model: Any,
    train_objectives: Sequence[tuple[Any, Any]],
    evaluator: Any = None,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    scheduler: str = "WarmupLinear",
    warmup_steps: int = 10000,
    optimizer_class: Any = None,
    optimizer_params: dict[str, Any] | None = None,
    weight_decay: float = 0.01,
    evaluation_steps: int = 0,
    output_path: str | os.PathLike | None = None,
    save_best_model: bool = True,
    max_grad_norm: float = 1,
    use_amp: bool = False,
    callback: Callable[[float, int, int], Any] | None = None,
    show_progress_bar: bool = True,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_save_steps: int = 500,
    checkpoint_save_total_limit: int = 0,
) -> None:
    """``SentenceTransformer.old_fit``: ``[(DataLoader of InputExample, loss), ...]`` trained round robin,
    ``steps_per_epoch`` (default: the shortest loader's length) steps per epoch."""
    if not train_objectives:
        raise InputError("train_objectives must hold at least one (DataLoader, loss) pair.")
    loaders = [loader for loader, _ in train_objectives]
    for loader in loaders:
        loader.collate_fn = model.smart_batching_collate
    losses = [loss for _, loss in train_objectives]
    device = torch.device(model.device)
    for loss in losses:
        loss.to(device)
    steps_per_epoch = steps_per_epoch or min(len(loader) for loader in loaders)
    # the README.md the model was loaded with no longer describes it: a save writes a new card, as there
    # (sentence-transformers' CrossEncoder.old_fit keeps it)
    model.forget_loaded_card()
    runs = [
        optimizer_and_schedule(
            list(loss.named_parameters()),
            optimizer_class=optimizer_class,
            optimizer_params=optimizer_params,
            weight_decay=weight_decay,
            scheduler=scheduler,
            warmup_steps=warmup_steps,
            total_steps=int(steps_per_epoch * epochs),
        )
        for loss in losses
    ]
    batches = [_Cycled(loader) for loader in loaders]
    stepper = Stepper(device, use_amp, max_grad_norm)
    evaluate = _Evaluations(model, evaluator, output_path, save_best_model, callback, eval_folder=True)
    global_step = 0
    for epoch in tracked(range(epochs), desc="Epoch", show=show_progress_bar):
        for loss in losses:
            loss.zero_grad()
            loss.train()
        for step in tracked(range(1, steps_per_epoch + 1), desc="Iteration", show=show_progress_bar):
            for loss, (optimizer, schedule), stream in zip(losses, runs, batches):
                features, labels = next(stream)
                features = [{k: _to(v, device) for k, v in f.items()} for f in features]
                with stepper.forward():
                    value = loss(features, labels.to(device))
                stepper.step(value, loss.parameters(), optimizer, schedule)
            global_step += 1
            if evaluation_steps > 0 and step % evaluation_steps == 0:
                evaluate(epoch, step)
                for loss in losses:
                    loss.zero_grad()
                    loss.train()
            if (
                checkpoint_path is not None
                and checkpoint_save_steps
                and global_step % checkpoint_save_steps == 0
            ):
                _save_checkpoint(model, Path(checkpoint_path), checkpoint_save_total_limit, global_step)
        evaluate(epoch, -1)
    if evaluator is None and output_path is not None:
        model.save(output_path)
    if checkpoint_path is not None:
        _save_checkpoint(model, Path(checkpoint_path), checkpoint_save_total_limit, global_step)


def cross_encoder_old_fit(
    model: Any,
    train_dataloader: Any,
    evaluator: Any = None,
    epochs: int = 1,
    loss_fct: Any = None,
    activation_fct: Any = None,
    scheduler: Any = "WarmupLinear",
    warmup_steps: int = 10000,
    optimizer_class: Any = None,
    optimizer_params: dict[str, Any] | None = None,
    weight_decay: float = 0.01,
    evaluation_steps: int = 0,
    output_path: str | os.PathLike | None = None,
    save_best_model: bool = True,
    max_grad_norm: float = 1,
    use_amp: bool = False,
    callback: Callable[[Any, int, int], Any] | None = None,
    show_progress_bar: bool = True,
) -> None:
    """``CrossEncoder.old_fit``: ``InputExample(texts=[a, b], label=...)`` batches through the classifier's
    logits (after ``activation_fct``) into ``loss_fct`` (default: BCE-with-logits for one label, cross
    entropy for more)."""
    train_dataloader.collate_fn = model.smart_batching_collate
    network = model.model
    device = next(network.parameters()).device
    if output_path is not None:
        os.makedirs(output_path, exist_ok=True)
    optimizer, schedule = optimizer_and_schedule(
        list(network.named_parameters()),
        optimizer_class=optimizer_class,
        optimizer_params=optimizer_params,
        weight_decay=weight_decay,
        scheduler=scheduler,
        warmup_steps=warmup_steps,
        total_steps=int(len(train_dataloader) * epochs),
    )
    one_label = model.config.num_labels == 1
    if loss_fct is None:
        loss_fct = torch.nn.BCEWithLogitsLoss() if one_label else torch.nn.CrossEntropyLoss()
    activation_fct = torch.nn.Identity() if activation_fct is None else activation_fct
    stepper = Stepper(device, use_amp, max_grad_norm)
    evaluate = _Evaluations(model, evaluator, output_path, save_best_model, callback, eval_folder=False)
    for epoch in tracked(range(epochs), desc="Epoch", show=show_progress_bar):
        network.zero_grad()
        network.train()
        for step, (features, labels) in enumerate(
            tracked(train_dataloader, desc="Iteration", show=show_progress_bar), start=1
        ):
            with stepper.forward():
                logits = activation_fct(network(**features, return_dict=True).logits)
                value = loss_fct(logits.view(-1) if one_label else logits, labels)
            stepper.step(value, network.parameters(), optimizer, schedule)
            if evaluator is not None and evaluation_steps > 0 and step % evaluation_steps == 0:
                evaluate(epoch, step)
                network.zero_grad()
                network.train()
        if evaluator is not None:
            evaluate(epoch, -1)


class _Evaluations:
    """The evaluations of an ``old_fit``: the evaluator's score (its primary metric of a dict of results)
    passed to ``callback`` and, when it beats the best so far, the model saved to ``output_path``.
    ``eval_folder``: the SentenceTransformer loop's (its CSV files in ``output_path/eval``, and the callback
    gets the primary score; the CrossEncoder loop hands the evaluator ``output_path`` itself and the
    callback what the evaluator returned)."""

    def __init__(
        self, model: Any, evaluator: Any, output_path: Any, save_best: bool, callback: Any, eval_folder: bool
    ):
        self.model, self.evaluator, self.output_path = model, evaluator, output_path
        self.save_best, self.callback, self.eval_folder = save_best, callback, eval_folder
        model.best_score = -9999999

    def __call__(self, epoch: int, steps: int) -> None:
        evaluator, output_path = self.evaluator, self.output_path
        if self.eval_folder and output_path is not None:
            output_path = Path(output_path) / "eval"
            output_path.mkdir(parents=True, exist_ok=True)
        if evaluator is None:
            return
        returned = score = evaluator(self.model, output_path=output_path, epoch=epoch, steps=steps)
        if isinstance(score, dict) and getattr(evaluator, "primary_metric", None) in score:
            score = score[evaluator.primary_metric]
        if self.callback is not None:
            self.callback(score if self.eval_folder else returned, epoch, steps)
        if score > self.model.best_score:
            self.model.best_score = score
            if self.save_best and self.output_path is not None:
                self.model.save(self.output_path)


def _to(value: Any, device: torch.device) -> Any:
    return value.to(device) if isinstance(value, torch.Tensor) else value


def _save_checkpoint(model: Any, folder: Path, keep: int, step: int) -> None:
    """The model saved as ``folder/<step>``, then the oldest such checkpoint removed beyond ``keep``."""
    model.save(folder / str(step))
    if keep and keep > 0:
        steps = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
        if len(steps) > keep:
            shutil.rmtree(folder / str(steps[0]))
