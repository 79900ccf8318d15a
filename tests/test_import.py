"""`import sbert` is light: no torch, no transformers, well under 0.3 s."""

from __future__ import annotations

import json
import subprocess
import sys

import sbert

PROBE = """
import json, sys, time
t = time.perf_counter()
import sbert
elapsed = time.perf_counter() - t
print(json.dumps({"elapsed": elapsed, "heavy": sorted(m for m in ("torch", "transformers", "sentence_transformers",
    "huggingface_hub", "fastapi", "faiss", "ray", "onnxruntime") if m in sys.modules)}))
"""


def test_import_is_fast_and_does_not_load_torch():
    runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout)
            for _ in range(3)]
    assert all(run["heavy"] == [] for run in runs), runs
    # Best of three, to see the import's own cost rather than a busy machine's.
    assert min(run["elapsed"] for run in runs) < 0.3, runs


def test_public_names_are_exactly_all():
    public = {name for name in dir(sbert) if not name.startswith("_")} | {"__version__"}
    assert public == set(sbert.__all__)
    for name in sbert.__all__:
        assert getattr(sbert, name) is not None


def test_one_exception_tree():
    assert issubclass(sbert.ModelLoadError, sbert.SbertError)
    assert issubclass(sbert.InputError, sbert.SbertError) and issubclass(sbert.InputError, ValueError)
    assert issubclass(sbert.BackendUnavailableError, ImportError)
