"""The ``sbert`` command line: argument parsing only, every command calls the library.

Each subcommand is one :class:`_Command` entry: a function that declares its arguments and a function that
runs it and returns an exit status. Adding a command (export, train, serve, ...) means writing those two
functions and appending an entry to ``_COMMANDS``; ``sbert --help`` lists it with its examples.

Exit status: 0 on success, 2 for any error the user can fix (bad arguments, unreadable input, a model that
does not load), reported as one ``sbert: error: ...`` line on stderr without a traceback, 130 on Ctrl-C.

Importing this module stays light (no torch): models load only when a command runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import InputError, SbertError, missing_extra
from .._io.atomic import atomic_write_bytes
from .._numeric import SIMILARITY_FUNCTIONS
from .._version import __version__
from . import ray as _distributed_cli
from . import search as _search_commands
from . import serve as _serve
from . import training as _cli_training
from .common import add_model_arguments, load_model, positive_int

if TYPE_CHECKING:
    from .._model import SentenceTransformer

PROG = "sbert"
EXIT_OK = 0
EXIT_USAGE = 2  # argparse uses 2 for bad arguments; every other user-fixable error shares it
EXIT_INTERRUPTED = 130
DEFAULT_COLUMN = "text"


@dataclass(frozen=True)
class _Command:
    name: str
    summary: str  # one line, shown in ``sbert --help``
    description: str
    examples: str  # shown in ``sbert NAME --help`` and, all together, in ``sbert --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Never raises ``SystemExit``: ``--help``, ``--version`` and argument errors return their status too,
    so tests and other programs can call it in-process.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or an argument error already printed by argparse
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `sbert encode ... | head`: the reader left, nothing more to say
        _silence_stdout()
        return EXIT_OK
    except (SbertError, OSError, ValueError, TypeError) as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``sbert`` with one subparser per entry of ``_COMMANDS``."""
    examples = "\n".join(command.examples for command in _COMMANDS)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Sentence embeddings from the command line: encode texts, compare them, export models.",
        epilog=f"examples:\n{examples}\nRun '{PROG} COMMAND --help' for the options of one command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", required=True)
    for command in _COMMANDS:
        sub = subparsers.add_parser(
            command.name,
            help=command.summary,
            description=command.description,
            epilog=f"examples:\n{command.examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


# ---------------------------------------------------------------------------------------------- encode

_ENCODE_DESCRIPTION = """\
Embed texts and write one vector per text.

Input: TEXT arguments, or -i FILE (the format follows the extension; '-i -' reads text lines from stdin):
  .jsonl / .ndjson  one JSON object per line, the text in field --column (default 'text'); a line that
                    is a JSON string is the text itself; blank lines are skipped
  .csv / .tsv       a header row, the text in column --column (default 'text'); .csv uses standard
                    quoting, .tsv none (so texts may contain '"'); blank lines are skipped
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
"""


def _add_encode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to embed (or use -i)")
    parser.add_argument(
        "-i", "--input", metavar="FILE", help="read the texts from FILE (.txt, .jsonl, .csv, .tsv)"
    )
    parser.add_argument(
        "--column",
        metavar="NAME",
        default=None,
        help=f"field (.jsonl) or column (.csv/.tsv) holding the text (default: {DEFAULT_COLUMN!r})",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="write to OUT (.npy, .parquet, .jsonl); default: stdout"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="most texts per batch (default: by precision, 32 in fp32, 128 in bf16)",
    )
    parser.add_argument("--normalize", action="store_true", help="scale every embedding to unit length")
    add_model_arguments(parser)
    _distributed_cli.add_arguments(parser)


def _run_encode(args: argparse.Namespace) -> int:
    if args.ray:
        return _distributed_cli.run(args)
    if args.id_column is not None or args.num_actors is not None:
        raise InputError("--id-column and --num-actors apply to --ray.")
    # Everything that can fail without the model fails first: reading input, choosing the writer.
    write = _writer_for(args.output)
    texts = _read_texts(args)
    model = load_model(args)
    # (n, d) float32, in input order; (0, d) for an empty file
    embeddings = model.encode(texts, batch_size=args.batch_size, normalize_embeddings=args.normalize)
    write(args.output, texts, embeddings)
    destination = args.output if args.output is not None else "stdout"
    noun = "text" if len(texts) == 1 else "texts"
    print(f"encoded {len(texts)} {noun} -> {destination} {embeddings.shape}", file=sys.stderr)
    return EXIT_OK


def _read_texts(args: argparse.Namespace) -> list[str]:
    if args.input is None:
        if args.column is not None:
            raise InputError("--column applies to -i FILE with a .jsonl, .csv or .tsv file.")
        if not args.texts:
            raise InputError("no texts: pass them as arguments or read them from a file with -i FILE.")
        return list(args.texts)
    if args.texts:
        raise InputError("pass texts either as arguments or with -i FILE, not both.")
    reader = None if args.input == "-" else _READERS.get(Path(args.input).suffix.lower())
    if reader is None:  # plain text, one text per line
        if args.column is not None:
            raise InputError(f"--column applies to .jsonl, .csv and .tsv files, not to {_name(args.input)}.")
        return _read_lines(_load_text(args.input))
    return reader(args.input, _load_text(args.input), args.column or DEFAULT_COLUMN)


def _load_text(path: str) -> str:
    """The file (or stdin for ``-``) decoded as UTF-8, a byte-order mark dropped."""
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"{_name(path)}:{line}: not valid UTF-8 (byte {data[e.start]:#04x}); save it as UTF-8."
        ) from None


def _read_lines(text: str) -> list[str]:
    if not text:
        return []  # an empty file holds no texts; a file holding just a newline holds one empty text
    text = text.removesuffix("\n")  # the newline that ends the last line does not start another text
    return [line.removesuffix("\r") for line in text.split("\n")]


def _read_jsonl(path: str, text: str, column: str) -> list[str]:
    texts = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{_name(path)}:{number}: invalid JSON ({e.msg} at column {e.colno}).") from None
        if isinstance(item, dict):
            if column not in item:
                fields = ", ".join(map(repr, item)) or "none"
                raise InputError(
                    f"{_name(path)}:{number}: no field {column!r} in this object (fields: {fields}); "
                    "choose one with --column."
                )
            item = item[column]
            where = f"field {column!r}"
        else:
            where = "the line"
        if not isinstance(item, str):
            kind = "null" if item is None else type(item).__name__
            raise InputError(f"{_name(path)}:{number}: {where} is {kind}, expected a string or an object.")
        texts.append(item)
    return texts


def _read_csv(path: str, text: str, column: str) -> list[str]:
    return _read_table(path, column, csv.reader(io.StringIO(text, newline="")))


def _read_tsv(path: str, text: str, column: str) -> list[str]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    return _read_table(path, column, rows)


def _read_table(path: str, column: str, rows: Any) -> list[str]:
    """The ``column`` of a csv reader's rows, checked against the header row."""
    texts = []
    line = 0  # physical line where the current record starts (a quoted .csv field may span lines)
    try:
        header = next(rows, None)
        if header is None:
            raise InputError(f"{_name(path)}: the file is empty; expected a header row naming the columns.")
        if column not in header:
            names = ", ".join(map(repr, header))
            raise InputError(
                f"{_name(path)}:1: no column {column!r} in the header (columns: {names}); choose one with --column."
            )
        index = header.index(column)
        line = rows.line_num + 1
        for row in rows:
            if row and len(row) != len(header):
                raise InputError(
                    f"{_name(path)}:{line}: the row has {len(row)} fields but the header has {len(header)}."
                )
            if row:  # csv gives [] for a blank line
                texts.append(row[index])
            line = rows.line_num + 1
    except csv.Error as e:
        raise InputError(f"{_name(path)}:{line or 1}: {e}.") from None
    return texts


# Input readers by file extension; any other extension is plain text, one text per line.
_READERS: dict[str, Callable[[str, str, str], list[str]]] = {
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".csv": _read_csv,
    ".tsv": _read_tsv,
}


def _write_npy(path: str, texts: list[str], embeddings: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, embeddings, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def _write_parquet(path: str, texts: list[str], embeddings: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, d = embeddings.shape
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * d)  # row i is values[offsets[i]:offsets[i + 1]]
    vectors = pa.ListArray.from_arrays(offsets, pa.array(embeddings.reshape(-1), type=pa.float32()))
    table = pa.table({"text": pa.array(texts, type=pa.string()), "embedding": vectors})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def _write_jsonl(path: str, texts: list[str], embeddings: np.ndarray) -> None:
    atomic_write_bytes(path, "".join(_jsonl_lines(texts, embeddings, ensure_ascii=False)).encode("utf-8"))


def _write_stdout(path: None, texts: list[str], embeddings: np.ndarray) -> None:
    # ASCII-only JSON: safe whatever encoding the terminal or pipe uses.
    for line in _jsonl_lines(texts, embeddings, ensure_ascii=True):
        sys.stdout.write(line)
    sys.stdout.flush()


def _jsonl_lines(texts: list[str], embeddings: np.ndarray, *, ensure_ascii: bool) -> Iterator[str]:
    # tolist() gives each float32 as the float64 holding exactly its value: reading it back is lossless.
    for text, vector in zip(texts, embeddings):
        yield json.dumps({"text": text, "embedding": vector.tolist()}, ensure_ascii=ensure_ascii) + "\n"


# Output writers by file extension; without -o, _write_stdout.
_WRITERS: dict[str, Callable[[Any, list[str], np.ndarray], None]] = {
    ".npy": _write_npy,
    ".parquet": _write_parquet,
    ".jsonl": _write_jsonl,
}


def _writer_for(output: str | None) -> Callable[[Any, list[str], np.ndarray], None]:
    if output is None:
        return _write_stdout
    suffix = Path(output).suffix.lower()
    if suffix not in _WRITERS:
        raise InputError(
            f"cannot write {output!r}: the output extension must be one of {', '.join(_WRITERS)}."
        )
    if suffix == ".parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise missing_extra("pyarrow", "parquet") from None
    if Path(output).is_dir():
        raise InputError(f"cannot write {output!r}: it is a folder.")
    return _WRITERS[suffix]


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
    scores = model.similarity(embeddings, embeddings)  # (n, n)
    if len(texts) == 2:
        print(f"{scores[0, 1]:.4f}")
    else:
        for row in scores:
            print("\t".join(f"{value:.4f}" for value in row))
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- export

_EXPORT_DESCRIPTION = """\
Export a model to a self-contained ONNX folder: the whole pipeline (encoder, pooling, dense, normalize) as
one graph, plus tokenizer, configs and model card. The folder loads and encodes with only sbert,
onnxruntime, tokenizers and numpy installed (no torch)."""

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
        "output", metavar="OUT_DIR", help="folder to write (replaced atomically if it exists)"
    )
    parser.add_argument(
        "--quantize", choices=("int8",), default=None, help="write a dynamically quantized int8 graph"
    )
    parser.add_argument(
        "--allow-pickle", action="store_true", help="allow pytorch_model.bin weights (pickle)"
    )


def _run_export(args: argparse.Namespace) -> int:
    from .._model import SentenceTransformer

    model = SentenceTransformer(args.model, backend="torch", device="cpu", allow_pickle=args.allow_pickle)
    model.export(args.output, quantize=args.quantize)
    print(
        f"exported {args.model or 'all-MiniLM-L6-v2'} -> {args.output} ({args.quantize or 'fp32'})",
        file=sys.stderr,
    )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- registry

_COMMANDS: tuple[_Command, ...] = (
    _Command(
        name="encode",
        summary="embed texts from arguments or a file into .npy, .parquet or .jsonl",
        description=_ENCODE_DESCRIPTION,
        examples=_ENCODE_EXAMPLES,
        add_arguments=_add_encode_arguments,
        run=_run_encode,
    ),
    _Command(
        name="similarity",
        summary="print the similarity of two texts (or the matrix of more)",
        description=_SIMILARITY_DESCRIPTION,
        examples=_SIMILARITY_EXAMPLES,
        add_arguments=_add_similarity_arguments,
        run=_run_similarity,
    ),
    _Command(
        name="export",
        summary="export a model to a self-contained ONNX folder (optionally int8)",
        description=_EXPORT_DESCRIPTION,
        examples=_EXPORT_EXAMPLES,
        add_arguments=_add_export_arguments,
        run=_run_export,
    ),
    _Command(
        name="serve",
        summary="serve models over HTTP: OpenAI and TEI protocols, dynamic batching, metrics",
        description=_serve.DESCRIPTION,
        examples=_serve.EXAMPLES,
        add_arguments=_serve.add_arguments,
        run=_serve.run,
    ),
    _Command(
        name="cluster",
        summary="cluster texts (k-means, agglomerative, HDBSCAN) into a .jsonl of labels",
        description=_search_commands.CLUSTER_DESCRIPTION,
        examples=_search_commands.CLUSTER_EXAMPLES,
        add_arguments=_search_commands.add_cluster_arguments,
        run=_search_commands.run_cluster,
    ),
    _Command(
        name="index",
        summary="build, extend or describe a persistent vector index (faiss)",
        description=_search_commands.INDEX_DESCRIPTION,
        examples=_search_commands.INDEX_EXAMPLES,
        add_arguments=_search_commands.add_index_arguments,
        run=_search_commands.run_index,
    ),
    _Command(
        name="search",
        summary="find the texts of an index closest to a query",
        description=_search_commands.SEARCH_DESCRIPTION,
        examples=_search_commands.SEARCH_EXAMPLES,
        add_arguments=_search_commands.add_search_arguments,
        run=_search_commands.run_search,
    ),
    _Command(
        name="train",
        summary="fine-tune a model from a YAML recipe (NLI softmax, STS regression, pairs, distillation)",
        description=_cli_training.TRAIN_DESCRIPTION,
        examples=_cli_training.TRAIN_EXAMPLES,
        add_arguments=_cli_training.add_train_arguments,
        run=_cli_training.run_train,
    ),
    _Command(
        name="eval",
        summary="evaluate a model: STS Spearman, retrieval NDCG@10, classification accuracy",
        description=_cli_training.EVAL_DESCRIPTION,
        examples=_cli_training.EVAL_EXAMPLES,
        add_arguments=lambda parser: _cli_training.add_eval_arguments(parser, add_model_arguments),
        run=lambda args: _cli_training.run_eval(args, load_model),
    ),
)


# ---------------------------------------------------------------------------------------------- helpers


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. captured in tests)
        pass
