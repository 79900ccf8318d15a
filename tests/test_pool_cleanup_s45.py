"""A multi-process pool's clean-up, whichever library's ``stop_multi_process_pool`` is called, against
sentence-transformers 6.3's: after a pool's workers died with chunks still queued (an out-of-memory kill,
a worker that raised first), stopping it and the process's exit do not hang, as with ST's pool and stop,
and nothing is left behind (worker processes, the saved copy's ``sbert-pool-*`` folder, semaphore
warnings at exit). LangChain stops pools through ST's class (``SentenceTransformer.stop_multi_process_pool``)
and llama-index encodes with ``pool=`` and ``chunk_size=``; ST's pool can also reach sbert's stop.

Each scenario runs in a child process (spawned workers, exit-time clean-up), under a guard against a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from conftest import HANG_GUARD_S, build_tiny_bert, classic_pooling, write_st_folder

# The libraries are imported under the main guard: spawned workers import this script again, and each
# library's workers need only their own
CHILD = r"""
import os, signal, sys, warnings
import numpy as np

TEXTS = [f"hello world number {i} is here" for i in range(12)]
PENDING = ["word " * 3000] * 300  # more than a pipe holds: queued in the input queue's buffer


def died_with_chunks_queued(model, pool):
    for process in pool["processes"]:
        os.kill(process.pid, signal.SIGKILL)
    try:
        model.encode(PENDING, pool=pool, chunk_size=1)
    except RuntimeError as error:
        assert "died unexpectedly" in str(error), error
    else:
        raise AssertionError("no error for dead workers")


if __name__ == "__main__":
    import sentence_transformers as st
    import sbert

    LIBRARIES = {"st": st.SentenceTransformer, "sbert": sbert.SentenceTransformer}
    folder = sys.argv[1]
    reference = st.SentenceTransformer(folder, device="cpu").encode(TEXTS)
    for scenario in sys.argv[2:]:  # "<pool's library>-<stop's library or never>"
        owner, stopper = scenario.split("-")
        model = LIBRARIES[owner](folder, device="cpu")
        model[0]  # a module handed out: sbert's workers load a saved copy (its temporary folder)
        # one worker: what is tested is the same with two (they all die)
        pool = model.start_multi_process_pool(["cpu"])
        embeddings = model.encode(TEXTS, pool=pool, chunk_size=3)  # llama-index's call
        assert np.abs(embeddings - reference).max() < 1e-5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if hasattr(model, "encode_multi_process"):  # ST's deprecated name, still in 6.3
                assert np.abs(model.encode_multi_process(TEXTS, pool) - reference).max() < 1e-5
        died_with_chunks_queued(model, pool)
        processes = list(pool["processes"])
        if stopper != "never":
            LIBRARIES[stopper].stop_multi_process_pool(pool)  # static, as LangChain calls ST's
            assert all(getattr(p, "_closed", False) for p in processes)
    print("FINISHED", flush=True)
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pool-cleanup")
    return write_st_folder(build_tiny_bert(root / "bert"), root / "st", classic_pooling(32, "mean"))


def _processes_marked(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environment:
            found.append(int(pid))
    return found


def _run(folder: Path, tmp_path: Path, *scenarios: str) -> dict:
    """The child's exit: its code (None: it hung), what it printed at exit, its leftovers."""
    marker = f"POOL_CLEANUP_S45={uuid.uuid4().hex}"
    temp = Path(tempfile.mkdtemp(prefix="pool-", dir="/tmp"))  # short: ST's workers put sockets there
    environment = {**os.environ, "TMPDIR": str(temp), "OMP_NUM_THREADS": "1", marker.split("=")[0]: marker}
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    command = [sys.executable, str(script), str(folder), *scenarios]
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=HANG_GUARD_S)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        code, stdout, stderr = None, str(expired.stdout), str(expired.stderr)
    left = _processes_marked(marker)
    for pid in left:  # the child's own workers, found by the marker in their environment
        os.kill(pid, 9)
    folders = sorted(p.name for p in temp.glob("sbert-pool-*"))
    shutil.rmtree(temp, ignore_errors=True)
    return {
        "exit code": code,
        "finished": "FINISHED" in stdout,
        "leaked semaphores": "leaked semaphore" in stderr,
        "processes left": len(left),
        "pool folders left": folders,
        "stderr": stderr[-3000:] if code != 0 else "",
    }


@pytest.mark.slow
def test_dead_workers_pool_stops_and_exits_as_sentence_transformers(folder, tmp_path):
    reference = _run(folder, tmp_path, "st-st")  # ST's pool stopped by ST
    assert reference["exit code"] == 0 and reference["finished"], reference["stderr"]
    assert _run(folder, tmp_path, "st-sbert") == reference  # ST's pool, sbert's stop
    # sbert's pool, either stop or none (where ST's process hangs at exit: its input queue's feeder waits on a
    # pipe no worker reads); ST's workers leave semaphores to the resource tracker, sbert's none
    clean = {**reference, "leaked semaphores": False}
    assert _run(folder, tmp_path, "sbert-sbert", "sbert-st", "sbert-never") == clean
