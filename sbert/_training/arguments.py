"""TrainingArguments: every hyper-parameter of a run, checked once, recorded in the model card."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from .._checks import check_positive_int
from .._errors import InputError

PRECISIONS = ("fp32", "bf16", "fp16")
# Hugging Face's names (transformers' SchedulerType and OptimizerNames) for the ones sbert runs.
LR_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "constant",
    "constant_with_warmup",
    "polynomial",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
    "reduce_lr_on_plateau",
    "greedy",
)
# the schedules stepped on each evaluation's metric (metric_for_best_model), not after each optimizer step
METRIC_SCHEDULERS = ("reduce_lr_on_plateau", "greedy")
OPTIMIZERS = ("adamw_torch_fused", "adamw_torch", "sgd", "rmsprop", "adagrad", "adafactor")
REPORTERS = ("tensorboard",)


class _Choices(str, Enum):
    """An enum of named choices whose unknown value is refused in transformers' ``ExplicitEnum`` words, as
    sentence-transformers' enums are."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        choices = list(cls._value2member_map_.keys())
        raise InputError(f"{value} is not a valid {cls.__name__}, please select one of {choices}")


class BatchSamplers(_Choices):
    """How one dataset's rows are grouped into batches (sentence-transformers' ``BatchSamplers``).

    - ``BATCH_SAMPLER``: a random permutation cut into batches (the default).
    - ``NO_DUPLICATES``: no text appears twice in a batch, across all text columns, so a repeated text never
      becomes its own in-batch negative (for MultipleNegativesRankingLoss and the like).
      ``NO_DUPLICATES_HASHED`` is sentence-transformers' faster variant of the same batches.
    - ``GROUP_BY_LABEL``: every batch holds at least 2 rows of each of at least 2 labels (batch triplet
      losses); the batch size must be even and >= 4.
    """

    BATCH_SAMPLER = "batch_sampler"
    NO_DUPLICATES = "no_duplicates"
    NO_DUPLICATES_HASHED = "no_duplicates_hashed"
    GROUP_BY_LABEL = "group_by_label"


class MultiDatasetBatchSamplers(_Choices):
    """The order of batches from several datasets (sentence-transformers' ``MultiDatasetBatchSamplers``).

    - ``PROPORTIONAL``: every batch of every dataset, in a random order (larger datasets come up more often;
      the default).
    - ``ROUND_ROBIN``: one batch of each dataset in turn until one runs out: each is sampled equally, and the
      larger ones' other batches are left out of that epoch.
    """

    ROUND_ROBIN = "round_robin"
    PROPORTIONAL = "proportional"


# Hugging Face's arguments that change how a run executes (memory, speed, checkpoints, when it evaluates),
# not what it learns: sbert's fields of the same names, left out of the model card's hyperparameters.
RUN_SETTINGS = (
    "gradient_checkpointing_kwargs",
    "eval_delay",
    "save_only_model",
    "full_determinism",
    "torch_compile",
    "torch_compile_backend",
    "torch_compile_mode",
)


@dataclass
class TrainingArguments:
    """Hyper-parameters of :class:`sbert.Trainer`.

    Args:
        output_dir: where checkpoints, ``best/``, ``final/``, ``metrics.jsonl`` and the training curve go.
        epochs: passes over the training data.
        batch_size: examples per step (the global batch under torchrun, split across processes).
        learning_rate: peak learning rate of AdamW.
        warmup_ratio: share of the steps with a linear warm-up from 0 (ignored when ``warmup_steps`` is set).
        warmup_steps: warm-up steps; after the warm-up the rate decays linearly to 0.
        weight_decay: AdamW weight decay (not applied to biases and LayerNorm weights).
        adam_beta1, adam_beta2, adam_epsilon: AdamW's betas and epsilon (Hugging Face's names and defaults).
        max_grad_norm: clip the model's gradient norm to this (``None``: no clipping); a loss's own
            parameters (SoftmaxLoss's classifier) are not clipped, as in sentence-transformers' trainer.
        seed: seeds shuffling, dropout and new weights (e.g. SoftmaxLoss's classifier).
        full_determinism: also make torch use deterministic kernels only, from the start of training for
            the rest of the process, as Hugging Face's ``enable_full_determinism`` (slower on a GPU; the
            same numbers on a CPU).
        data_seed: seeds the default batch sampler's shuffling instead of ``seed`` (Hugging Face's).
        precision: ``"fp32"``; ``"bf16"`` runs forward passes under bf16 autocast (CPU with native bf16, or
            GPU); ``"fp16"`` autocast with loss scaling (GPU only). Weights and optimizer stay fp32.
        eval_steps: evaluate every this many steps (``None``: at the end of each epoch).
        save_steps: write a checkpoint every this many steps (``None``: at the end of each epoch; 0: never).
        save_total_limit: keep this many most recent checkpoints, and the best one besides (``None``: all).
        save_only_model: checkpoints hold the model (and the run's position) only, no optimizer, schedule or
            random state: smaller, but a run cannot resume from them (Hugging Face's ``save_only_model``).
        load_best_model_at_end: with an evaluator, end with the weights that scored best (saved in ``best/``).
        metric_for_best_model: the evaluation result that picks the best weights (and ``best_metric``): a
            key of the evaluator's results, an ``eval_`` prefix optional (``eval_loss`` under
            ``SentenceTransformerTrainer`` with an ``eval_dataset``); ``None``: the evaluator's primary
            metric.
        greater_is_better: whether a higher ``metric_for_best_model`` is better; ``None``: Hugging Face's
            rule, lower for a name ending in ``loss`` and higher otherwise (the evaluator's own direction
            for its primary metric).
        logging_steps: log the mean loss every this many steps to ``metrics.jsonl``.
        logging_first_step: also log the first step's loss.
        eval_on_start: also evaluate before the first step (logged, not a candidate for the best model), as
            Hugging Face's ``eval_on_start``.
        eval_delay: no evaluation (but ``eval_on_start``'s) before this step, with ``eval_steps``, or before
            the end of this epoch, evaluating at epoch ends (Hugging Face's ``eval_delay``).
        max_steps: stop after this many steps (for tests and quick looks).
        resume: ``True`` continues from the last complete checkpoint in ``output_dir`` (a fresh run if none);
            a path continues from that checkpoint.
        show_progress_bar: a tqdm bar with the running loss.
        plot: write ``training_curve.png`` (needs matplotlib: without it, a warning on stderr when training
            starts and no picture; a previous run's picture is removed either way).
        save_final_model: save the trained model to ``output_dir/final``.
        log_last_steps: at the end of the run, log the mean loss of the steps since the last logging step
            (Hugging Face's trainer logs at logging steps only: its arguments turn this off).
        prompts: text put before the training texts, as sentence-transformers' ``prompts``: one string for
            every column, a dict column → prompt, or (with several datasets) a dict dataset name → prompt or
            → dict column → prompt. A model whose Pooling has ``include_prompt: false`` leaves the prompt's
            tokens out of the pooling in training too.
        drop_last: leave each epoch's last, shorter batch out (sentence-transformers'
            ``dataloader_drop_last``).
        batch_sampler: how rows are batched (:class:`BatchSamplers` or its value, sentence-transformers'
            enum too): ``"batch_sampler"``, ``"no_duplicates"`` (no text twice in a batch: for in-batch
            negatives losses; an epoch is ``ceil(rows / batch_size)`` such batches, as in
            sentence-transformers' trainer, so rows a clash pushed past them sit that epoch out),
            ``"group_by_label"``; or, as sentence-transformers takes it, a ``DefaultBatchSampler`` subclass
            or a function ``(dataset, batch_size, drop_last, valid_label_columns, generator, seed)`` that
            returns a batch sampler (``dataset`` reads as a ``datasets.Dataset``, the label as ``"label"``).
        multi_dataset_batch_sampler: with several datasets, ``"proportional"`` (every batch of each, in a
            random order) or ``"round_robin"`` (:class:`MultiDatasetBatchSamplers`); or a
            ``MultiDatasetDefaultBatchSampler`` subclass or a function ``(dataset, batch_samplers,
            generator, seed)``, ``dataset`` the ``ConcatDataset`` its batches index.
        gradient_accumulation_steps: batches whose gradients are summed before one optimizer step, each
            loss divided by their number (as Hugging Face's trainer), so 4 x 16 rows step as one batch of 64
            for a loss that is a mean over rows; steps (``max_steps``, ``logging_steps``, ``eval_steps``,
            ``save_steps``, the schedule) count optimizer steps.
        gradient_checkpointing: recompute the encoder's activations in the backward pass instead of keeping
            them (transformers' ``gradient_checkpointing_enable()``): less memory, about a third more time.
        gradient_checkpointing_kwargs: transformers' options for it, e.g. ``{"use_reentrant": False}`` (a
            JSON string is read too); ``None``: transformers' defaults.
        lr_scheduler_type: the learning-rate schedule, Hugging Face's names: ``"linear"`` (warm-up, then
            linear decay to 0), ``"cosine"``, ``"cosine_with_restarts"``, ``"constant"`` (no warm-up),
            ``"constant_with_warmup"``, ``"polynomial"``, ``"inverse_sqrt"``, ``"cosine_with_min_lr"``,
            ``"cosine_warmup_with_min_lr"``, ``"warmup_stable_decay"``, ``"reduce_lr_on_plateau"`` (cut when
            the evaluation's ``metric_for_best_model`` stops improving, after each evaluation), ``"greedy"``
            (transformers' ``GreedyLR``: raised while that metric improves, cut when it stalls).
        lr_scheduler_kwargs: the schedule's options, Hugging Face's (``SCHEDULE_OPTIONS`` lists them with
            their defaults): ``{"num_cycles": n}`` for the cosine schedules (default 0.5 for ``"cosine"``, 1
            for ``"cosine_with_restarts"``); ``lr_end`` and ``power`` (polynomial); ``timescale``
            (inverse_sqrt); ``min_lr`` or ``min_lr_rate`` (the min-lr cosines, one of them needed);
            ``num_decay_steps`` (needed), ``num_stable_steps``, ``warmup_type``, ``decay_type``,
            ``min_lr_ratio`` (warmup_stable_decay); torch's ``ReduceLROnPlateau`` keywords (``patience``,
            ``factor``, ``mode``, ...); ``GreedyLR``'s (``patience``, ``factor``, ``min_lr``, ``max_lr``,
            ...).
        optim: the optimizer, Hugging Face's names: ``"adamw_torch_fused"`` (AdamW's fused kernel where torch
            has it, else the same maths unfused), ``"adamw_torch"``, ``"sgd"``, ``"rmsprop"``, ``"adagrad"``,
            ``"adafactor"``.
        optim_args: the optimizer's options, as Hugging Face's ``"momentum=0.9,nesterov=True"`` (or a dict):
            SGD takes ``momentum``, ``dampening``, ``weight_decay`` and ``nesterov``; RMSprop ``momentum``,
            ``alpha``, ``eps``, ``weight_decay`` and ``centered``; Adagrad ``lr_decay``, ``weight_decay`` and
            ``eps``; the others take none and ignore them, as Hugging Face's trainer does.
        report_to: ``"tensorboard"`` writes TensorBoard event files to ``output_dir/runs`` (needs the
            ``tensorboard`` package); ``"none"`` (or ``[]``) writes none; ``None`` (default): TensorBoard when
            the package is installed, as the training curve is drawn when matplotlib is.
        router_mapping: the task of each text column for a model with a Router (its route, as
            sentence-transformers' ``router_mapping``): a dict column -> task (``{"anchor": "query",
            "positive": "document"}``), or (with several datasets) a dict dataset name -> dict column -> task;
            a JSON string of either is read too. Columns without a task take the Router's default route.
            A model with a Router needs it (as sentence-transformers' trainer does); other models ignore it.
        torch_compile: train the model's torch modules compiled by ``torch.compile`` (``encode`` afterwards
            runs them uncompiled); ``torch_compile_backend`` (default ``"inductor"``) and
            ``torch_compile_mode`` are its options, either of them set turning it on, as Hugging Face's.
        learning_rate_mapping: learning rates of the parameters whose names match a regular expression
            (``re.search``; ``{"encoder.layer.11": 1e-4}``), as sentence-transformers' argument: each pattern
            must match a parameter, and a later pattern takes the parameters an earlier one matched. Names
            are matched as sentence-transformers spells them (``model.0.model.encoder.layer.11...``, or
            ``model.0.auto_model...`` as its older releases did; a loss's own, ``classifier.weight``); a
            JSON string is read too.
    """

    output_dir: str
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    warmup_steps: int | None = None
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float | None = 1.0
    seed: int = 0
    data_seed: int | None = None
    precision: str = "fp32"
    eval_steps: int | None = None
    save_steps: int | None = None
    save_total_limit: int | None = 2
    load_best_model_at_end: bool = True
    metric_for_best_model: str | None = None
    greater_is_better: bool | None = None
    logging_steps: int = 10
    logging_first_step: bool = False
    eval_on_start: bool = False
    max_steps: int | None = None
    resume: bool | str = False
    show_progress_bar: bool = True
    plot: bool = True
    save_final_model: bool = True
    log_last_steps: bool = True
    prompts: str | dict[str, str] | dict[str, dict[str, str]] | None = None
    router_mapping: dict[str, str] | dict[str, dict[str, str]] | None = None
    batch_sampler: str | Callable[..., Any] = "batch_sampler"
    drop_last: bool = False
    multi_dataset_batch_sampler: str | Callable[..., Any] = "proportional"
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = False
    lr_scheduler_type: str = "linear"
    lr_scheduler_kwargs: dict[str, Any] | None = None
    optim: str = "adamw_torch_fused"
    report_to: str | list[str] | None = None
    learning_rate_mapping: dict[str, float] | None = None
    gradient_checkpointing_kwargs: dict[str, Any] | None = None
    optim_args: dict[str, str] | str | None = None
    eval_delay: float = 0
    save_only_model: bool = False
    full_determinism: bool = False
    torch_compile: bool = False
    torch_compile_backend: str | None = None
    torch_compile_mode: str | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # A change after construction (trainer.args.x = ...) is checked too: a name it lacks, such as Hugging
        # Face's num_train_epochs or max_steps=-1, must fail rather than be silently ignored by the run.
        if name not in _field_names(type(self)):
            hint = f" (its name here: {_HF_NAMES[name]!r})" if name in _HF_NAMES else ""
            raise AttributeError(
                f"sbert's TrainingArguments has no {name!r}{hint}. Set it on the arguments before creating "
                "the trainer (SentenceTransformerTrainingArguments takes Hugging Face's names)."
            )
        if name in _POSITIVE_INTS or name in _OPTIONAL_POSITIVE_INTS:
            check_positive_int(name, value, optional=name in _OPTIONAL_POSITIVE_INTS)
        if name == "learning_rate_mapping":
            value = read_learning_rate_mapping(value)
        super().__setattr__(name, value)

    def __post_init__(self) -> None:
        self.output_dir = str(self.output_dir)
        if self.save_steps is not None and (not isinstance(self.save_steps, int) or self.save_steps < 0):
            raise InputError(f"save_steps must be an int >= 0 or None, got {self.save_steps!r}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise InputError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise InputError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if self.warmup_steps is not None and (
            not isinstance(self.warmup_steps, int) or self.warmup_steps < 0
        ):
            raise InputError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise InputError(f"max_grad_norm must be positive or None, got {self.max_grad_norm!r}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        _check_prompts(self.prompts)
        self.router_mapping = read_router_mapping(self.router_mapping)
        self.batch_sampler = _sampler_choice("batch_sampler", self.batch_sampler, BatchSamplers)
        self.multi_dataset_batch_sampler = _sampler_choice(
            "multi_dataset_batch_sampler", self.multi_dataset_batch_sampler, MultiDatasetBatchSamplers
        )
        if self.batch_sampler == BatchSamplers.GROUP_BY_LABEL.value and (
            self.batch_size < 4 or self.batch_size % 2
        ):
            raise InputError(
                f"batch_sampler='group_by_label' needs an even batch_size >= 4, got {self.batch_size}"
            )
        self.lr_scheduler_type = _choice("lr_scheduler_type", self.lr_scheduler_type, LR_SCHEDULERS)
        self.lr_scheduler_kwargs = (
            read_json(self.lr_scheduler_kwargs, "lr_scheduler_kwargs", "a dict") or None
        )
        # options it does not take, or values transformers refuses: refused now
        schedule_options(self.lr_scheduler_type, self.lr_scheduler_kwargs, self.learning_rate)
        self.optim = _choice("optim", self.optim, OPTIMIZERS)
        self._check_run_options()
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not float(self.adam_epsilon) > 0.0:
            raise InputError(f"adam_epsilon must be > 0, got {self.adam_epsilon!r}")
        self.report_to = _read_report_to(self.report_to)
        self.learning_rate_mapping = read_learning_rate_mapping(self.learning_rate_mapping)
        if self.metric_for_best_model is not None and not (
            isinstance(self.metric_for_best_model, str) and self.metric_for_best_model.strip()
        ):
            raise InputError(
                f"metric_for_best_model must be a metric's name or None, got {self.metric_for_best_model!r}"
            )
        if self.greater_is_better not in (None, True, False):
            raise InputError(f"greater_is_better must be True, False or None, got {self.greater_is_better!r}")

    def _check_run_options(self) -> None:
        """``optim_args``, ``gradient_checkpointing_kwargs``, ``eval_delay`` and the compile options."""
        self.optim_args = read_optim_args(self.optim_args)
        options = read_json(self.gradient_checkpointing_kwargs, "gradient_checkpointing_kwargs", "a dict")
        if not isinstance(options, (dict, type(None))):
            raise InputError(f"gradient_checkpointing_kwargs must be a dict, got {options!r}")
        self.gradient_checkpointing_kwargs = options
        delay = self.eval_delay
        if isinstance(delay, bool) or not (isinstance(delay, (int, float)) and delay >= 0):
            raise InputError(f"eval_delay must be a number >= 0, got {delay!r}")
        for name in ("torch_compile_backend", "torch_compile_mode"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value):
                raise InputError(f"{name} must be a name (a str) or None, got {value!r}")
        if self.torch_compile_backend is not None or self.torch_compile_mode is not None:
            self.torch_compile = True  # as Hugging Face's arguments: either option turns compiling on

    def best_metric_direction(self, evaluator: Any) -> bool:
        """Whether a higher best-model metric is better (see ``greater_is_better``)."""
        if self.greater_is_better is not None:
            return self.greater_is_better
        if self.metric_for_best_model is not None:
            return not self.metric_for_best_model.endswith("loss")
        return getattr(evaluator, "greater_is_better", True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingArguments:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"Unknown training arguments {unknown}; known: {sorted(known)}.")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Every argument by name (a sampler function or class by its import path), as Hugging Face's
        arguments' ``to_dict``: what the model card's hyperparameter lists are made from."""
        return {f.name: sampler_name(getattr(self, f.name)) for f in fields(self)}

    def hyperparameters(self) -> dict[str, Any]:
        """The values that shape the result (not paths or display options), for the model card."""
        skip = {
            "output_dir",
            "resume",
            "show_progress_bar",
            "plot",
            "save_final_model",
            "log_last_steps",
            "save_steps",
            "save_total_limit",
            "logging_steps",
            "report_to",
            *RUN_SETTINGS,
        }
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        return {k: sampler_name(v) for k, v in values.items() if v is not None}


# the options (Hugging Face's lr_scheduler_kwargs) each schedule takes, with transformers' defaults (None:
# none, or one worked out from the others); "constant" and "constant_with_warmup" ignore theirs, as there
SCHEDULE_OPTIONS: dict[str, dict[str, Any]] = {
    "cosine": {"num_cycles": 0.5},
    "cosine_with_restarts": {"num_cycles": 1},
    "polynomial": {"lr_end": 1e-7, "power": 1.0},
    "inverse_sqrt": {"timescale": None},
    "cosine_with_min_lr": {"num_cycles": 0.5, "min_lr": None, "min_lr_rate": None},
    "cosine_warmup_with_min_lr": {
        "num_cycles": 0.5,
        "min_lr": None,
        "min_lr_rate": None,
        "warmup_lr_rate": None,
    },
    "warmup_stable_decay": {
        "num_decay_steps": None,
        "num_stable_steps": None,
        "warmup_type": "linear",
        "decay_type": "cosine",
        "min_lr_ratio": 0.0,
        "num_cycles": 0.5,
    },
    # torch's ReduceLROnPlateau's keywords, stepped on the evaluation metric
    "reduce_lr_on_plateau": {
        "mode": "min",
        "factor": 0.1,
        "patience": 10,
        "threshold": 1e-4,
        "threshold_mode": "rel",
        "cooldown": 0,
        "min_lr": 0,
        "eps": 1e-8,
    },
    # transformers' GreedyLR's keywords, stepped on the evaluation metric
    "greedy": {
        "mode": "min",
        "factor": 0.95,
        "patience": 10,
        "threshold": 1e-6,
        "threshold_mode": "abs",
        "cooldown": 0,
        "warmup": 0,
        "min_lr": 1e-3,
        "max_lr": 1.0,
        "eps": 1e-8,
        "verbose": False,
        "smooth": False,
        "window_size": 50,
        "reset_start": 500,
    },
}
_IGNORES_OPTIONS = ("constant", "constant_with_warmup")
_WSD_SHAPES = ("linear", "cosine", "1-sqrt")


def schedule_options(kind: str, options: dict[str, Any] | None, learning_rate: float) -> dict[str, Any]:
    """``options`` for schedule ``kind`` over its defaults, as ``optim.schedule_factor`` takes them (a
    minimum learning rate as its share of ``learning_rate``, the peak); an option it does not take, or a
    value transformers' ``get_scheduler`` refuses, is an InputError."""
    if kind in _IGNORES_OPTIONS:
        return {}
    known = SCHEDULE_OPTIONS.get(kind, {})
    unknown = sorted(set(options or {}) - set(known))
    if unknown:
        raise InputError(
            f"lr_scheduler_kwargs {unknown} do not apply to lr_scheduler_type={kind!r}; it takes "
            f"{sorted(known) or 'none'}."
        )
    chosen = {**known, **(options or {})}
    if kind in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        min_lr, rate = chosen.pop("min_lr"), chosen.pop("min_lr_rate")
        if min_lr is not None and rate is not None:
            raise InputError("Only one of min_lr or min_lr_rate should be set")
        if min_lr is None and rate is None:
            raise InputError(
                f"One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs` (for "
                f"lr_scheduler_type={kind!r})"
            )
        chosen["min_lr_rate"] = rate if min_lr is None else min_lr / learning_rate
    elif kind == "polynomial":
        if not learning_rate > chosen["lr_end"]:
            raise InputError(f"lr_end ({chosen['lr_end']}) must be smaller than initial lr ({learning_rate})")
        chosen["lr_init"] = learning_rate
    elif kind == "warmup_stable_decay":
        if chosen["num_decay_steps"] is None:
            raise InputError(
                "lr_scheduler_type='warmup_stable_decay' needs lr_scheduler_kwargs={'num_decay_steps': n}."
            )
        for name in ("warmup_type", "decay_type"):
            if chosen[name] not in _WSD_SHAPES:
                raise InputError(
                    f"Unknown {name[:-5]} type: {chosen[name]}, expected 'linear', 'cosine' or '1-sqrt'"
                )
    return chosen


# sentence-transformers' refusals of a mapping argument given as a string that is no JSON
_NO_JSON_MAPPING = {
    "learning_rate_mapping": "The `learning_rate_mapping` argument must be a dictionary mapping parameter "
    "name regular expressions to learning rates. A stringified dictionary also works.",
    "router_mapping": "The `router_mapping` argument must be a dictionary mapping dataset column names to "
    "Router routes, like 'query' or 'document'. A stringified dictionary also works.",
}


def read_json(value: Any, name: str, shape: str) -> Any:
    """A dict argument given as its JSON string (a command line's) read; any other value as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        if name in _NO_JSON_MAPPING:  # its words, then why
            raise InputError(f"{_NO_JSON_MAPPING[name]} It could not read {value!r}: {e}") from None
        raise InputError(f"{name} must be {shape} (or its JSON); could not read {value!r}: {e}") from None


def read_learning_rate_mapping(value: Any) -> dict[str, float] | None:
    """``learning_rate_mapping`` checked: a dict (or its JSON string) regular expression -> learning rate,
    zero or more (0 keeps those parameters where they are, as torch's optimizers take it in
    sentence-transformers); None or empty: none."""
    value = read_json(value, "learning_rate_mapping", "a dict parameter-name regular expression -> rate")
    if not value:
        return None
    if not isinstance(value, Mapping):
        raise InputError(f"learning_rate_mapping must be a dict, got {type(value).__name__}.")
    for pattern, rate in value.items():
        try:
            re.compile(pattern)
        except (re.error, TypeError) as e:
            raise InputError(f"learning_rate_mapping: {pattern!r} is not a regular expression ({e}).") from e
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate >= 0:
            raise InputError(f"learning_rate_mapping[{pattern!r}] must be a number >= 0, got {rate!r}.")
    return {str(k): float(v) for k, v in value.items()}


def read_optim_args(value: Any) -> dict[str, str] | None:
    """``optim_args`` as Hugging Face writes them, ``"momentum=0.9,nesterov=True"`` (spaces dropped), or a
    dict, as a dict name -> text; None or empty: none."""
    if not value:
        return None
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise InputError(f"optim_args must be a str 'name=value,...' or a dict, got {type(value).__name__}.")
    options = {}
    for item in value.replace(" ", "").split(","):
        name, equals, text = item.partition("=")
        if not (name and equals and text) or "=" in text:
            raise InputError(f"optim_args must be 'name=value' items separated by commas, got {value!r}.")
        options[name] = text
    return options


def _choice(name: str, value: Any, allowed: Any) -> str:
    """``value`` (a string, or an enum of sbert or sentence-transformers / transformers, read by its value)
    checked against ``allowed``."""
    text = value.value if isinstance(value, Enum) else value
    if not isinstance(text, str) or text.lower() not in allowed:
        raise InputError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return text.lower()


# the base classes sentence-transformers names for a sampler given as a class
_SAMPLER_BASES = {
    "batch_sampler": "DefaultBatchSampler",
    "multi_dataset_batch_sampler": "MultiDatasetDefaultBatchSampler",
}


def _sampler_choice(name: str, value: Any, names: type[Enum]) -> str | Callable[..., Any]:
    """A batch sampler argument: an enum's value (sbert's or sentence-transformers', or the string), or a
    callable as sentence-transformers takes it: a sampler class, or a function returning a sampler."""
    if callable(value) and not (isinstance(value, type) and issubclass(value, Enum)):
        return value
    allowed = [m.value for m in names]
    text = value.value if isinstance(value, Enum) else value
    if not isinstance(text, str) or text.lower() not in allowed:
        raise InputError(
            f"{name} must be one of {allowed} (or {names.__name__} members), a {_SAMPLER_BASES[name]} "
            f"subclass, or a function that returns a batch sampler; got {value!r}"
        )
    return text.lower()


def sampler_name(value: Any) -> Any:
    """A sampler argument as text for checkpoints and the model card: a callable by its import path."""
    if callable(value) and not isinstance(value, (str, Enum)):
        module = getattr(value, "__module__", None) or type(value).__module__
        return f"{module}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return value


def _read_report_to(value: Any) -> list[str] | None:
    """``report_to`` as a list of integrations (``[]``: none), or None (TensorBoard if installed)."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InputError(f"report_to must be a str or a list of str, got {value!r}")
    names = [n.lower() for n in names]
    if "none" in names:
        return []
    known = [n for n in names if n in (*REPORTERS, "all")]
    if len(known) != len(names):
        raise InputError(
            f"report_to names {sorted(set(names) - set(known))}, which sbert does not write; it writes "
            f"{list(REPORTERS)} ('all': every one, 'none': none). For other services use a callback "
            "(Trainer(callbacks=[...]))."
        )
    return list(REPORTERS) if "all" in names else list(dict.fromkeys(names))


def _check_prompts(prompts: Any) -> None:
    if prompts is None or isinstance(prompts, str):
        return
    shape = "a str, a dict column -> prompt, or a dict dataset name -> (prompt or dict column -> prompt)"
    if not isinstance(prompts, dict):
        raise InputError(f"prompts must be {shape}; got {type(prompts).__name__}.")
    for key, value in prompts.items():
        inner = value.items() if isinstance(value, dict) else [(key, value)]
        if not isinstance(key, str) or not all(isinstance(k, str) and isinstance(v, str) for k, v in inner):
            raise InputError(f"prompts must be {shape}; got {key!r}: {value!r}.")


def column_prompts(
    prompts: str | dict[str, Any] | None, dataset: str | None, columns: list[str]
) -> dict[str, str]:
    """The prompt of each column of one dataset (columns without one left out), with sentence-transformers'
    rules: ``dataset`` is the dataset's name when the trainer was given several by name, else ``None``."""
    if isinstance(prompts, dict) and prompts:
        if dataset is not None and dataset in prompts:
            prompts = prompts[dataset]
        elif isinstance(next(iter(prompts.values())), dict):  # keyed by dataset names: not this one
            if dataset is None:
                raise InputError(  # sentence-transformers' words, then what to do
                    "The prompts provided to the trainer are a nested dictionary. In this setting, the first "
                    "level of the dictionary should map to dataset names and the second level to column "
                    "names. However, as the provided dataset is a not a DatasetDict, no dataset names can be "
                    f"inferred. The keys to the provided prompts dictionary are {list(prompts.keys())!r}. "
                    "Pass the data as a dict name -> dataset."
                )
            return {}
    if isinstance(prompts, str):
        return {column: prompts for column in columns if prompts}
    return {column: prompts[column] for column in columns if (prompts or {}).get(column)}


def pair_prompt(prompts: str | dict[str, Any] | None, dataset: str | None) -> str | None:
    """A cross-encoder dataset's prompt, put before the first text of each pair, with sentence-transformers'
    rules: one string for every dataset, or a dict dataset name -> string (a dataset given without a name, or
    one the dict does not name, has none)."""
    if isinstance(prompts, str):
        return prompts or None
    if isinstance(prompts, dict) and dataset is not None and isinstance(prompts.get(dataset), str):
        return prompts[dataset] or None
    return None


class PairColumns(list):
    """A cross-encoder loss's text columns and the batch's ``prompt``, kept apart: sentence-transformers'
    trainer hands the loss the prompt as a keyword, and the loss gives it to the model's ``preprocess``
    (a user's override sees the texts and the prompt as there)."""

    def __init__(self, texts: list[list[Any]], prompt: str | None) -> None:
        super().__init__(texts)
        self.prompt = prompt or None


def prompted_pairs(texts: list[list[Any]], prompt: str | None) -> PairColumns:
    """A cross-encoder loss's text columns with the prompt to put before each pair's first text."""
    return PairColumns(texts, prompt)


def call_loss(loss: Any, inputs: Any, labels: Any) -> Any:
    """``loss(inputs, labels)``; for a cross-encoder batch, with its prompt as sentence-transformers'
    ``CrossEncoderTrainer.compute_loss`` passes it (``prompt=``, ``task=``)."""
    if isinstance(inputs, PairColumns):
        return loss(list(inputs), labels, prompt=inputs.prompt, task=None)
    return loss(inputs, labels)


def check_pair_prompts(prompts: Any) -> None:
    """Refuse per-column prompts for cross-encoder training, with sentence-transformers' message."""
    if isinstance(prompts, dict) and any(isinstance(value, dict) for value in prompts.values()):
        raise InputError(
            "CrossEncoder prompts cannot be per-column. Inputs from multiple columns are combined into "
            "pairs, so only a single prompt string or a per-dataset mapping of prompt strings is supported. "
            "For example: prompts='Search: ' or prompts={'dataset_a': 'Search: ', 'dataset_b': 'Retrieve: '}"
        )


def read_router_mapping(mapping: Any) -> dict[str, str] | dict[str, dict[str, str]] | None:
    """``router_mapping`` checked, a JSON string read (as sentence-transformers reads one); ``{}`` is None."""
    shape = "a dict column -> task, or a dict dataset name -> dict column -> task"
    mapping = read_json(mapping, "router_mapping", shape)
    if not mapping:
        return None
    if not isinstance(mapping, dict):
        raise InputError(f"router_mapping must be {shape}; got {type(mapping).__name__}.")
    nested = isinstance(next(iter(mapping.values())), dict)
    for key, value in mapping.items():
        inner = value.items() if nested and isinstance(value, dict) else [(key, value)]
        if nested != isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in inner
        ):
            raise InputError(f"router_mapping must be {shape} (not a mix); got {key!r}: {value!r}.")
    return mapping


def column_tasks(
    mapping: dict[str, Any] | None, datasets: list[tuple[str | None, list[str]]], *, strict: bool = True
) -> list[dict[str, str]]:
    """The task of each column of each ``(name, columns)`` dataset (columns without one left out: they take
    the Router's default route), with sentence-transformers' rules; ``name`` is the dataset's name when the
    trainer was given several by name, else ``None``. ``strict`` (the training data): a dataset or column the
    mapping names but the data lacks is an InputError (a typo would silently train the default route);
    evaluation data, which may hold fewer datasets or other columns, is not checked (an unnamed dataset under
    a per-dataset mapping takes the default route), as sentence-transformers' collator reads it."""
    if not mapping:
        return [{} for _ in datasets]
    names = [name for name, _ in datasets]
    if not isinstance(next(iter(mapping.values())), dict):  # column -> task, for every dataset
        known = {column for _, columns in datasets for column in columns}
        if strict:
            _check_known("router_mapping names columns", sorted(set(mapping) - known), sorted(known))
        return [{c: mapping[c] for c in columns if c in mapping} for _, columns in datasets]
    if not strict:
        return [{c: t for c, t in mapping.get(name, {}).items() if c in cols} for name, cols in datasets]
    if names == [None]:
        raise InputError(
            "router_mapping maps dataset names to columns, but the training data is one dataset without a "
            f"name; pass train_data as a dict name -> dataset (router_mapping names {sorted(mapping)}), or "
            "map its columns directly: router_mapping={column: task}."
        )
    _check_known("router_mapping names datasets", sorted(set(mapping) - set(names)), names)
    tasks = []
    for name, columns in datasets:
        own = mapping.get(name, {})
        _check_known(f"router_mapping[{name!r}] names columns", sorted(set(own) - set(columns)), columns)
        tasks.append({column: own[column] for column in columns if column in own})
    return tasks


def _check_known(what: str, unknown: list[str], known: list[Any]) -> None:
    if unknown:
        raise InputError(f"{what} {unknown} that the training data lacks; it has {known}.")


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


_POSITIVE_INTS = ("epochs", "batch_size", "logging_steps", "gradient_accumulation_steps")
_OPTIONAL_POSITIVE_INTS = ("eval_steps", "max_steps", "save_total_limit")
# Hugging Face's names of sbert's fields, for the error of a run's arguments changed by those names.
_HF_NAMES = {"num_train_epochs": "epochs", "per_device_train_batch_size": "batch_size", "fp16": "precision"}
_HF_NAMES |= {"bf16": "precision", "resume_from_checkpoint": "resume", "disable_tqdm": "show_progress_bar"}


def nothing_to_evaluate(strategy: Any, trainer: str) -> InputError:
    """sentence-transformers' trainer's error for an evaluation strategy without an ``eval_dataset`` or an
    ``evaluator`` (its classic fit's ``evaluation_steps`` without an evaluator too)."""
    return InputError(
        f"You have set `args.eval_strategy` to {strategy}, but you didn't provide "
        "an `eval_dataset` or an `evaluator`. Either provide an `eval_dataset` or an `evaluator` to "
        f"`{trainer}`, or set `args.eval_strategy='no'` to skip evaluation."
    )
