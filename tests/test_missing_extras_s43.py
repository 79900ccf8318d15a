"""Without the torch extra (torch and transformers not installed: the base install), every public name of
sbert that needs torch says so with the ``pip install`` that fixes it (issue #17), where Python's bare
``ModuleNotFoundError: No module named 'torch'`` came before; encoding on ONNX still needs nothing, and
anyone else's ``import torch`` fails as Python says it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

# a finder that makes torch and transformers missing, put before sbert is imported (as on a base install)
_MISSING = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Missing())
"""

_SWEEP = """
import importlib, json, pkgutil
import sbert

modules = ["sbert"] + [
    m.name for m in pkgutil.walk_packages(sbert.__path__, "sbert.")
    if not any(part.startswith("_") for part in m.name.split(".")[1:])
]
failures = []
for name in modules:
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        failures.append([name, "", type(e).__name__, str(e)])
        continue
    for attribute in getattr(module, "__all__", None) or dir(module):
        if attribute.startswith("_"):
            continue
        try:
            getattr(module, attribute)
        except ImportError as e:
            failures.append([name, attribute, type(e).__name__, str(e)])
user = ""
try:
    import torch  # noqa: F401
except ImportError as e:
    user = f"{type(e).__name__}: {e}"
model = sbert.SentenceTransformer()
after_model = ""
try:  # a model made without torch waits for it with a finder of its own: still Python's error
    import torch  # noqa: F401
except ImportError as e:
    after_model = f"{type(e).__name__}: {e}"
print(json.dumps({
    "failures": failures,
    "user": user,
    "after_model": after_model,
    "shape": list(model.encode(["hello"]).shape),
    "torch": "torch" in sys.modules,
}))
"""


def _run(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MISSING + code)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_public_name_needing_torch_names_the_pip_install():
    found = _run(_SWEEP)
    failures = found["failures"]
    assert len(failures) > 100  # the trainers, losses, torch modules, ... (289 at the time of writing)
    bare = [f for f in failures if "pip install 'sbert[" not in f[3]]
    assert bare == []
    assert {f[2] for f in failures} == {"MissingExtraError"}
    by_name = {f[1]: f[3] for f in failures}
    assert "pip install 'sbert[train]'" in by_name["SentenceTransformerTrainer"]
    assert "pip install 'sbert[train]'" in by_name["MultipleNegativesRankingLoss"]
    assert "pip install 'sbert[torch]'" in by_name["Pooling"]
    # a user's own import is Python's error; ONNX encoding needs no torch
    assert found["user"] == found["after_model"] == "ModuleNotFoundError: No module named 'torch'"
    assert found["shape"] == [1, 384] and found["torch"] is False


def test_the_error_is_a_module_not_found_error_as_before():
    found = _run(
        """
import json
import sbert
from sbert import BackendUnavailableError
try:
    from sbert import SentenceTransformerTrainer  # noqa: F401
except ModuleNotFoundError as e:
    print(json.dumps({"name": e.name, "sbert": isinstance(e, BackendUnavailableError)}))
"""
    )
    assert found == {"name": "torch", "sbert": True}
