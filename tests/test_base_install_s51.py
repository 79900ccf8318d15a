"""The base install (torch, transformers and onnx not importable) as a user meets it: the optimum-format
exports name every package they need in one message, ``model.train()`` sets the mode flag, torch's
``"cpu:0"`` is the CPU, a slow-precision warning is not given before the load fails for want of torch, and
``CrossEncoder.fit`` names the training extra. One child process runs every check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import BLOCK_TORCH, HANG_GUARD_S

CHILD = (
    BLOCK_TORCH
    + r"""
class BlockOnnx:  # onnx too: the extra the exports need besides torch
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onnx":
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, BlockOnnx())

import json, tempfile, warnings
import sbert
from sbert import SentenceTransformer, export_dynamic_quantized_onnx_model, export_optimized_onnx_model

found = {}
model = SentenceTransformer()
for export, preset in ((export_dynamic_quantized_onnx_model, "avx2"), (export_optimized_onnx_model, "O1")):
    try:
        export(model, preset, tempfile.mkdtemp())
    except Exception as error:
        found[export.__name__] = [type(error).__name__, str(error)]
model.eval()
found["training after eval, train"] = [model.training, model.train().training]
on_cpu0 = SentenceTransformer(device="cpu:0")
found["cpu:0 equals cpu"] = bool(
    (on_cpu0.encode(["a b"]) == model.encode(["a b"], device="cpu:0")).all() and model.to("cpu:0") is model
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        SentenceTransformer(precision="bf16")
    except Exception as error:
        found["bf16 load"] = type(error).__name__
found["warnings"] = [str(w.message) for w in caught]
try:
    sbert.CrossEncoder.fit(None, None)
except Exception as error:
    found["fit"] = str(error)
print(json.dumps(found))
"""
)


def test_base_install_errors_and_flags_as_a_user_meets_them(tmp_path):
    environment = {**os.environ, "SBERT_CPU_FLAGS": "avx2 fma"}  # no native bf16: the slow-precision case
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=environment, timeout=HANG_GUARD_S
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("export_dynamic_quantized_onnx_model", "export_optimized_onnx_model"):
        kind, message = found[name]
        assert kind == "BackendUnavailableError", found[name]
        assert "torch, transformers, onnx are required" in message
        assert "pip install 'sbert[torch,onnx]'" in message
    assert found["training after eval, train"] == [False, True]
    assert found["cpu:0 equals cpu"] is True
    assert found["bf16 load"] == "MissingExtraError"
    assert not [w for w in found["warnings"] if "emulated" in w], found["warnings"]
    assert "pip install 'sbert[train]'" in found["fit"]
