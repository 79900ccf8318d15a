"""`import sbert` is light: no torch, no transformers (its time is measured by bench/bench_cold_start.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import sbert

PROBE = """
import json, sys
import sbert
print(json.dumps(sorted(m for m in ("torch", "transformers", "sentence_transformers", "huggingface_hub", \
"fastapi", "peft",
    "faiss", "ray", "onnxruntime") if m in sys.modules)))
"""


def test_import_does_not_load_heavy_libraries():
    heavy = json.loads(
        subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    )
    assert heavy == []


def test_public_names_are_exactly_all():
    public = {name for name in dir(sbert) if not name.startswith("_")} | {"__version__"}
    assert public == set(sbert.__all__)
    for name in sbert.__all__:
        assert getattr(sbert, name) is not None


def test_one_exception_tree():
    assert issubclass(sbert.ModelLoadError, sbert.SbertError)
    assert issubclass(sbert.InputError, sbert.SbertError) and issubclass(sbert.InputError, ValueError)
    assert issubclass(sbert.BackendUnavailableError, ImportError)
