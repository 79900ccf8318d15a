"""The ``sbert distill`` command: argument parsing, then model2vec's distillation through the library."""

from __future__ import annotations

import argparse
import sys

from .._errors import InputError
from .._io.atomic import check_output_folder
from .common import EXIT_OK, Command, positive_int

_DESCRIPTION = """\
Distil a static-embedding model from a sentence-embedding model with the model2vec library: every token
of the model's vocabulary is embedded once by its encoder (pooled as the model pools), reduced by PCA and
SIF-weighted. The result encodes 100x+ faster on a CPU, with numpy and tokenizers only.

OUT is written atomically in model2vec's layout with a modules.json, so sbert, sentence-transformers and
model2vec (StaticModel.from_pretrained) all load it with the same vectors. Needs the distill extra:
pip install 'sbert[distill]'."""

_EXAMPLES = """\
  sbert distill all-MiniLM-L6-v2 minilm-static --static
  sbert distill ./my-model my-model-static --static --pca-dims 128
  sbert encode --model minilm-static "hello" -o hello.npy
"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="model folder or hub name ('all-MiniLM-L6-v2' is embedded)"
    )
    parser.add_argument(
        "output",
        metavar="OUT",
        help="folder to write, not the model's own; an existing folder is replaced whole (what it held is "
        "deleted)",
    )
    parser.add_argument(
        "--static", action="store_true", help="distil a static-embedding model (the one kind there is)"
    )
    parser.add_argument(
        "--pca-dims",
        type=positive_int,
        default=256,
        metavar="N",
        help="width of the static vectors after PCA (default 256; an N above the model's hidden size keeps "
        "the hidden size, as model2vec does)",
    )
    parser.add_argument("--device", metavar="D", default=None, help="where the encoder runs (default cpu)")
    parser.add_argument(
        "--allow-pickle", action="store_true", help="allow pytorch_model.bin weights (pickle)"
    )


def _run(args: argparse.Namespace) -> int:
    if not args.static:
        raise InputError("sbert distill makes static-embedding models only: add --static.")
    check_output_folder(args.output, args.model, whole=True)  # before any work: not the model's own folder
    from .._modules.static_embedding import distill_to_folder  # imports torch: only when the command runs

    width = distill_to_folder(
        args.model, args.output, pca_dims=args.pca_dims, device=args.device, allow_pickle=args.allow_pickle
    )
    print(f"distilled {args.model} -> {args.output} (static, {width} dims)", file=sys.stderr)
    return EXIT_OK


DISTILL = Command(
    "distill",
    "distil a static-embedding model (model2vec) from a model: 100x+ faster encoding on CPU",
    _DESCRIPTION,
    _EXAMPLES,
    _add_arguments,
    _run,
)
