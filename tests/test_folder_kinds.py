"""Folder kinds each model class loads as sentence-transformers 6.3 loads them: another class's folder
converted (a CrossEncoder from a SentenceTransformer's or a SparseEncoder's folder, with their "Converting
..." notice), PEFT adapter folders of a CrossEncoder and a SPLADE SparseEncoder by path, and an
adapter's base recorded by its hub name. Each compared with sentence-transformers on tiny random models."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling, without_dropout, write_st_folder

import sbert

PAIRS = [("the cat sat on the mat", "a dog ran"), ("a man plays guitar", "music is good"), ("a", "b")]
TEXTS = ["the cat sat on the mat", "a man plays guitar", "it is sunny outside today"]


@pytest.fixture(autouse=True)
def peft_of_this_environment(monkeypatch):
    """transformers 5.25 asks for peft >= 0.22 and PyPI's newest is 0.21.2 (see test_peft_adapters.py):
    the check is lifted for both libraries alike."""
    import transformers.integrations.peft as hf_peft

    monkeypatch.setattr(hf_peft, "check_peft_version", lambda min_version: None)


def lora(seed: int = 0):
    """A LoRA config with random B matrices too, so the adapter changes the outputs."""
    from peft import LoraConfig

    torch.manual_seed(seed)
    return LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], init_lora_weights=False)


def embedding_folder(tmp_path, tiny_bert):
    """A SentenceTransformer folder whose saved length (48) and prompts a converted model must not take."""
    folder = write_st_folder(tiny_bert, tmp_path / "st", classic_pooling(32, "mean"))
    settings = {"model_type": "SentenceTransformer", "prompts": {"query": "query: "}}
    (folder / "config_sentence_transformers.json").write_text(json.dumps(settings))
    return folder


def splade_folder(tmp_path, masked_lm):
    from sentence_transformers import SparseEncoder as Reference

    Reference(str(masked_lm), device="cpu").save(str(tmp_path / "splade"))
    return tmp_path / "splade"


def conversions(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Converting ")]


@pytest.mark.parametrize(
    "make, kind", [(embedding_folder, "SentenceTransformer"), (splade_folder, "SparseEncoder")]
)
def test_cross_encoder_converts_another_model_class_folder_as_sentence_transformers(
    make, kind, tmp_path, tiny_bert, masked_lm, caplog
):
    from sentence_transformers import CrossEncoder as Reference

    folder = make(tmp_path, tiny_bert if kind == "SentenceTransformer" else masked_lm)
    with caplog.at_level(logging.WARNING):
        theirs = Reference(str(folder), device="cpu")
    assert conversions(caplog) == [f"Converting {kind} model {folder} to CrossEncoder."]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ours = sbert.CrossEncoder(str(folder), backend="torch", device="cpu")
    assert conversions(caplog) == [f"Converting {kind} model {folder} to CrossEncoder."]
    assert ours.num_labels == theirs.num_labels == 1
    assert type(ours.activation_fn) is type(theirs.activation_fn) is torch.nn.Sigmoid
    assert ours.max_seq_length == theirs.max_seq_length and ours.prompts == theirs.prompts == {}
    assert ours.config.to_dict() == theirs.config.to_dict()  # use_cache off, one label, ... as there
    mine, reference = ours.model.state_dict(), theirs.model.state_dict()
    assert mine.keys() == reference.keys()
    new = ("classifier.",) + (("bert.pooler.",) if kind == "SparseEncoder" else ())  # not in the file
    for name, value in mine.items():
        if not name.startswith(new):
            torch.testing.assert_close(value, reference[name], atol=1e-5, rtol=0, msg=name)
    ours.save(tmp_path / "ours")
    theirs.save(str(tmp_path / "theirs"))
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == sorted(
        p.name for p in (tmp_path / "theirs").iterdir()
    )
    for name in ("modules.json", "sentence_bert_config.json"):
        assert json.loads((tmp_path / "ours" / name).read_text()) == json.loads(
            (tmp_path / "theirs" / name).read_text()
        )
    # the saved head scores the same in both libraries
    saved = Reference(str(tmp_path / "ours"), device="cpu")
    np.testing.assert_allclose(ours.predict(PAIRS), saved.predict(PAIRS), atol=1e-5, rtol=0)


def test_cross_encoder_adapter_folder_loads_by_path_as_in_sentence_transformers(tmp_path):
    from sentence_transformers import CrossEncoder as Reference

    base = without_dropout(build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1))
    reference = Reference(str(base), device="cpu")
    reference.add_adapter(lora())
    reference.save(str(tmp_path / "adapter"))
    assert not (tmp_path / "adapter" / "config.json").exists()  # the adapter only
    theirs = Reference(str(tmp_path / "adapter"), device="cpu")
    ours = sbert.CrossEncoder(tmp_path / "adapter", device="cpu")  # "auto": torch, which holds it
    assert ours.get_backend() == "torch" and ours.active_adapters() == theirs.active_adapters()
    np.testing.assert_allclose(ours.predict(PAIRS), theirs.predict(PAIRS), atol=1e-5, rtol=0)
    plain = sbert.CrossEncoder(base, backend="torch", device="cpu").predict(PAIRS)
    assert np.abs(ours.predict(PAIRS) - plain).max() > 1e-4  # the adapter is on
    ours.save(tmp_path / "ours")
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == sorted(
        p.name for p in (tmp_path / "adapter").iterdir()
    )
    again = Reference(str(tmp_path / "ours"), device="cpu")
    np.testing.assert_allclose(again.predict(PAIRS), theirs.predict(PAIRS), atol=1e-5, rtol=0)
    with pytest.raises(sbert.InputError, match="PEFT models can currently only be loaded with the `torch`"):
        sbert.CrossEncoder(tmp_path / "adapter", backend="onnx")
    raw = shutil.copytree(tmp_path / "adapter", tmp_path / "raw")  # peft's files alone: no model for either
    for name in ("modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"):
        (raw / name).unlink()
    with pytest.raises(ValueError, match="Unrecognized model"):
        Reference(str(raw), device="cpu")
    with pytest.raises(sbert.ModelLoadError, match="PEFT adapter without a CrossEncoder's modules.json"):
        sbert.CrossEncoder(raw, device="cpu")


def test_splade_adapter_folder_loads_by_path_as_in_sentence_transformers(tmp_path, masked_lm):
    from sentence_transformers import SparseEncoder as Reference

    reference = Reference(str(masked_lm), device="cpu")
    reference.add_adapter(lora())
    reference.save(str(tmp_path / "adapter"))
    theirs = Reference(str(tmp_path / "adapter"), device="cpu")
    ours = sbert.SparseEncoder(str(tmp_path / "adapter"), device="cpu")
    assert ours.active_adapters() == theirs.active_adapters() == ["default"]
    mine, expected = (m.encode(TEXTS, convert_to_tensor=True).to_dense() for m in (ours, theirs))
    torch.testing.assert_close(mine, expected, atol=1e-5, rtol=0)
    ours.save(tmp_path / "ours")
    again = Reference(str(tmp_path / "ours"), device="cpu")
    torch.testing.assert_close(
        again.encode(TEXTS, convert_to_tensor=True).to_dense(), expected, atol=1e-5, rtol=0
    )


# peft's note on saving an adapter whose base is a hub name, offline: in both libraries
@pytest.mark.filterwarnings("ignore:Could not find a config file in someone/:UserWarning")
def test_an_adapter_names_its_base_by_hub_name_as_in_sentence_transformers(
    dropout_free_st, masked_lm, tmp_path, monkeypatch
):
    """A model loaded by hub name (from the Hugging Face cache here) names that hub id as its adapter's base,
    not the snapshot folder, in each class whose transformers model sbert loads itself."""
    import huggingface_hub.constants
    import sentence_transformers as reference

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    classifier = build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1)
    sha = "0123456789abcdef0123456789abcdef01234567"
    for repo_id, folder in [
        ("someone/tiny", dropout_free_st),
        ("someone/ce", classifier),
        ("someone/mlm", masked_lm),
    ]:
        repo = tmp_path / "hub" / f"models--{repo_id.replace('/', '--')}"
        shutil.copytree(folder, repo / "snapshots" / sha)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(sha)
    where = {"cache_folder": str(tmp_path / "hub"), "local_files_only": True, "device": "cpu"}
    for class_name, repo_id in [
        ("SentenceTransformer", "someone/tiny"),
        ("CrossEncoder", "someone/ce"),
        ("SparseEncoder", "someone/mlm"),
    ]:
        for lib in (reference, sbert):
            model = getattr(lib, class_name)(repo_id, **where)
            model.add_adapter(lora())
            model.save(str(tmp_path / lib.__name__ / class_name))
            config = json.loads((tmp_path / lib.__name__ / class_name / "adapter_config.json").read_text())
            assert config["base_model_name_or_path"] == repo_id, (lib.__name__, class_name)


def test_sparse_encoder_converts_a_cross_encoder_folder_to_csr_as_sentence_transformers(tmp_path, caplog):
    """A CrossEncoder's folder read as a plain encoder: mean Pooling and a new SparseAutoEncoder, its
    prompts dropped (sbert kept a lone Transformer before, with no sparse head at all)."""
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder
    from sentence_transformers import SparseEncoder as Reference

    classifier = build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1)
    ReferenceCrossEncoder(str(classifier), device="cpu", prompts={"query": "q: "}).save(
        str(tmp_path / "saved")
    )
    folder = str(tmp_path / "saved")
    with caplog.at_level(logging.WARNING):
        theirs = Reference(folder, device="cpu")
        ours = sbert.SparseEncoder(folder, device="cpu")  # no warning: logged, as there
    notice = f"Converting CrossEncoder model {folder} to SparseEncoder."
    assert conversions(caplog) == [notice, notice]
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert ours.prompts == theirs.prompts
    head = theirs[2].get_config_dict()  # sbert's k never exceeds the new head's width (4 x 32 here)
    head.update(k=min(head["k"], 128), k_aux=min(head["k_aux"], 128))
    assert ours[2].get_config_dict() == head
    pooling = theirs[1].get_config_dict()
    assert ours[1].pooling_mode == pooling["pooling_mode"] == "mean"
    assert ours[1].get_embedding_dimension() == pooling["embedding_dimension"]
    mine, reference = ours[0].auto_model.state_dict(), theirs[0].auto_model.state_dict()
    assert mine.keys() == reference.keys()
    for name, value in mine.items():
        torch.testing.assert_close(value, reference[name], atol=1e-5, rtol=0, msg=name)


def peft_adapter_folder(tmp_path, tiny_bert):
    """A PEFT adapter folder as peft writes it (adapter_config.json naming a local base, the adapter's
    weights) with the tokenizer beside it, as a training run saves one."""
    from peft import get_peft_model
    from transformers import AutoModel

    get_peft_model(AutoModel.from_pretrained(tiny_bert), lora()).save_pretrained(tmp_path / "peft")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_bert / name, tmp_path / "peft" / name)
    return tmp_path / "peft", None


def cross_encoder_folder(tmp_path, tiny_bert):
    from sentence_transformers import CrossEncoder as Reference

    classifier = build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1)
    Reference(str(classifier), device="cpu", prompts={"query": "q: "}).save(str(tmp_path / "saved"))
    return tmp_path / "saved", "CrossEncoder"


def classifier_folder(tmp_path, tiny_bert):
    return build_tiny_classifier(tmp_path / "ce", num_labels=2, seed=1), None


def sparse_folder(tmp_path, tiny_bert):
    from conftest import build_tiny_masked_lm

    return splade_folder(tmp_path, build_tiny_masked_lm(tmp_path / "mlm")), "SparseEncoder"


@pytest.mark.parametrize(
    "make", [peft_adapter_folder, cross_encoder_folder, classifier_folder, sparse_folder]
)
def test_sentence_transformer_loads_the_folders_sentence_transformers_loads(
    make, tmp_path, tiny_bert, caplog
):
    """A plain PEFT adapter folder, and the encoder of a cross-encoder's or a SPLADE model's folder
    (converted: mean pooling, the source's prompts dropped), as sentence-transformers 6.3 loads them; sbert
    refused all four before."""
    from sentence_transformers import SentenceTransformer as Reference

    folder, kind = make(tmp_path, tiny_bert)
    with caplog.at_level(logging.WARNING):
        theirs = Reference(str(folder), device="cpu")
        ours = sbert.SentenceTransformer(str(folder), device="cpu")
    notice = [] if kind is None else [f"Converting {kind} model {folder} to SentenceTransformer."]
    assert conversions(caplog) == notice * 2
    assert ours.get_backend() == "torch"  # the folder's own graphs, if any, are another class's
    assert (
        [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs] == ["Transformer", "Pooling"]
    )
    assert ours.prompts == theirs.prompts and ours.max_seq_length == theirs.max_seq_length
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)
    if kind is not None:
        with pytest.raises(sbert.InputError, match="holds another model class"):
            sbert.SentenceTransformer(str(folder), backend="onnx")


@pytest.mark.parametrize("make", [cross_encoder_folder, sparse_folder])
def test_multi_vector_encoder_converts_another_model_class_folder_as_sentence_transformers(
    make, tmp_path, tiny_bert, caplog
):
    """The folder's encoder with the default new token projection, mask and normalization, its settings
    dropped, as sentence-transformers 6.3 converts it (sbert refused these folders before)."""
    from sentence_transformers import MultiVectorEncoder as Reference

    folder, kind = make(tmp_path, tiny_bert)
    with caplog.at_level(logging.WARNING):
        theirs = Reference(str(folder), device="cpu")
        ours = sbert.MultiVectorEncoder(str(folder), device="cpu")  # no warning: logged, as there
    assert conversions(caplog) == [f"Converting {kind} model {folder} to MultiVectorEncoder."] * 2
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert ours.prompts == theirs.prompts and ours.similarity_fn_name == theirs.similarity_fn_name
    assert ours.max_seq_length == theirs.max_seq_length
    for index in (1, 2, 3):
        assert ours[index].get_config_dict() == theirs[index].get_config_dict(), index
    mine, reference = ours[0].auto_model.state_dict(), theirs[0].auto_model.state_dict()
    assert mine.keys() == reference.keys()
    new = ("pooler.",) if kind == "SparseEncoder" else ()  # a masked-LM has none: new in both
    for name, value in mine.items():
        if not name.startswith(new):
            torch.testing.assert_close(value, reference[name], atol=1e-5, rtol=0, msg=name)


def test_sparse_and_multi_vector_adapter_folders_refuse_onnx_as_sentence_transformers(
    tmp_path, masked_lm, tiny_bert
):
    from sentence_transformers import MultiVectorEncoder as ReferenceMultiVector
    from sentence_transformers import SparseEncoder as ReferenceSparse

    for name, reference, base in [
        ("sparse", ReferenceSparse, masked_lm),
        ("mv", ReferenceMultiVector, tiny_bert),
    ]:
        model = reference(str(base), device="cpu")
        model.add_adapter(lora())
        model.save(str(tmp_path / name))
    message = "PEFT models can currently only be loaded with the `torch` backend"
    for name, reference, ours in [
        ("sparse", ReferenceSparse, sbert.SparseEncoder),
        ("mv", ReferenceMultiVector, sbert.MultiVectorEncoder),
    ]:
        with pytest.raises(ValueError, match=message):
            reference(str(tmp_path / name), backend="onnx")
        with pytest.raises(ValueError, match=message):
            ours(str(tmp_path / name), backend="onnx")
