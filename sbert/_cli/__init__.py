"""The ``sbert`` command line: ``main``, the parser, and the one registry of commands.

Each subcommand is a :class:`~sbert._cli.common.Command` exported by its command module (encode.py,
search.py, training.py, serve.py): adding one means writing that module and adding it to ``COMMANDS``;
``sbert --help`` lists it with its examples.

Exit status: 0 on success, 2 for any error the user can fix (bad arguments, unreadable input, a model that
does not load), reported as one ``sbert: error: ...`` line on stderr without a traceback, 130 on Ctrl-C.

Importing this package stays light (no torch): models load only when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._errors import TORCH_PACKAGES, SbertError
from .._version import __version__
from . import distill, doctor, encode, mine, rerank, search, serve, training
from .common import EXIT_OK, Command, help_text

PROG = "sbert"
EXIT_USAGE = 2  # argparse uses 2 for bad arguments; every other user-fixable error shares it
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Never raises ``SystemExit``: ``--help``, ``--version`` and argument errors return their status too,
    so tests and other programs can call it in-process.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said by the command's own parser: its usage line, not the top level's
            getattr(args, "parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
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
    except ModuleNotFoundError as e:  # a path that imports torch without asking require_torch first
        if (e.name or "").split(".")[0] not in TORCH_PACKAGES:
            raise
        print(
            f"{PROG}: error: {e.name} is not installed; install it with: pip install 'sbert[torch]'",
            file=sys.stderr,
        )
        return EXIT_USAGE


def build_parser(command_name: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``sbert`` with one subparser per entry of ``COMMANDS``; with the name of one, only
    its subparser, so running a command never builds (or imports for) the others' help."""
    examples = "\n".join(command.examples for command in COMMANDS)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Sentence embeddings from the command line: encode texts, compare them, export models.",
        epilog=f"examples:\n{examples}\nRun '{PROG} COMMAND --help' for the options of one command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", required=True)
    named = [c for c in COMMANDS if c.name == command_name]
    for command in named or COMMANDS:
        sub = subparsers.add_parser(
            command.name,
            help=command.summary,
            description=help_text(command.description),
            epilog=f"examples:\n{command.examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run, parser=sub)
    return parser


_SERVE_SUMMARY = "serve models over HTTP: OpenAI and TEI protocols, dynamic batching, metrics"

# The one registry: ``sbert --help`` lists the commands in this order.
COMMANDS: tuple[Command, ...] = (
    encode.ENCODE,
    encode.SIMILARITY,
    encode.EXPORT,
    Command("serve", _SERVE_SUMMARY, serve.description, serve.EXAMPLES, serve.add_arguments, serve.run),
    search.CLUSTER,
    search.INDEX,
    search.SEARCH,
    training.TRAIN,
    training.EVAL,
    mine.MINE,
    rerank.RERANK,
    distill.DISTILL,
    doctor.DOCTOR,
)


# ---------------------------------------------------------------------------------------------- helpers


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
