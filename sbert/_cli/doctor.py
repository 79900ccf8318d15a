"""``sbert doctor``: why this machine is fast or slow, for its user and for bug reports.

Prints the versions, the CPU and its flags, the CPUs and threads in use, the installed extras, the backend
``backend="auto"`` picks for a model and this CPU's fast mode with the rule that chose it, then a short
throughput probe of both on synthetic texts (offline, seeded). ``--json`` prints the same as one object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from typing import Any

from .._backends.cpu import (
    FLAGS_ENV,
    RELEVANT_FLAGS,
    available_cpus,
    compute_threads,
    cpu_flags,
    cpu_model_name,
    fast_mode,
    installed,
    int8_weight_bits,
)
from .._backends.onnx_export import cache_root, writable_cache
from .._errors import SbertError
from .._version import __version__
from .common import EXIT_OK, Command

MAX_SECONDS = 3600  # per probe (--seconds): an hour is far past any useful measurement

_DESCRIPTION = """\
Show why this machine encodes fast or slow: sbert's and its dependencies' versions, the CPU's model and
flags (AVX2, AVX-512, VNNI, bf16, AMX), the CPUs this process may use and the thread counts, the installed
extras, the backend that backend="auto" picks for the model (default: the embedded all-MiniLM-L6-v2) and the
fast mode this CPU gets (--fast) with the rule that chose it, then texts/s of both on synthetic sentences for
about --seconds each (model loading not counted). --json prints one JSON object, for bug reports.
$SBERT_CPU_FLAGS (space-separated) replaces the CPU's flags, to reproduce another machine's choice."""

_EXAMPLES = """\
  sbert doctor
  sbert doctor --model ./my-model --seconds 5 --json > doctor.json
"""

# The distributions whose versions explain a speed; pip names.
_PACKAGES = ("numpy", "onnxruntime", "torch", "transformers", "tokenizers")
# Each extra of pyproject.toml and the modules it installs: present when all of them import.
_EXTRAS = {
    "torch": ("torch", "transformers"),
    "onnx": ("onnxruntime", "onnx"),
    "server": ("fastapi", "uvicorn", "orjson"),
    "search": ("faiss",),
    "cluster": ("sklearn",),
    "train": ("yaml", "matplotlib", "sklearn", "datasets"),
    "ray": ("ray",),
    "distill": ("model2vec", "skeletoken"),
    "parquet": ("pyarrow",),
}
_WORDS = (
    "the a of and to in is was for on with as by at from that this it be are city river music team year "
    "people market history science water light house road school night small large early later new old "
    "played built found moved won said made called known began ended grew became"
).split()
_PROBE_CHUNK = 64  # texts per encode call in the probe: a batch size users typically hand encode


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        "-m",
        metavar="M",
        default=None,
        help="model folder or hub name to probe (default: the embedded all-MiniLM-L6-v2, works offline)",
    )
    parser.add_argument(
        "--seconds",
        type=_positive_seconds,
        default=10.0,
        metavar="S",
        help=f"seconds of encoding per probe, at most {MAX_SECONDS} (default 10)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")


def _run(args: argparse.Namespace) -> int:
    report = machine_report()
    report["model"] = args.model or "all-MiniLM-L6-v2 (embedded default)"
    report.update(probe_report(args.model, args.seconds))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(render(report))
    return EXIT_OK


def machine_report() -> dict[str, Any]:
    """Everything but the probe: versions, CPU, threads, extras, the cache, the fast-mode rule. No torch
    unless it is installed (then for its thread count)."""
    flags = cpu_flags()
    rule = fast_mode(flags)
    cache = cache_root()
    return {
        "versions": {"sbert": __version__, "python": platform.python_version(), **_versions()},
        "cpu": {
            "model": cpu_model_name(),
            "machine": platform.machine(),
            "flags": {flag: flag in flags for flag in RELEVANT_FLAGS},
            "flags_from": _flags_source(flags),
            "available_cpus": available_cpus(),
            "machine_cpus": os.cpu_count(),
        },
        "threads": {
            "torch": _torch_threads(),
            "onnxruntime": compute_threads() if installed("onnxruntime") else None,
        },
        "extras": {name: all(installed(m) for m in modules) for name, modules in _EXTRAS.items()},
        "cache": {"path": str(cache), "writable": writable_cache(cache) == cache},
        "fast_mode": {
            "precision": rule.precision,
            "rule": rule.flag or "none",
            "why": rule.why,
            "int8_weight_bits": int8_weight_bits(flags),
        },
    }


def probe_report(model_name: str | None, seconds: float) -> dict[str, Any]:
    """The backend auto picks and the fast mode, each loaded (untimed) and encoding for ``seconds``."""
    from .._model import SentenceTransformer

    texts = synthetic_texts()
    auto = SentenceTransformer(model_name)
    result = {"auto": {**_model_facts(auto), **_throughput(auto, texts, seconds)}}
    precision = fast_mode().precision
    if precision == auto.precision:  # fp32 is the fast mode here: the same model
        result["fast_probe"] = result["auto"]
        return result
    del auto  # one model in memory at a time
    try:
        fast = SentenceTransformer(model_name, precision=precision)
    except SbertError as e:  # e.g. a static-embedding model, which runs fp32 only
        result["fast_probe"] = {"precision": precision, "error": " ".join(str(e).split())}
        return result
    result["fast_probe"] = {**_model_facts(fast), **_throughput(fast, texts, seconds)}
    return result


def synthetic_texts(count: int = 512, seed: int = 0) -> list[str]:
    """``count`` sentences of 4-30 words drawn from a fixed word list, the same on every machine."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(4, 30))).capitalize() + "." for _ in range(count)]


def _bits_note(fast: dict[str, Any]) -> str:
    """The int8 fast mode's weight bits (7 where 8-bit weights saturate ONNX Runtime's int8 kernels)."""
    bits = fast.get("int8_weight_bits")
    return f" ({bits}-bit int8 weights)" if fast["precision"] == "int8" and bits else ""


def render(report: dict[str, Any]) -> str:
    """The report as aligned ``name  value`` lines."""
    cpu, fast = report["cpu"], report["fast_mode"]
    present = [flag for flag, there in cpu["flags"].items() if there]
    absent = [flag for flag, there in cpu["flags"].items() if not there]
    threads = report["threads"]
    extras = report["extras"]
    lines = [
        ("versions", ", ".join(f"{name} {version}" for name, version in report["versions"].items())),
        ("cpu", f"{cpu['model']} ({cpu['machine']})"),
        (
            "flags",
            f"{' '.join(present) or 'none'}; absent: {' '.join(absent) or 'none'} ({cpu['flags_from']})",
        ),
        ("cpus", f"{cpu['available_cpus']} available to this process, {cpu['machine_cpus']} on the machine"),
        ("threads", f"torch {_or_dash(threads['torch'])}, onnxruntime {_or_dash(threads['onnxruntime'])}"),
        ("extras", _extras_line(extras)),
        ("cache", _cache_line(report["cache"])),
        ("model", report["model"]),
        ("auto", _probe_line(report["auto"])),
        ("fast mode", f"{fast['precision']}, rule {fast['rule']}: {fast['why']}{_bits_note(fast)}"),
        ("fast probe", _probe_line(report["fast_probe"])),
    ]
    return "".join(f"{name:<12}{value}\n" for name, value in lines)


# ---------------------------------------------------------------------------------------------- helpers


def _versions() -> dict[str, str]:
    from importlib import metadata  # not at import: every command's parser imports this module

    found = {}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _flags_source(flags: frozenset[str]) -> str:
    if FLAGS_ENV in os.environ:
        return f"${FLAGS_ENV}"
    return "/proc/cpuinfo" if flags else "unknown: no /proc/cpuinfo flags"


def _torch_threads() -> int | None:
    if not installed("torch"):
        return None
    import torch  # installed: its thread count is what the torch backend will use

    return torch.get_num_threads()


def _model_facts(model: Any) -> dict[str, Any]:
    return {"backend": model.backend, "precision": model.precision, "device": str(model.device)}


def _throughput(model: Any, texts: list[str], seconds: float) -> dict[str, Any]:
    """texts/s of ``model.encode`` on chunks of ``texts`` for about ``seconds`` (at least one chunk)."""
    model.encode(texts[:16])  # warm-up: first-call costs (graph optimization, buffers) left out
    done, start = 0, time.perf_counter()
    while True:
        first = done % len(texts)
        model.encode(texts[first : first + _PROBE_CHUNK])
        done += _PROBE_CHUNK
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return {"texts": done, "seconds": round(elapsed, 3), "texts_per_s": round(done / elapsed, 1)}


def _probe_line(probe: dict[str, Any]) -> str:
    if "error" in probe:
        return f"{probe['precision']} does not run for this model: {probe['error']}"
    return (
        f"backend {probe['backend']}, {probe['precision']} on {probe['device']}: "
        f"{probe['texts_per_s']:.1f} texts/s ({probe['texts']} texts in {probe['seconds']:.1f} s)"
    )


def _extras_line(extras: dict[str, bool]) -> str:
    have = [name for name, there in extras.items() if there]
    lack = [name for name, there in extras.items() if not there]
    return f"{', '.join(have) or 'none'}" + (f"; not installed: {', '.join(lack)}" if lack else "")


def _cache_line(cache: dict[str, Any]) -> str:
    if cache["writable"]:
        return f"{cache['path']} (ONNX graphs built once, reused by later processes)"
    return (
        f"{cache['path']} cannot be written: each process builds its ONNX graphs in a temporary folder "
        "(set SBERT_CACHE to a writable folder)"
    )


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not 0 < seconds <= MAX_SECONDS:  # nan and inf fail too: inf would probe until killed
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_SECONDS}, got {value!r}"
        )
    return seconds


DOCTOR = Command(
    "doctor",
    "show CPU flags, threads, extras, the chosen backend and fast mode, and a throughput probe",
    _DESCRIPTION,
    _EXAMPLES,
    _add_arguments,
    _run,
)
