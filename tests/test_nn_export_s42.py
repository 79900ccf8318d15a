"""torch-ecosystem code that takes a real ``nn.Module`` runs sbert's models as sentence-transformers': the
"export to ONNX without optimum" recipe (``torch.onnx.export`` of the model itself and of a user's wrapper,
run with ONNX Runtime; ``torch.export``), ``DistributedDataParallel`` (gloo, world size 1) around a user's
module, and Hugging Face's own ``Trainer`` given a user's module that returns a loss (its saved
``state_dict`` and loading it back). Each compared with sentence-transformers 6.3 on the same dropout-free
folder; ``forward``'s signature, which ``torch.onnx.export`` and the ``Trainer`` map arguments by, is
sentence-transformers' ``(input, **kwargs)``."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest
import torch
from conftest import classic_pooling, free_port, without_dropout, write_st_folder

import sbert

TEXTS = ["The weather is lovely today.", "a dog runs in the park", "How old is the moon?", "a cat sleeps"]
OTHER = ["It is sunny.", "a puppy plays outside", "The moon is old.", "the kitten naps"]
DENSE = {"in_features": 32, "out_features": 16, "bias": True,
         "activation_function": "torch.nn.modules.activation.Tanh"}  # fmt: skip
NAMES = ["input_ids", "token_type_ids", "attention_mask"]
# the recipe's exporter (dynamo=False), which torch now calls legacy; its tracer's notes on transformers' code
pytestmark = [
    pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX export"),
    pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning"),
]
AXES = {name: {0: "batch", 1: "tokens"} for name in NAMES}


@pytest.fixture(scope="module")
def folder(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("nn-export")
    return without_dropout(write_st_folder(tiny_bert, root / "st", classic_pooling(32, "mean"), dense=DENSE))


def _both(folder):
    import sentence_transformers

    return [lib.SentenceTransformer(str(folder), device="cpu") for lib in (sentence_transformers, sbert)]


def _tensors(model, texts=TEXTS):
    return {k: v for k, v in model.tokenize(texts).items() if isinstance(v, torch.Tensor)}


class Wrapper(torch.nn.Module):
    """The classic recipe's module: token tensors in, the sentence embedding out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask):
        features = {
            "input_ids": input_ids,
            "token_type_ids": token_type_ids,
            "attention_mask": attention_mask,
        }
        return self.model(features)["sentence_embedding"]


def test_forward_takes_sentence_transformers_parameters():
    """``(input, **kwargs)``: ``torch.onnx.export(model, (features,))`` (a trailing dict is read as keywords
    by that signature) fails as there, and Hugging Face's ``Trainer`` keeps the same dataset columns (sbert's
    ``task`` / ``modality`` parameters kept a "task" column and dropped the text ones)."""
    import sentence_transformers

    for name in ("SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"):
        ours, theirs = (
            inspect.signature(getattr(lib, name).forward) for lib in (sbert, sentence_transformers)
        )
        assert [(p.name, p.kind) for p in ours.parameters.values()] == [
            (p.name, p.kind) for p in theirs.parameters.values()
        ], name


def test_onnx_export_of_features_alone_fails_as_in_sentence_transformers(folder, tmp_path):
    errors = []
    for i, model in enumerate(_both(folder)):
        with pytest.raises(TypeError) as raised:
            torch.onnx.export(
                model, (_tensors(model),), tmp_path / f"{i}.onnx", input_names=NAMES, dynamo=False
            )
        errors.append(str(raised.value).split(".forward()")[-1])
    assert errors[1] == errors[0]


def _run_onnx(path, features):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: features[i.name].numpy() for i in session.get_inputs()}
    return [i.name for i in session.get_inputs()], session.run(None, feed)


def test_onnx_export_of_the_model_and_a_wrapper_run_as_sentence_transformers(folder, tmp_path):
    """The model itself (features as the ``input`` keyword) and a user's wrapper, exported with dynamic axes
    on three texts and run on four by ONNX Runtime; ``torch.export`` of the wrapper too."""
    found = []
    for i, model in enumerate(_both(folder)):
        model.eval()
        direct, wrapped = tmp_path / f"direct{i}.onnx", tmp_path / f"wrapped{i}.onnx"
        sample = _tensors(model, TEXTS[:3])
        torch.onnx.export(
            model, ({"input": sample},), direct, input_names=NAMES, dynamic_axes=AXES, dynamo=False
        )
        wrapper = Wrapper(model).eval()
        torch.onnx.export(
            wrapper, tuple(sample[name] for name in NAMES), wrapped, input_names=NAMES,
            output_names=["sentence_embedding"], dynamic_axes=AXES, dynamo=False,
        )  # fmt: skip
        features = _tensors(model)
        program = torch.export.export(wrapper, tuple(sample[name] for name in NAMES))
        found.append(
            (_run_onnx(direct, features), _run_onnx(wrapped, features), program.module()(*sample.values()))
        )
    (names, outputs), (wrapped_names, wrapped), program = found[0]
    assert found[1][0][0] == names and found[1][1][0] == wrapped_names
    assert [o.shape for o in found[1][0][1]] == [o.shape for o in outputs]
    assert max(np.abs(a - b).max() for a, b in zip(found[1][0][1], outputs)) < 1e-5
    assert np.abs(found[1][1][1][0] - wrapped[0]).max() < 1e-5
    assert torch.allclose(found[1][2], program, atol=1e-5)


class Scaled(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.scale = torch.nn.Parameter(torch.tensor(2.0))

    def forward(self, features):
        return self.model(features)["sentence_embedding"] * self.scale


def test_distributed_data_parallel_trains_the_model_as_sentence_transformers(folder):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    found = []
    try:
        for model in _both(folder):
            ddp = torch.nn.parallel.DistributedDataParallel(Scaled(model), find_unused_parameters=True)
            optimizer = torch.optim.SGD(ddp.parameters(), lr=0.5)
            losses = []
            for _ in range(2):
                emb = ddp(_tensors(model))
                loss = (emb[0] * emb[1]).sum() - (emb[2] * emb[3]).sum()
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                losses.append(loss.item())
            ddp.eval()
            state = ddp.module.state_dict()
            found.append(
                (losses, model.training, model.encode(TEXTS), {k: v.numpy() for k, v in state.items()})
            )
    finally:
        dist.destroy_process_group()
    (losses, training, embeddings, state), ours = found
    assert ours[0] == pytest.approx(losses, abs=1e-6) and ours[1] == training
    assert np.abs(ours[2] - embeddings).max() < 1e-5
    assert list(ours[3]) == list(state)
    assert max(np.abs(ours[3][k] - state[k]).max() for k in state) < 1e-6


class Contrastive(torch.nn.Module):
    """A user's fine-tuning module for Hugging Face's Trainer: it returns the loss."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.temperature = torch.nn.Parameter(torch.tensor(0.05))

    def forward(self, a_input_ids, a_attention_mask, b_input_ids, b_attention_mask):
        a = self.encoder({"input_ids": a_input_ids, "attention_mask": a_attention_mask})["sentence_embedding"]
        b = self.encoder({"input_ids": b_input_ids, "attention_mask": b_attention_mask})["sentence_embedding"]
        loss = torch.nn.functional.cross_entropy(a @ b.T / self.temperature, torch.arange(len(a)))
        return {"loss": loss}


def _hf_trainer_run(model, out):
    from datasets import Dataset
    from safetensors.torch import load_file
    from transformers import Trainer, TrainingArguments

    def collate(rows):
        a, b = (model.tokenize([row[k] for row in rows]) for k in "ab")
        return {"a_input_ids": a["input_ids"], "a_attention_mask": a["attention_mask"],
                "b_input_ids": b["input_ids"], "b_attention_mask": b["attention_mask"]}  # fmt: skip

    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=2, max_steps=3, learning_rate=1e-3, seed=0,
        report_to="none", save_strategy="no", remove_unused_columns=False, use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=Contrastive(model), args=args, data_collator=collate,
        train_dataset=Dataset.from_dict({"a": TEXTS, "b": OTHER}),
    )  # fmt: skip
    loss = trainer.train().training_loss
    trainer.save_model(str(out / "saved"))
    saved = load_file(out / "saved" / "model.safetensors")
    return loss, model.encode(TEXTS), sorted(os.listdir(out / "saved")), saved


def test_hugging_face_trainer_on_a_users_module_trains_and_saves_as_sentence_transformers(folder, tmp_path):
    import sentence_transformers

    found = []
    for i, lib in enumerate((sentence_transformers, sbert)):
        loss, embeddings, files, saved = _hf_trainer_run(
            lib.SentenceTransformer(str(folder), device="cpu"), tmp_path / str(i)
        )
        fresh = Contrastive(lib.SentenceTransformer(str(folder), device="cpu"))
        result = fresh.load_state_dict(saved)
        fresh.eval()
        reloaded = fresh.encoder.encode(TEXTS)
        found.append(
            (loss, embeddings, files, saved, (result.missing_keys, result.unexpected_keys), reloaded)
        )
    (loss, embeddings, files, saved, result, reloaded), ours = found
    assert ours[0] == pytest.approx(loss, abs=1e-6)
    assert np.abs(ours[1] - embeddings).max() < 1e-5 and np.abs(ours[5] - reloaded).max() < 1e-5
    assert ours[2] == files and sorted(ours[3]) == sorted(saved) and ours[4] == result
    assert max((ours[3][k] - saved[k]).abs().max().item() for k in saved) < 1e-6
