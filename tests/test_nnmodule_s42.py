"""torch code that takes an ``nn.Module`` sees sbert's models as sentence-transformers' (each an
``nn.Sequential``, sbert._torch_base): a parent's ``named_modules()`` / ``modules()`` / ``apply(fn)``
reach the model itself (not a network inside it), ``torch.compile(model)`` wraps it, and a model made
before torch was first imported registers in a parent module all the same. Each compared with
sentence-transformers on the same folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling, without_dropout, write_st_folder

import sbert

TEXTS = ["The weather is lovely today.", "a dog runs in the park", "How old is the moon?"]
PAIRS = [(text, "a dog in the park") for text in TEXTS]
DENSE = {"in_features": 32, "out_features": 16, "bias": True,
         "activation_function": "torch.nn.modules.activation.Tanh"}  # fmt: skip


@pytest.fixture(scope="module")
def folders(tiny_bert, masked_lm, tmp_path_factory):
    """A dense (mean pooling, Dense, Normalize; no dropout), a cross-encoder and a SPLADE folder."""
    root = tmp_path_factory.mktemp("nnmodule")
    dense = write_st_folder(tiny_bert, root / "st", classic_pooling(32, "mean"), normalize=True, dense=DENSE)
    return {
        "SentenceTransformer": without_dropout(dense),
        "CrossEncoder": build_tiny_classifier(root / "cross"),
        "SparseEncoder": masked_lm,
    }


def _libraries():
    import sentence_transformers

    return (sentence_transformers, sbert)


class Holder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.enc = model
        self.head = torch.nn.Linear(1, 1)


def _output(model, kind, call=None):
    outputs = (call or model)(model.preprocess(PAIRS if kind == "CrossEncoder" else TEXTS))
    return outputs["scores" if kind == "CrossEncoder" else "sentence_embedding"].detach().numpy()


KINDS = ["SentenceTransformer", "CrossEncoder", "SparseEncoder"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_parents_named_modules_and_modules_hold_the_model_itself(folders, kind):
    found = []
    for lib in _libraries():
        model = getattr(lib, kind)(str(folders[kind]), device="cpu")
        holder = Holder(model)
        pairs = list(holder.named_modules())
        own = list(model.named_modules(prefix="enc"))
        found.append(
            (
                [(name, type(module).__name__) for name, module in pairs],
                dict(pairs)["enc"] is model,
                [type(module).__name__ for module in holder.modules()],
                any(module is model for module in holder.modules()),
                own[0][1] is model and [name for name, _ in own] == [name for name, _ in pairs[1:-1]],
                next(iter(model.modules())) is model,
                len(list(holder.named_modules(remove_duplicate=False))),
            )
        )
    assert found[1] == found[0]
    assert found[0][1] and found[0][3] and found[0][4] and found[0][5]


@pytest.mark.parametrize("kind", KINDS)
def test_apply_calls_fn_on_the_model_itself_last(folders, kind):
    found = []
    for lib in _libraries():
        model = getattr(lib, kind)(str(folders[kind]), device="cpu")
        holder, seen, own = Holder(model), [], []
        returned = (holder.apply(seen.append) is holder, model.apply(own.append) is model)
        found.append(
            (
                returned,
                [type(module).__name__ for module in seen],
                sum(module is model for module in seen),
                own[-1] is model,
                [type(module).__name__ for module in own],
            )
        )
    assert found[1] == found[0]
    assert found[0][2] == 1 and found[0][3]


@pytest.mark.parametrize("kind", KINDS)
def test_setting_training_on_the_model_as_torch_code_does(folders, kind):
    """``module.training = mode`` (torch.compile's wrapper sets it on the model it wraps; an ``apply(fn)``
    may): the model's own flag, its modules' left as they are, as on sentence-transformers' model."""
    found = []
    for lib in _libraries():
        model = getattr(lib, kind)(str(folders[kind]), device="cpu")
        modes = [m.training for m in list(model.modules())[1:]]
        model.training = True
        first = (model.training, [m.training for m in list(model.modules())[1:]] == modes)
        model.training = False
        found.append((first, model.training))
    assert found[1] == found[0] == ((True, True), False)


@pytest.mark.parametrize("kind", KINDS)
def test_torch_compile_wraps_the_model_as_sentence_transformers(folders, kind):
    found = []
    for lib in _libraries():
        model = getattr(lib, kind)(str(folders[kind]), device="cpu")
        compiled = torch.compile(model, backend="eager")
        if kind == "CrossEncoder":
            served = np.asarray(compiled.predict(PAIRS))
        elif kind == "SparseEncoder":
            served = compiled.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
        else:
            served = compiled.encode(TEXTS)
        found.append(
            (
                compiled._orig_mod is model,
                compiled.training,
                compiled.tokenizer is model.tokenizer,
                _output(model, kind, compiled),
                served,
            )
        )
    assert found[1][:3] == found[0][:3]
    for ours, theirs in zip(found[1][3:], found[0][3:]):
        np.testing.assert_allclose(ours, theirs, atol=2e-5, rtol=0)


BEFORE_TORCH = """
import importlib, json, sys
import numpy as np
lib = importlib.import_module(sys.argv[1])
texts = json.loads(sys.argv[3])
model = lib.SentenceTransformer(sys.argv[2])
before = "torch" in sys.modules
import torch

class Holder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.enc = model
        torch.manual_seed(0)
        self.head = torch.nn.Linear(16, 1)

    def forward(self, texts):
        return self.head(self.enc(self.enc.preprocess(texts))["sentence_embedding"])

holder = Holder(model)
optimizer = torch.optim.SGD(holder.parameters(), lr=0.5)
holder.train()
for _ in range(2):
    optimizer.zero_grad()
    holder(texts).pow(2).sum().backward()
    optimizer.step()
holder.eval()
np.save(sys.argv[4], model.encode(texts))
watching = any(type(f).__name__ == "_ImportWatch" and f.name == "torch" for f in sys.meta_path)
print(json.dumps([before, isinstance(model, torch.nn.Module), [n for n, _ in holder.named_children()],
                  len(holder.state_dict()), watching]))
"""


@pytest.mark.slow
def test_a_model_made_before_torch_was_imported_registers_and_trains_in_a_parent(folders, tmp_path):
    """sbert encodes on ONNX without torch; a model made so, then held by a module once torch is imported,
    is a registered child (its weights in the parent's parameters and state dict), and training the parent
    trains it, as sentence-transformers' (which imports torch itself) is."""
    env = {**os.environ, "PYTHONPATH": str(Path(sbert.__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    found = []
    for name in ("sentence_transformers", "sbert"):
        out = tmp_path / f"{name}.npy"
        args = [name, str(folders["SentenceTransformer"]), json.dumps(TEXTS), str(out)]
        result = subprocess.run(
            [sys.executable, "-c", BEFORE_TORCH, *args], capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 0, result.stderr
        found.append((json.loads(result.stdout.strip().splitlines()[-1]), np.load(out)))
    (theirs, expected), (ours, embeddings) = found
    assert theirs[0] and not ours[0]  # sbert made it without torch
    assert ours[1:] == theirs[1:]
    np.testing.assert_allclose(embeddings, expected, atol=2e-5, rtol=0)
