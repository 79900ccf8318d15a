"""The CPUs a process may use (the server's workers) and its compute threads (ONNX Runtime's, one per
physical core there, read from a fake sysfs): the CPU affinity, capped by a container's CPU limit in cgroup
v2 (``cpu.max``) or cgroup v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``, as older Docker and Kubernetes
hosts mount it), read from a fake cgroup folder."""

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


def _topology(root, cores):
    """A fake /sys/devices/system/cpu: CPU ``n`` on ``cores[n]``, a ``(package, core)`` pair."""
    for number, (package, core) in enumerate(cores):
        _write(root, {f"cpu{number}/topology/physical_package_id": f"{package}\n"})
        _write(root, {f"cpu{number}/topology/core_id": f"{core}\n"})


@pytest.mark.parametrize(
    ("cores", "affinity", "quota", "threads"),
    [
        ([(0, 0), (0, 0), (0, 1), (0, 1)], {0, 1, 2, 3}, None, 2),  # two hyperthreads per core
        ([(0, 0), (0, 0), (0, 1), (0, 1)], {0, 2}, None, 2),  # one thread of each core
        ([(0, 0), (0, 0), (0, 1), (0, 1)], {0, 1}, None, 1),  # both threads of one core
        ([(0, 0), (1, 0), (0, 1), (1, 1)], {0, 1, 2, 3}, None, 4),  # two packages reuse core ids
        ([(0, 0), (0, 1), (0, 2), (0, 3)], {0, 1, 2, 3}, "200000 100000\n", 2),  # container limit
        ([(0, 0), (0, 0)], {0, 1, 5}, None, 3),  # a CPU sysfs does not describe: every CPU counts
    ],
)
def test_compute_threads_are_one_per_physical_core(tmp_path, monkeypatch, cores, affinity, quota, threads):
    """ONNX Runtime's session threads: one per physical core the process may use, as ONNX Runtime's and
    torch's own defaults, which count cores but not the affinity or the container limit."""
    _topology(tmp_path / "sys", cores)
    _write(tmp_path / "cgroup", {"cpu.max": quota} if quota else {})
    monkeypatch.setattr(cpu, "_SYS_CPU_ROOT", tmp_path / "sys")
    monkeypatch.setattr(cpu, "_CGROUP_ROOT", tmp_path / "cgroup")
    monkeypatch.setattr(cpu.os, "sched_getaffinity", lambda pid: set(affinity))
    assert cpu.compute_threads() == threads
    assert cpu.available_cpus() == min(len(affinity), 2 if quota else len(affinity))


def test_onnx_sessions_use_the_compute_threads(monkeypatch, tmp_path):
    from sbert._backends import onnx_runner

    graph = tmp_path / "identity.onnx"
    _identity_graph(graph)
    monkeypatch.setattr(onnx_runner, "compute_threads", lambda: 3)
    assert onnx_runner.open_session(graph).get_session_options().intra_op_num_threads == 3
    assert onnx_runner.open_session(graph, threads=1).get_session_options().intra_op_num_threads == 1


def _identity_graph(path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
