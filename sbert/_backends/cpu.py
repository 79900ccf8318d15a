"""CPU facts: how many CPUs this process may use, which instruction-set flags the CPU has, and the fast mode
and slow precisions those flags mean.

The flags come from ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``), with one mark derived from the CPU's
vendor and family (:data:`ZEN2_MARK`); ``$SBERT_CPU_FLAGS`` (space- or comma-separated) replaces them, to
reproduce another machine's choice in a bug report or a test.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from .._errors import installed

FLAGS_ENV = "SBERT_CPU_FLAGS"
_CPUINFO = Path("/proc/cpuinfo")
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_SYS_CPU_ROOT = Path("/sys/devices/system/cpu")
_CORE_IDS = ("physical_package_id", "core_id")  # a physical core: its package and its number there
# Not a kernel flag: added to the flags of an AMD CPU of family 17h (Zen, Zen+, Zen 2), whose AVX2 int8
# multiplies (vpmaddubsw, vpmaddwd) share one pipe, so ONNX Runtime's int8 GEMM runs at its fp32 rate there.
ZEN2_MARK = "amd_family_17h"

# The flags that decide speed here, as ``sbert doctor`` and bench/bench_encode.py print them.
RELEVANT_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "avx512_fp16",
    "asimddp",
    ZEN2_MARK,
)


def available_cpus() -> int:
    """The logical CPUs this process may use: its affinity, capped by its container's CPU limit."""
    return _capped_by_quota(len(_affinity()))


def compute_threads() -> int:
    """Threads for one compute session (ONNX Runtime's, the server's torch): one per physical core among the
    CPUs this process may use, capped by its container's CPU limit. Two hyperthreads of a core share its
    vector units, so ONNX Runtime and torch both default to one thread per physical core; their own counts
    ignore affinity and container limits, hence this count."""
    return _capped_by_quota(_physical_cores(_affinity()))


def _affinity() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # not on Linux
        return set(range(os.cpu_count() or 1))


def _physical_cores(cpus: set[int]) -> int:
    """The distinct ``(package, core)`` pairs of ``cpus`` in sysfs; ``len(cpus)`` where sysfs cannot tell."""
    cores = set()
    for number in cpus:
        topology = _SYS_CPU_ROOT / f"cpu{number}" / "topology"
        try:
            cores.add(tuple((topology / name).read_text().strip() for name in _CORE_IDS))
        except OSError:  # not on Linux, or a kernel without topology: count every CPU
            return len(cpus)
    return max(1, len(cores))


def _capped_by_quota(count: int) -> int:
    quota = _cgroup_cpu_quota()
    return max(1, min(count, quota) if quota else count)


def _cgroup_cpu_quota() -> int | None:
    """The whole CPUs of this process's container CPU limit (at least one), ``None`` without a limit: cgroup
    v2's ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``), else cgroup v1's ``cpu.cfs_quota_us``
    and ``cpu.cfs_period_us`` (quota -1: none), which older Docker and Kubernetes hosts mount."""
    try:
        quota, period = (_CGROUP_ROOT / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        quota, period = _cgroup_v1_quota(_CGROUP_ROOT)
    try:
        quota_us, period_us = int(quota), int(period)
    except (TypeError, ValueError):  # "max", or nothing readable
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return max(1, quota_us // period_us)


def _cgroup_v1_quota(root: Path) -> tuple[str | None, ...]:
    """cgroup v1's quota and period (microseconds, as text) under either name of its CPU controller."""
    for folder in (root / "cpu", root / "cpu,cpuacct"):
        try:
            return tuple((folder / f"cpu.cfs_{name}_us").read_text().strip() for name in ("quota", "period"))
        except OSError:
            continue
    return None, None


def cpu_flags(text: str | None = None) -> frozenset[str]:
    """The CPU's flags, lower case: parsed from ``text`` (a /proc/cpuinfo) when given, else
    ``$SBERT_CPU_FLAGS`` when set, else this machine's /proc/cpuinfo; empty where unreadable (not Linux)."""
    if text is None:
        override = os.environ.get(FLAGS_ENV)
        if override is not None:
            return frozenset(override.replace(",", " ").lower().split())
        text = _read_cpuinfo()
    fields = _first_cpu_fields(text)
    flags = frozenset(fields.get("flags", fields.get("Features", "")).lower().split())  # x86, ARM
    if fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "23" and flags:
        flags |= {ZEN2_MARK}
    return flags


def cpu_model_name(text: str | None = None) -> str:
    """The CPU's marketing name (``model name`` in /proc/cpuinfo), else what ``platform`` knows."""
    fields = _first_cpu_fields(_read_cpuinfo() if text is None else text)
    name = fields.get("model name") or fields.get("Model")  # x86, ARM
    return name or platform.processor() or platform.machine() or "unknown"


def _first_cpu_fields(text: str) -> dict[str, str]:
    """The ``key: value`` fields of a /proc/cpuinfo text, each at its first occurrence (the first CPU speaks
    for all; ARM's ``Model`` comes after the per-CPU blocks)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon and value.strip():
            fields.setdefault(key.strip(), value.strip())
    return fields


@functools.cache  # the CPU does not change under a process: one read, however many choices ask
def _read_cpuinfo() -> str:
    try:
        return _CPUINFO.read_text(errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class FastModeRule:
    """One row of :data:`FAST_MODE_RULES`: a CPU with ``flag`` (``None``: any CPU) gets ``precision``."""

    flag: str | None
    precision: str
    why: str


# The fast mode by CPU flags: the first row whose flag the CPU has wins. Every row runs on ONNX Runtime, so
# the base install (no torch) gets the same fast mode. Figures: docs/benchmarks.md and issue 17.
FAST_MODE_RULES: tuple[FastModeRule, ...] = (
    # Sapphire Rapids and later: ONNX Runtime's int8 GEMMs run on the AMX tiles. On a 2-vCPU Xeon with AMX the
    # built int8 graph ran 4.42x / 2.49x sentence-transformers (short / long texts) against torch bf16's
    # 3.12x / 2.31x in the same run, at 0.43x bf16's peak memory (mean cosine 0.9987, bf16 0.99995).
    FastModeRule(
        "amx_int8", "int8", "AMX multiplies int8 tiles natively (ONNX Runtime int8; bf16 measured slower)"
    ),
    # Ice Lake, Cascade Lake, and Zen 4 / Cooper Lake, whose AVX512-BF16 only doubles the fp32 rate: on an
    # EPYC with both, the calibrated int8 graph ran 3.35x / 2.25x sentence-transformers (short / long
    # texts) against bf16's 2.80x / 1.91x in the same run, at mean cosine 0.9971 (bf16 0.99995).
    FastModeRule("avx512_vnni", "int8", "AVX512-VNNI multiplies int8 natively (ONNX Runtime int8)"),
    # Alder Lake and later, Zen 5 client parts: the same instruction at 256 bits.
    FastModeRule("avx_vnni", "int8", "AVX-VNNI multiplies int8 natively (ONNX Runtime int8)"),
    # AVX2-only Zen 2 EPYC (family 17h): the int8 graph ran 0.98-1.02x the fp32 graph end to end (2 threads;
    # ONNX Runtime's int8 GEMM at its fp32 rate, 93 against 94 GFLOP/s on one core), so int8's accuracy
    # bought nothing: the faithful fp32 (docs/benchmarks.md, forty-sixth session).
    FastModeRule(
        ZEN2_MARK, "fp32", "AMD Zen/Zen 2 with AVX2 only: int8 measured no faster than fp32 (0.98-1.02x)"
    ),
    # Other AVX2-only CPUs (issue 17): int8 ONNX 1.15-1.5x fp32 ONNX on an earlier EPYC slot
    # (docs/benchmarks.md); bf16 is emulated there (0.14x ST).
    # Its int8 weights have 7 bits (int8_weight_bits): 8-bit ones saturate without VNNI.
    FastModeRule("avx2", "int8", "AVX2 only: int8 measured 1.15-1.5x fp32, emulated bf16 0.14x"),
    # ARMv8.2+ dot product (Graviton 2/3, Ampere, Apple): ONNX Runtime's int8 kernels are built on sdot/udot,
    # the ARM counterpart of VNNI. Not measured in this project.
    FastModeRule("asimddp", "int8", "ARM dot-product instructions run ONNX Runtime's int8 kernels"),
    # x86 without AVX2 (pre-2013 parts, VMs that hide AVX) or flags unknown (not Linux): no measurement of
    # int8 there, and int8 costs accuracy (mean cosine ~0.998), so the fast mode stays the faithful fp32.
    FastModeRule(None, "fp32", "no AVX2, VNNI or bf16 flag known: int8 unmeasured here, fp32 stays"),
)

# Flags of a dot-product unit that sums int8 products in 32 bits (x86 VNNI and AMX, ARM's sdot/udot).
# Without one, ONNX Runtime's x86 int8 kernels add pairs of uint8 x int8 products in 16 bits (vpmaddubsw),
# which saturates once two products pass 32,767 together: the built int8 graph's 8-bit weights lost 0.008
# mean cosine that way on an emulated Haswell (docs/benchmarks.md). Weights within +-63 (ONNX Runtime's
# reduce_range) cannot saturate: 2 x 255 x 63 < 32,768.
INT8_DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp")


def int8_weight_bits(flags: frozenset[str] | None = None) -> int:
    """The bits of an int8 graph's weights for this CPU (``flags``: default, its own): 8 where a
    dot-product unit multiplies int8 (:data:`INT8_DOT_PRODUCT_FLAGS`), else 7, which cannot saturate ONNX
    Runtime's 16-bit pair sums (unknown flags get 7 too: safe everywhere, 0.0007 mean cosine dearer)."""
    flags = cpu_flags() if flags is None else flags
    return 8 if any(flag in flags for flag in INT8_DOT_PRODUCT_FLAGS) else 7


# The CPU flags that make a half precision run natively (x86; ARM's bf16 extension); without them torch
# emulates it, several times slower than fp32.
NATIVE_HALF_UNITS: dict[str, tuple[str, ...]] = {
    "bf16": ("amx_bf16", "avx512_bf16", "bf16"),
    "fp16": ("amx_fp16", "avx512_fp16"),
}


def fast_mode(flags: frozenset[str] | None = None) -> FastModeRule:
    """The rule of :data:`FAST_MODE_RULES` that ``flags`` (default: this CPU's) select."""
    flags = cpu_flags() if flags is None else flags
    return next(rule for rule in FAST_MODE_RULES if rule.flag is None or rule.flag in flags)


def cpu_has_fast_bf16() -> bool:
    """Whether the CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX), so that bf16 runs faster
    than fp32 (the CPU fast mode is never bf16: int8 measured faster on both, :data:`FAST_MODE_RULES`)."""
    return _has_native("bf16", cpu_flags())


def fast_precision(device: str | None = None) -> str:
    """The fast mode for ``device``: bf16 on an accelerator, else the CPU's row of :data:`FAST_MODE_RULES`."""
    if device is not None and device.split(":", 1)[0] != "cpu":
        return "bf16"
    return fast_mode().precision


def slow_precision_warning(precision: str, device: str | None) -> str | None:
    """The warning for an explicit ``precision`` this CPU cannot run fast (bf16 / fp16 without native units
    on a CPU device), naming the faster choice; ``None`` when it runs fine or the flags are unknown."""
    if precision not in NATIVE_HALF_UNITS or not _runs_on_cpu(device):
        return None
    flags = cpu_flags()
    if not flags or _has_native(precision, flags):
        return None
    faster = fast_mode(flags).precision
    units = " or ".join(NATIVE_HALF_UNITS[precision])
    choice = f"precision={faster!r}" + (" (the fast mode here)" if faster != "fp32" else " (the default)")
    return (
        f"precision={precision!r} runs emulated on this CPU, which has no native {precision} units "
        f"({units}): expect several times slower than fp32 (0.14x sentence-transformers on an AVX2 EPYC). "
        f"Use {choice} instead, or --fast on the command line; `sbert doctor` shows this CPU's flags."
    )


def _has_native(precision: str, flags: frozenset[str]) -> bool:
    return any(flag in flags for flag in NATIVE_HALF_UNITS[precision])


def _runs_on_cpu(device: str | None) -> bool:
    """Whether ``device`` is the CPU; ``None`` is the model's default (CUDA when torch sees one)."""
    if device is not None:
        return device.split(":", 1)[0] == "cpu"
    if not installed("torch"):
        return True
    import torch  # half precisions run on the torch backend: it is being loaded anyway

    return not torch.cuda.is_available()
