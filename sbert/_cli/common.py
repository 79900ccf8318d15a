"""What every command shares: the model options, loading the model they name, and argument types.

A leaf of the CLI package: command modules import it, it imports no command module.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._model import SentenceTransformer


def add_model_arguments(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        "-m",
        metavar="M",
        default=None,
        action="append" if many else "store",
        help="model folder or hub name (default: the embedded all-MiniLM-L6-v2, works offline)"
        + ("; repeat for several, NAME=M names one" if many else ""),
    )
    group.add_argument(
        "--device", metavar="D", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)"
    )
    group.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto (default): ONNX Runtime when an up-to-date export exists, else torch",
    )
    group.add_argument(
        "--precision",
        choices=("fp32", "bf16", "fp16", "int8"),
        default="fp32",
        help="fp32 (default, faithful); bf16/fp16 on torch; int8 on ONNX Runtime",
    )
    group.add_argument(
        "--fast",
        action="store_true",
        help="the fast mode for this machine: bf16 on CPUs with native bf16 (AMX/AVX512-BF16), else int8",
    )
    group.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow pytorch_model.bin weights (pickle can run code on load: only for models you trust)",
    )


def load_model(args: argparse.Namespace, **options: Any) -> SentenceTransformer:
    """The model that ``--model`` and the other model options name (torch loads only now)."""
    from .._backends.cpu import fast_precision
    from .._model import SentenceTransformer  # imports torch: only now that a command needs a model

    precision = fast_precision() if args.fast else args.precision
    return SentenceTransformer(
        args.model,
        device=args.device,
        backend=args.backend,
        precision=precision,
        allow_pickle=args.allow_pickle,
        **options,
    )


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number
