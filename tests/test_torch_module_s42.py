"""With torch imported, sbert's models are ``torch.nn.Sequential`` modules, as sentence-transformers' are
(sbert._torch_base): a user's module that stores one registers it (its ``parameters()``, ``state_dict()``,
``train()``, ``half()`` reach the model's weights, and an optimizer over them trains the encoder), a loss's
``state_dict()`` holds its model's weights, and ``torch.jit.trace(model, ...)`` traces. Each compared with
sentence-transformers on the same folder."""

from __future__ import annotations

import copy
import importlib
import pickle

import numpy as np
import pytest
import torch
from conftest import without_dropout

import sbert

TEXTS = ["The weather is lovely today.", "a dog runs in the park", "How old is the moon?"]


@pytest.fixture(scope="module")
def folder(tiny_bert, tmp_path_factory):
    """Mean pooling, Dense, Normalize; no dropout, so a training step is the same function in both."""
    from conftest import classic_pooling, write_st_folder

    dense = {"in_features": 32, "out_features": 16, "bias": True,
             "activation_function": "torch.nn.modules.activation.Tanh"}  # fmt: skip
    root = tmp_path_factory.mktemp("torch-module")
    model = write_st_folder(tiny_bert, root / "st", classic_pooling(32, "mean"), normalize=True, dense=dense)
    return without_dropout(model)


class Holder(torch.nn.Module):
    """A user's module around a model and a head of its own (the common fine-tuning pattern)."""

    def __init__(self, model):
        super().__init__()
        self.encoder = model
        torch.manual_seed(0)
        self.head = torch.nn.Linear(16, 2)

    def forward(self, texts):
        return self.head(self.encoder(self.encoder.tokenize(texts))["sentence_embedding"])


def _libraries():
    import sentence_transformers

    return (sentence_transformers, sbert)


def test_the_model_classes_are_torch_sequentials_as_sentence_transformers(folder, masked_lm):
    from conftest import build_tiny_classifier

    cross = build_tiny_classifier(folder.parent / "cross")
    found = []
    for lib in _libraries():
        models = (
            lib.SentenceTransformer(str(folder), device="cpu"),
            lib.CrossEncoder(str(cross), device="cpu"),
            lib.SparseEncoder(str(masked_lm), device="cpu"),
        )
        found.append([(isinstance(m, torch.nn.Module), isinstance(m, torch.nn.Sequential)) for m in models])
    assert found[1] == found[0] == [(True, True)] * 3


def test_a_users_module_holding_the_model_trains_it_as_sentence_transformers(folder):
    found = []
    for lib in _libraries():
        model = lib.SentenceTransformer(str(folder), device="cpu")  # sbert: its default backend
        holder = Holder(model)
        names = [name for name, _ in holder.named_parameters()]
        keys = list(holder.state_dict())
        holder.train()
        training = model.training
        optimizer = torch.optim.SGD(holder.parameters(), lr=0.5)
        holder(TEXTS).pow(2).sum().backward()
        optimizer.step()
        holder.eval()
        trained = model.encode(TEXTS)
        holder.half()
        dtype = next(model.parameters()).dtype
        holder.float()
        found.append((names, keys, training, model.training, dtype, trained))
    theirs, ours = found
    assert any(".encoder.0." in f".{name}" for name in theirs[0])  # the encoder's weights are there
    assert ours[:5] == theirs[:5]
    np.testing.assert_allclose(ours[5], theirs[5], atol=2e-5, rtol=0)


def test_a_losss_state_dict_holds_its_models_weights_as_sentence_transformers(folder):
    found = []
    for lib in _libraries():
        model = lib.SentenceTransformer(str(folder), device="cpu")
        loss = importlib.import_module(
            f"{lib.__name__}.sentence_transformer.losses"
        ).MultipleNegativesRankingLoss(model)
        found.append((list(loss.state_dict()), sum(p.numel() for p in loss.parameters())))
    assert found[1] == found[0]
    assert any(key.startswith("model.0.") for key in found[0][0])


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_tracing_the_model_itself_gives_sentence_transformers_trace(folder):
    outputs = []
    for lib in _libraries():
        model = lib.SentenceTransformer(str(folder), device="cpu")
        batch = model.tokenizer(TEXTS, return_tensors="pt", padding=True)
        features = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        traced = torch.jit.trace(model, (features,), strict=False)
        outputs.append(traced(features)["sentence_embedding"].detach())
    torch.testing.assert_close(outputs[1], outputs[0], atol=1e-5, rtol=0)


def test_plain_attribute_handling_leaves_a_graph_model_on_its_graph(folder):
    """nn.Module's attribute handling would read the torch modules (moving a model sbert put on ONNX to
    torch); the model keeps plain attributes, so looking at it, copying it or storing something on it does
    not."""
    model = sbert.SentenceTransformer(str(folder), backend="onnx")
    expected = model.encode(TEXTS)
    model.note = torch.nn.Linear(2, 2)  # a module as a plain attribute, as before
    assert isinstance(model.note, torch.nn.Linear)
    del model.note
    seen = (len(dir(model)) > 0, len(model), bool(model), repr(model).startswith("SentenceTransformer("))
    copies = (copy.deepcopy(model), pickle.loads(pickle.dumps(model)))
    assert seen == (True, 4, True, True)  # Transformer, Pooling, Dense, Normalize
    assert model.get_backend() == "onnx"
    for other in copies:
        assert other.get_backend() == "onnx"
        np.testing.assert_array_equal(other.encode(TEXTS), expected)


def test_a_parent_module_moves_and_casts_the_model_through_its_own_to(folder):
    """A parent's ``half()`` / ``float()`` / ``to()`` reaches the model as its own ``to()``, so its runner
    follows (sbert's encode then runs that precision); a dtype the model does not run is refused before
    anything changed."""
    model = sbert.SentenceTransformer(str(folder), backend="torch")
    holder = Holder(model)
    holder.to(torch.bfloat16)
    assert model.precision == "bf16" and next(model.parameters()).dtype == torch.bfloat16
    holder.to("cpu", torch.float32)
    assert model.precision == "fp32"
    with pytest.raises(sbert.InputError, match="float64"):
        holder.double()
    assert model.precision == "fp32" and next(model.parameters()).dtype == torch.float32
