"""PEFT adapters (LoRA) on sbert's models as on sentence-transformers': the adapter methods, training only the
adapter, saving it as an adapter folder and loading such a folder, on tiny random BERTs."""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, without_dropout

import sbert

TEXTS = ["the cat sat on the mat", "a man plays guitar", "it is sunny outside today", "a"]
WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


@pytest.fixture(autouse=True)
def peft_of_this_environment(monkeypatch):
    """transformers 5.25's adapter methods ask for peft >= 0.22, and PyPI's newest is 0.21.2, whose API they
    use unchanged (its loading has no such check). Lifted for both libraries alike: sbert hands the calls to
    the same transformers methods as sentence-transformers does."""
    import transformers.integrations.peft as hf_peft

    monkeypatch.setattr(hf_peft, "check_peft_version", lambda min_version: None)


def lora(seed: int = 0, **options):
    """A LoRA config whose B matrices start random too (peft's default starts them at zero, where the output
    would not show the adapter); the adapter's weights are drawn under ``seed`` when it is added."""
    from peft import LoraConfig

    torch.manual_seed(seed)
    targets = ["query", "value"]
    return LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False, **options)


def with_adapter(model, seed: int = 0, **options):
    config = lora(seed)
    model.add_adapter(config, **options)  # draws the adapter's weights right after the seed
    return model


def reference_model(path):
    from sentence_transformers import SentenceTransformer as Reference

    return Reference(str(path), device="cpu")


def outcome(call):
    """What ``call()`` gives: its value, or the error's type and message (to compare two libraries)."""
    try:
        return "value", call()
    except Exception as e:  # the outcome is what is compared
        return type(e).__name__, str(e)


def test_lora_adapter_encodes_as_sentence_transformers(dropout_free_st):
    ours = with_adapter(sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu"))
    theirs = with_adapter(reference_model(dropout_free_st))
    assert ours.has_peft_compatible_model() and theirs.has_peft_compatible_model()
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)
    assert ours.active_adapters() == theirs.active_adapters() == ["default"]
    assert outcome(ours.active_adapter) == outcome(theirs.active_adapter)  # transformers 5: none, said so
    trainable = {n for n, p in ours.transformers_model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, p in theirs.transformers_model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in name for name in trainable)
    mine, reference = ours.get_adapter_state_dict(), theirs.get_adapter_state_dict()
    assert mine.keys() == reference.keys()
    for name, value in mine.items():
        torch.testing.assert_close(value, reference[name], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="Adapter with name default already exists"):
        ours.add_adapter(lora())


# peft's warning on a second adapter, in both libraries
@pytest.mark.filterwarnings("ignore:Already found a `peft_config` attribute:UserWarning")
def test_set_disable_enable_and_delete_adapters_change_outputs_as_in_sentence_transformers(dropout_free_st):
    ours = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    theirs = reference_model(dropout_free_st)
    base = theirs.encode(TEXTS)
    for model in (ours, theirs):
        with_adapter(model, 1, adapter_name="a")
        with_adapter(model, 2, adapter_name="b")
    steps = [
        ("set b", lambda m: m.set_adapter("b")),
        ("disable", lambda m: m.disable_adapters()),
        ("enable", lambda m: m.enable_adapters()),
        ("set a", lambda m: m.set_adapter("a")),
        ("delete a", lambda m: m.delete_adapter("a")),
        ("set missing", lambda m: m.set_adapter("missing")),
    ]
    seen = {}
    for step, change in steps:
        assert outcome(partial(change, ours)) == outcome(partial(change, theirs)), step
        assert ours.active_adapters() == theirs.active_adapters(), step
        seen[step] = ours.encode(TEXTS)
        np.testing.assert_allclose(seen[step], theirs.encode(TEXTS), atol=1e-5, rtol=0, err_msg=step)
    np.testing.assert_allclose(seen["disable"], base, atol=1e-5, rtol=0)  # the base weights alone
    assert np.abs(seen["set b"] - base).max() > 1e-2 and np.abs(seen["set a"] - seen["set b"]).max() > 1e-2
    np.testing.assert_allclose(seen["enable"], seen["set b"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("loss", ["MultipleNegativesRankingLoss", "CoSENTLoss"])
def test_training_moves_only_the_adapter_as_sentence_transformers_trainer(dropout_free_st, tmp_path, loss):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    columns = {"anchor": WORDS[:8], "positive": WORDS[4:]}
    if loss == "CoSENTLoss":
        columns["score"] = [i / 8 for i in range(8)]
    data = Dataset.from_dict(columns)
    recipe = {
        "per_device_train_batch_size": 4, "num_train_epochs": 1, "learning_rate": 1e-2, "logging_steps": 1,
        "save_strategy": "no", "disable_tqdm": True, "report_to": "none",
    }  # fmt: skip
    reference = with_adapter(reference_model(dropout_free_st))
    theirs = ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **recipe),
        train_dataset=data,
        loss=getattr(reference_losses, loss)(reference),
    )
    theirs.train()
    # "auto" starts on ONNX here: the adapter moves the model to its torch modules, which then train
    model = with_adapter(sbert.SentenceTransformer(dropout_free_st, device="cpu"))
    before = {k: v.detach().clone() for k, v in model.transformers_model.named_parameters()}
    ours = SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(str(tmp_path / "ours"), **recipe),
        train_dataset=data,
        loss=getattr(losses, loss)(model),
    )
    assert ours.train().global_step == 2
    logged = [[r["loss"] for r in t.state.log_history if "loss" in r] for t in (ours, theirs)]
    assert len(logged[0]) == 2
    np.testing.assert_allclose(logged[0], logged[1], atol=1e-5, rtol=0)
    reference_weights = dict(reference.transformers_model.named_parameters())
    for name, value in model.transformers_model.named_parameters():
        torch.testing.assert_close(value, reference_weights[name], atol=1e-5, rtol=0, msg=name)
        moved = float((value.detach() - before[name]).abs().max())
        assert moved > 1e-3 if ".lora_" in name else moved == 0, name  # the adapter trains, nothing else
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=1e-5, rtol=0)


def test_saved_adapter_loads_in_sentence_transformers_and_in_sbert(dropout_free_st, tmp_path):
    model = with_adapter(sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu"))
    expected = model.encode(TEXTS)
    model.save(tmp_path / "adapter")
    files = {p.name for p in (tmp_path / "adapter").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "modules.json"} <= files
    assert not files & {"model.safetensors", "config.json"}  # the adapter only, as sentence-transformers
    theirs = reference_model(tmp_path / "adapter")
    np.testing.assert_allclose(theirs.encode(TEXTS), expected, atol=1e-5, rtol=0)
    ours = sbert.SentenceTransformer(tmp_path / "adapter", device="cpu")  # "auto": torch, which holds it
    assert ours.get_backend() == "torch" and ours.active_adapters() == theirs.active_adapters()
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="PEFT models can currently only be loaded with the `torch` backend"):
        sbert.SentenceTransformer(tmp_path / "adapter", backend="onnx")


def test_adapter_folder_saved_by_sentence_transformers_loads_in_sbert(dropout_free_st, tmp_path):
    reference = with_adapter(reference_model(dropout_free_st))
    reference.save(str(tmp_path / "adapter"))
    theirs = reference_model(tmp_path / "adapter")
    ours = sbert.SentenceTransformer(tmp_path / "adapter", device="cpu")
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours.encode(TEXTS), reference.encode(TEXTS), atol=1e-5, rtol=0)
    # loaded for inference, as there: the adapter's layers frozen
    frozen = {n for n, p in ours.transformers_model.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, p in theirs.transformers_model.named_parameters() if not p.requires_grad}
    assert any(".lora_" in name for name in frozen)
    # an adapter loaded onto a model (load_adapter) computes what the folder does
    loaded = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    loaded.load_adapter(str(tmp_path / "adapter"), adapter_name="saved")
    assert loaded.active_adapters() == ["saved"]
    np.testing.assert_allclose(loaded.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)


def test_an_onnx_model_moves_to_torch_for_an_adapter_unless_its_backend_was_named(dropout_free_st):
    auto = sbert.SentenceTransformer(dropout_free_st, device="cpu")
    assert auto.get_backend() == "onnx"  # a BERT on the CPU: "auto" runs its graph
    with_adapter(auto)
    assert auto.get_backend() == "torch"  # the graph holds no adapter: the torch modules run from now on
    np.testing.assert_allclose(
        auto.encode(TEXTS), with_adapter(reference_model(dropout_free_st)).encode(TEXTS), atol=1e-5, rtol=0
    )
    onnx = sbert.SentenceTransformer(dropout_free_st, backend="onnx")
    assert not onnx.has_peft_compatible_model()
    with pytest.raises(sbert.InputError, match="runs backend='onnx'.*load it with backend='torch'"):
        onnx.add_adapter(lora())


def test_cross_encoder_and_sparse_encoder_take_adapters_as_in_sentence_transformers(tmp_path, masked_lm):
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder
    from sentence_transformers import SparseEncoder as ReferenceSparseEncoder

    folder = without_dropout(build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1))
    pairs = [(TEXTS[0], TEXTS[1]), (TEXTS[2], TEXTS[3])]
    ours = with_adapter(sbert.CrossEncoder(folder, device="cpu"))
    theirs = with_adapter(ReferenceCrossEncoder(str(folder), device="cpu"))
    np.testing.assert_allclose(ours.predict(pairs), theirs.predict(pairs), atol=1e-5, rtol=0)
    assert ours.active_adapters() == theirs.active_adapters() == ["default"]
    sparse = with_adapter(sbert.SparseEncoder(str(masked_lm), device="cpu"))
    reference = with_adapter(ReferenceSparseEncoder(str(masked_lm), device="cpu"))
    mine, expected = (m.encode(TEXTS, convert_to_tensor=True).to_dense() for m in (sparse, reference))
    torch.testing.assert_close(mine, expected, atol=1e-5, rtol=0)


def test_without_peft_the_adapter_methods_say_how_to_install_it(dropout_free_st, tmp_path, monkeypatch):
    model = with_adapter(sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu"))
    model.save(tmp_path / "adapter")
    config = lora()

    class BlockPeft:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "peft":
                raise ImportError(f"{name} is blocked in this test")

    for name in [m for m in sys.modules if m.split(".")[0] == "peft"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [BlockPeft(), *sys.meta_path])
    fresh = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    for call in (lambda: fresh.add_adapter(config), fresh.active_adapters, model.disable_adapters):
        with pytest.raises(ImportError, match="requires installing the `peft` package.*pip install peft"):
            call()
    with pytest.raises(ImportError, match="Loading a PEFT model requires .*`pip install peft`"):
        sbert.SentenceTransformer(tmp_path / "adapter", device="cpu")
