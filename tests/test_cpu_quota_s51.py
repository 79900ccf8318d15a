"""The CPUs a process may use (ONNX Runtime's thread count, the server's workers): the CPU affinity, capped by
a container's CPU limit in cgroup v2 (``cpu.max``) or cgroup v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``,
as older Docker and Kubernetes hosts mount it), read from a fake cgroup folder."""

from __future__ import annotations

import os

import pytest

from sbert._backends import cpu

AFFINITY = len(os.sched_getaffinity(0))


def _write(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({"cpu.max": "200000 100000\n"}, 2),
        ({"cpu.max": "150000 100000\n"}, 1),  # whole CPUs, rounded down
        ({"cpu.max": "50000 100000\n"}, 1),  # at least one
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
        ({"cpu,cpuacct/cpu.cfs_quota_us": "100000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1's "no limit"
        ({"cpu/cpu.cfs_quota_us": "garbage\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu.max": "\n"}, None),
        ({}, None),
    ],
)
def test_container_cpu_limit_caps_the_cpus_used(tmp_path, monkeypatch, files, limit):
    _write(tmp_path, files)
    monkeypatch.setattr(cpu, "_CGROUP_ROOT", tmp_path)
    assert cpu._cgroup_cpu_quota() == limit
    assert cpu.available_cpus() == (min(AFFINITY, limit) if limit else AFFINITY)
