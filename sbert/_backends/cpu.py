"""How many CPUs this process may really use (affinity and cgroup quota), for thread pools."""

from __future__ import annotations

import os
from pathlib import Path


def available_cpus() -> int:
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(count, quota) if quota else count)


def _cgroup_cpu_quota() -> int | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, int(int(quota) // int(period)))


def cpu_has_fast_bf16() -> bool:
    """Whether the CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX): then bf16 is the fast mode."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def fast_precision(device: str | None = None) -> str:
    """The fast mode for ``device``, chosen by measurement (docs/benchmarks.md): bf16 on an accelerator and on
    CPUs with native bf16 matrix units, else int8 through ONNX Runtime (which runs on the CPU only)."""
    if device is not None and device.split(":", 1)[0] != "cpu":
        return "bf16"
    return "bf16" if cpu_has_fast_bf16() else "int8"
