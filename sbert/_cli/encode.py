"""The ``sbert encode``, ``similarity`` and ``export`` commands: argument parsing, then the library.

Files are read and written by :mod:`sbert._io.files`; ``encode --ray`` hands over to :mod:`sbert._cli.ray`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._errors import InputError
from .._io.atomic import check_output, check_output_folder
from .._io.files import embeddings_writer, read_texts
from .._numeric import SIMILARITY_FUNCTIONS, similarity_matrix
from .._tokens.chunking import check_chunking
from . import ray as ray_cli
from .common import EXIT_OK, Command, add_column_argument, add_model_arguments, load_model, positive_int

# ---------------------------------------------------------------------------------------------- encode

_ENCODE_DESCRIPTION = """\
Embed texts and write one vector per text.

Input: TEXT arguments, or -i FILE (the format follows the extension; '-i -' reads text lines from stdin):
  .jsonl / .ndjson  one JSON object per line, the text in field --column (default 'text'); a line that
                    is a JSON string is the text itself; blank lines are skipped
  .csv / .tsv       a header row, the text in column --column (default 'text'); .csv uses standard
                    quoting, .tsv none (so texts may contain '"'); blank lines are skipped
  .parquet          the text in column --column (default 'text'); needs pyarrow
  .json             refused: one JSON document, not texts; write a .jsonl file (one object per line)
  anything else     plain UTF-8 text, one text per line; an empty line is an empty text, the newline
                    at the very end of the file does not start another one ('\\r\\n' counts as '\\n')

Output: -o FILE (the format follows the extension; written atomically):
  .npy              a float32 array (n, d), rows in input order
  .parquet          columns 'text' (string) and 'embedding' (list<float32>); needs pyarrow
  .jsonl            one {"text": ..., "embedding": [...]} object per line
Without -o, the .jsonl lines go to stdout. A summary line goes to stderr."""

_ENCODE_EXAMPLES = """\
  sbert encode "The weather is lovely today." "It's so sunny outside!" -o vectors.npy
  sbert encode -i reviews.csv --column body -o reviews.parquet --normalize
  sbert encode -i sentences.txt --model ./my-model --batch-size 64 -o vectors.jsonl
  sbert encode -i questions.txt --model ./e5-model --prompt-name query -o questions.npy
  sbert encode -i articles.jsonl --chunk-tokens 200 --chunk-overlap 20 -o articles.npy
"""


def _add_encode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to embed (or use -i)")
    parser.add_argument(
        "-i", "--input", metavar="FILE", help="read the texts from FILE (.txt, .jsonl, .csv, .tsv, .parquet)"
    )
    add_column_argument(parser)
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="write to OUT (.npy, .parquet, .jsonl); default: stdout"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="most texts per batch (default: by precision and device: 64 in fp32 and int8 on a CPU, 32 on a "
        "GPU, 128 in bf16)",
    )
    parser.add_argument("--normalize", action="store_true", help="scale every embedding to unit length")
    prompts = parser.add_mutually_exclusive_group()
    prompts.add_argument(
        "--prompt-name",
        metavar="NAME",
        default=None,
        help="put the model's prompt NAME (e.g. query, document) before every text",
    )
    prompts.add_argument("--prompt", metavar="TEXT", default=None, help="put TEXT before every text")
    add_chunk_arguments(parser)
    add_model_arguments(parser)
    ray_cli.add_arguments(parser)


def add_chunk_arguments(parser: argparse.ArgumentParser) -> None:
    """``--chunk-tokens`` / ``--chunk-overlap``: one vector per long text from its token windows."""
    group = parser.add_argument_group(
        "long texts",
        "a text longer than --chunk-tokens tokens is cut into windows of that many tokens of the model's "
        "tokenizer; its vector is the mean of the windows' vectors, weighted by their tokens",
    )
    group.add_argument(
        "--chunk-tokens",
        type=positive_int,
        default=None,
        metavar="N",
        help="tokens per window (at most max_seq_length less the special and prompt tokens)",
    )
    group.add_argument(
        "--chunk-overlap",
        type=int,
        default=None,
        metavar="M",
        help="tokens shared by adjacent windows (default 0)",
    )


def chunk_options(args: argparse.Namespace) -> dict[str, int]:
    """The ``encode`` keywords of ``--chunk-tokens`` / ``--chunk-overlap`` (none without them)."""
    if args.chunk_tokens is None:
        if args.chunk_overlap is not None:
            raise InputError("--chunk-overlap applies with --chunk-tokens N.")
        return {}
    overlap = args.chunk_overlap or 0
    check_chunking(args.chunk_tokens, overlap)  # before the model loads; its limit is checked by encode
    return {"chunk_tokens": args.chunk_tokens, "chunk_overlap": overlap}


def _run_encode(args: argparse.Namespace) -> int:
    chunking = chunk_options(args)
    prompt = {"prompt_name": args.prompt_name, "prompt": args.prompt}
    if args.ray:
        if chunking or args.prompt_name is not None or args.prompt is not None:
            raise InputError("--chunk-tokens, --prompt-name and --prompt do not apply to --ray.")
        return ray_cli.run(args)
    if args.id_column is not None or args.num_actors is not None:
        raise InputError("--id-column and --num-actors apply to --ray.")
    # Everything that can fail without the model fails first: reading input, choosing the writer.
    write = embeddings_writer(args.output)
    if args.output is not None:
        check_output(args.output, args.input)
    texts = _texts(args)
    model = load_model(args)
    # (n, d) float32, in input order; (0, d) for an empty file
    embeddings = model.encode(
        texts, batch_size=args.batch_size, normalize_embeddings=args.normalize, **prompt, **chunking
    )
    write(texts, embeddings)
    destination = args.output if args.output is not None else "stdout"
    noun = "text" if len(texts) == 1 else "texts"
    print(f"encoded {len(texts)} {noun} -> {destination} {embeddings.shape}", file=sys.stderr)
    return EXIT_OK


def _texts(args: argparse.Namespace) -> list[str]:
    """The TEXT arguments, or the texts of -i FILE: one or the other."""
    if args.input is None:
        if args.column is not None:
            raise InputError("--column applies to -i FILE with a .jsonl, .csv, .tsv or .parquet file.")
        if not args.texts:
            raise InputError("no texts: pass them as arguments or read them from a file with -i FILE.")
        return list(args.texts)
    if args.texts:
        raise InputError("pass texts either as arguments or with -i FILE, not both.")
    texts, _ = read_texts(args.input, args.column)
    return texts


ENCODE = Command(
    "encode",
    "embed texts from arguments or a file into .npy, .parquet or .jsonl",
    _ENCODE_DESCRIPTION,
    _ENCODE_EXAMPLES,
    _add_encode_arguments,
    _run_encode,
)

# ---------------------------------------------------------------------------------------------- similarity

_SIMILARITY_DESCRIPTION = """\
Print the similarity of texts under the model's similarity function (cosine unless the model or
--function says otherwise), with 4 decimals. Two texts print one number; more print the n x n matrix,
one tab-separated row per line, in the order given."""

_SIMILARITY_EXAMPLES = """\
  sbert similarity "The weather is lovely today." "It's so sunny outside!"
  sbert similarity "A man plays guitar." "A woman plays music." "The cat sat." --function dot
"""


def _add_similarity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="two or more texts")
    parser.add_argument(
        "--function",
        choices=SIMILARITY_FUNCTIONS,
        default=None,
        help="similarity function (default: the model's)",
    )
    add_model_arguments(parser)


def _run_similarity(args: argparse.Namespace) -> int:
    texts = list(args.texts)
    if len(texts) < 2:
        raise InputError("similarity needs at least two texts.")
    model = load_model(args, similarity_fn_name=args.function)
    embeddings = model.encode(texts)
    scores = similarity_matrix(embeddings, embeddings, model.similarity_fn_name)  # (n, n), numpy: no torch
    if len(texts) == 2:
        print(f"{scores[0, 1]:.4f}")
    else:
        for row in scores:
            print("\t".join(f"{value:.4f}" for value in row))
    return EXIT_OK


SIMILARITY = Command(
    "similarity",
    "print the similarity of two texts (or the matrix of more)",
    _SIMILARITY_DESCRIPTION,
    _SIMILARITY_EXAMPLES,
    _add_similarity_arguments,
    _run_similarity,
)

# ---------------------------------------------------------------------------------------------- export

_EXPORT_DESCRIPTION = """\
Export a model to a self-contained ONNX folder: the whole pipeline (encoder, pooling, dense, normalize) as
one graph, or a cross-encoder's classifier (its logits), plus tokenizer, configs and model card. The folder
loads and encodes (or predicts) with only sbert, onnxruntime, tokenizers and numpy installed (no torch).
BERT, RoBERTa, XLM-R, CamemBERT, DistilBERT and MPNet models are exported without torch (fp32 or int8);
other architectures are traced with torch: pip install 'sbert[torch,onnx]'."""

_EXPORT_EXAMPLES = """\
  sbert export all-MiniLM-L6-v2 minilm-onnx
  sbert export path/to/model model-int8 --quantize int8
  sbert encode --model minilm-onnx "hello" -o hello.npy
"""


def _add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="model folder or hub name ('all-MiniLM-L6-v2' is embedded)"
    )
    parser.add_argument(
        "output",
        metavar="OUT_DIR",
        help="folder to write, not the model's own; an existing folder keeps what the export does not write "
        "(except weight files at its top level), and each file or folder the export writes replaces its "
        "namesake",
    )
    parser.add_argument(
        "--quantize", choices=("int8",), default=None, help="write a dynamically quantized int8 graph"
    )
    parser.add_argument(
        "--allow-pickle", action="store_true", help="allow pytorch_model.bin weights (pickle)"
    )


def _run_export(args: argparse.Namespace) -> int:
    from .._backends.onnx_export import exports_without_torch, require_exporter
    from .._format.hub import resolve_model_path
    from .._format.layout import cross_encoder_reason

    check_output_folder(args.output, args.model)  # before any work: never the model's own folder
    folder = resolve_model_path(args.model, allow_pickle=args.allow_pickle)
    precision = args.quantize or "fp32"
    classifier = cross_encoder_reason(folder) is not None  # a reranker / pair classifier: its logits graph
    # built: the graph is written from the folder's files, with no torch model to load
    built = exports_without_torch(folder, precision, classifier=classifier)
    if not built:  # a torch trace: the onnx extra, checked before the model loads
        require_exporter([precision])
    options = {"backend": "onnx" if built else "torch", "device": "cpu", "allow_pickle": args.allow_pickle}
    if classifier:
        from .._cross_encoder.model import CrossEncoder

        model: Any = CrossEncoder(folder, **options)
    else:
        from .._model import SentenceTransformer

        model = SentenceTransformer(args.model, **options)
    model.export(args.output, quantize=args.quantize)
    print(
        f"exported {args.model or 'all-MiniLM-L6-v2'} -> {args.output} ({args.quantize or 'fp32'})",
        file=sys.stderr,
    )
    return EXIT_OK


EXPORT = Command(
    "export",
    "export a model to a self-contained ONNX folder (optionally int8)",
    _EXPORT_DESCRIPTION,
    _EXPORT_EXAMPLES,
    _add_export_arguments,
    _run_export,
)
