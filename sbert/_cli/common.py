"""What every command shares: the command record, the model options, loading the model, argument types.

A leaf of the CLI package: command modules import it, it imports no command module.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._backends import BACKENDS, CHOICES, PRECISIONS
from .._errors import InputError
from .._io.files import TEXT_COLUMN

if TYPE_CHECKING:
    from .._model import SentenceTransformer

EXIT_OK = 0


@dataclass(frozen=True)
class Command:
    """One subcommand: each command module exports these, ``sbert._cli`` registers them in one tuple."""

    name: str
    summary: str  # one line, shown in ``sbert --help``
    description: str | Callable[[], str]  # a callable: help made only when this command is parsed
    examples: str  # shown in ``sbert NAME --help`` and, all together, in ``sbert --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]  # returns the exit status


def help_text(text: str | Callable[[], str]) -> str:
    """A help text, or the one a function makes (help that imports more is made only when its parser is)."""
    return text if isinstance(text, str) else text()


def add_column_argument(parser: argparse.ArgumentParser) -> None:
    """``--column``: which field or column of an input file holds the texts."""
    parser.add_argument(
        "--column",
        metavar="NAME",
        default=None,
        help=f"field (.jsonl) or column (.csv/.tsv/.parquet) holding the text (default: {TEXT_COLUMN!r})",
    )


def add_model_arguments(
    parser: argparse.ArgumentParser, *, many: bool = False, model_help: str | None = None
) -> None:
    """The model options every model command shares. ``model_help``: a command whose ``--model`` is
    another kind of model (a cross-encoder) and has no default, so it is required."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        "-m",
        metavar="M",
        default=None,
        required=model_help is not None,
        action="append" if many else "store",
        help=model_help
        or "model folder or hub name (default: the embedded all-MiniLM-L6-v2, works offline)"
        + ("; repeat for several, NAME=M names one" if many else ""),
    )
    group.add_argument(
        "--device", metavar="D", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)"
    )
    group.add_argument(
        "--backend",
        choices=CHOICES,
        default="auto",
        help="auto (default): the first of "
        + ", ".join(name for name in BACKENDS)
        + " that runs the precision and is ready now (ONNX: an up-to-date export exists)",
    )
    precision = group.add_mutually_exclusive_group()  # --fast picks the precision itself
    precision.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,  # fp32; None lets argparse tell an explicit fp32 from the default (--fast conflicts)
        help="fp32 (default, faithful); by backend: "
        + "; ".join(f"{name} {'/'.join(b.precisions)}" for name, b in BACKENDS.items()),
    )
    precision.add_argument(
        "--fast",
        action="store_true",
        help="the fast mode for this CPU by its flags: int8 with AMX, VNNI or AVX2 (bf16 on a GPU), "
        "else fp32 (`sbert doctor` shows the rule)",
    )
    group.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow pytorch_model.bin weights (pickle can run code on load: only for models you trust)",
    )


def load_model(args: argparse.Namespace, **options: Any) -> SentenceTransformer:
    """The model that ``--model`` and the other model options name (torch loads only now). A cross-encoder
    is refused: ``SentenceTransformer`` converts one, as sentence-transformers does (to train it as an
    embedding model), but its untrained pooling would give a command meaningless vectors."""
    from .._model import SentenceTransformer  # imports torch: only now that a command needs a model

    if args.model is not None:
        refuse_cross_encoder(args.model, args.allow_pickle)
    return SentenceTransformer(
        args.model,
        device=args.device,
        backend=args.backend,
        precision=model_precision(args),
        allow_pickle=args.allow_pickle,
        **options,
    )


def refuse_cross_encoder(name: str, allow_pickle: bool) -> None:
    """InputError where the model ``name`` is a cross-encoder (before a command embeds with it)."""
    from .._format.hub import resolve_model_path
    from .._format.layout import cross_encoder_reason

    reason = cross_encoder_reason(resolve_model_path(name, allow_pickle=allow_pickle))
    if reason is not None:
        raise InputError(
            f"{name} is a cross-encoder ({reason}): it scores text pairs and makes no embeddings; give "
            "--model an embedding model (a cross-encoder goes to `sbert rerank`, --reranker or "
            "--cross-encoder)."
        )


def model_precision(args: argparse.Namespace) -> str:
    """``--precision``, or with ``--fast`` the fast one for this machine and ``--device``."""
    if args.fast:
        from .._backends.cpu import fast_precision

        return fast_precision(args.device)
    return args.precision or "fp32"


def _argument(value: str, parse: Callable[[str], Any], accept: Callable[[Any], bool], expected: str) -> Any:
    """``value`` read by ``parse`` where ``accept`` takes it, else argparse's error naming what fits."""
    try:
        number = parse(value)
    except ValueError:
        number = None
    if number is None or not accept(number):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
    return number


def positive_int(value: str) -> int:
    return _argument(value, int, lambda number: number >= 1, "a positive integer")


def at_least_two(value: str) -> int:
    """An argument type: an integer >= 2 (cross-validation folds)."""
    return _argument(value, int, lambda number: number >= 2, "an integer >= 2")


def finite_float(value: str) -> float:
    """An argument type: a finite number (not nan or inf)."""
    return _argument(value, float, math.isfinite, "a finite number")


def non_negative_float(value: str) -> float:
    """An argument type: a finite number >= 0."""
    return _argument(value, float, lambda number: math.isfinite(number) and number >= 0, "a number >= 0")


def metric_text(name: str, value: float) -> str:
    """A metric as the command line prints it: scores ×100 with 2 decimals (points, as in the Sentence-BERT
    paper; the evaluators return fractions, as sentence-transformers'), thresholds and MSE as they are."""
    if "threshold" in name:
        return f"{value:.4f}"
    return f"{value:.2f}" if "mse" in name.lower() else f"{100 * value:.2f}"
