"""Session 43 parity probes: a LoRA adapter with peft's ``TaskType.FEATURE_EXTRACTION`` defaults (trained
with MultipleNegativesRankingLoss, saved as an adapter folder and loaded by the other library,
``load_adapter`` next to a second adapter, ``set_adapter``), a cross-encoder's saved adapter folder, and a
TF-IDF model (WordEmbeddings from a GloVe-style file + WordWeights + Pooling) from each library's modules."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier, without_dropout

import sbert

TEXTS = ["the cat sat on the mat", "a man plays guitar", "it is sunny outside today", "a"]
WORDS = "the cat sat on mat a man plays guitar it is sunny outside today dog ran she happy they eat".split()


@pytest.fixture(autouse=True)
def peft_of_this_environment(monkeypatch):
    """transformers 5's adapter methods ask for peft >= 0.22, PyPI's newest is 0.21.2: lifted for both
    libraries alike, as in tests/test_peft_adapters.py."""
    import transformers.integrations.peft as hf_peft

    monkeypatch.setattr(hf_peft, "check_peft_version", lambda min_version: None)


def feature_extraction_lora(**options):
    from peft import LoraConfig, TaskType

    return LoraConfig(task_type=TaskType.FEATURE_EXTRACTION, r=4, lora_alpha=8, lora_dropout=0.0, **options)


def logged_losses(trainer) -> list[float]:
    return [r["loss"] for r in trainer.state.log_history if "loss" in r]


def files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.filterwarnings("ignore:Already found a `peft_config` attribute:UserWarning")
def test_feature_extraction_lora_trains_saves_and_loads_across_libraries(dropout_free_st, tmp_path):
    import sentence_transformers as st
    from datasets import Dataset
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import losses

    draw = random.Random(5)
    data = Dataset.from_dict({
        "anchor": [" ".join(draw.choices(WORDS, k=6)) for _ in range(12)],
        "positive": [" ".join(draw.choices(WORDS, k=5)) for _ in range(12)],
    })  # fmt: skip
    recipe = {
        "per_device_train_batch_size": 4, "max_steps": 3, "learning_rate": 5e-2, "logging_steps": 1,
        "seed": 7, "save_strategy": "no", "disable_tqdm": True, "report_to": "none",
    }  # fmt: skip
    outcomes = {}
    for name, lib, loss_module in (("ours", sbert, losses), ("theirs", st, reference_losses)):
        model = lib.SentenceTransformer(str(dropout_free_st), device="cpu")
        torch.manual_seed(1)  # the A matrices' draw
        model.add_adapter(feature_extraction_lora())
        added = model.encode(TEXTS)  # B starts at zero: the base model's output
        trainer = lib.SentenceTransformerTrainer(
            model=model,
            args=lib.SentenceTransformerTrainingArguments(str(tmp_path / f"run-{name}"), **recipe),
            train_dataset=data,
            loss=loss_module.MultipleNegativesRankingLoss(model),
        )
        trainer.train()
        trained = model.encode(TEXTS)
        model.disable_adapters()
        disabled = model.encode(TEXTS)
        model.enable_adapters()
        model.save(str(tmp_path / name))
        outcomes[name] = {
            "losses": logged_losses(trainer), "added": added, "trained": trained, "disabled": disabled,
            "enabled": model.encode(TEXTS), "active": model.active_adapters(),
            "files": files(tmp_path / name),
        }  # fmt: skip
    ours, theirs = outcomes["ours"], outcomes["theirs"]
    assert len(ours["losses"]) == 3
    np.testing.assert_allclose(ours["losses"], theirs["losses"], atol=1e-5, rtol=0)
    for key in ("added", "trained", "disabled", "enabled"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-5, rtol=0, err_msg=key)
    np.testing.assert_allclose(ours["added"], ours["disabled"], atol=1e-6, rtol=0)
    assert np.abs(ours["trained"] - ours["disabled"]).max() > 1e-3  # the adapter trained
    assert ours["active"] == theirs["active"] == ["default"]
    assert ours["files"] == theirs["files"]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= set(ours["files"])
    assert "model.safetensors" not in ours["files"]
    # each library loads the other's adapter folder, and load_adapter puts it next to a second adapter
    for saver in ("ours", "theirs"):
        folder = str(tmp_path / saver)
        for lib in (sbert, st):
            loaded = lib.SentenceTransformer(folder, device="cpu")
            got = loaded.encode(TEXTS)
            np.testing.assert_allclose(got, ours["trained"], atol=1e-5, rtol=0, err_msg=saver)
        seen = {}
        for name, lib in (("ours", sbert), ("theirs", st)):
            model = lib.SentenceTransformer(str(dropout_free_st), device="cpu")
            model.load_adapter(folder, adapter_name="saved")
            torch.manual_seed(3)
            model.add_adapter(feature_extraction_lora(init_lora_weights=False), adapter_name="other")
            model.set_adapter("other")
            other = (model.active_adapters(), model.encode(TEXTS))
            model.set_adapter("saved")
            seen[name] = (other, model.active_adapters(), model.encode(TEXTS))
        (other, active, saved), (their_other, their_active, their_saved) = seen["ours"], seen["theirs"]
        assert other[0] == their_other[0] == ["other"] and active == their_active == ["saved"]
        np.testing.assert_allclose(other[1], their_other[1], atol=1e-5, rtol=0)
        np.testing.assert_allclose(saved, their_saved, atol=1e-5, rtol=0)
        np.testing.assert_allclose(saved, ours["trained"], atol=1e-5, rtol=0)


def test_cross_encoder_adapter_folder_loads_across_libraries(tmp_path):
    from peft import LoraConfig, TaskType
    from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

    folder = without_dropout(build_tiny_classifier(tmp_path / "ce", num_labels=1, seed=1))
    pairs = [(TEXTS[0], TEXTS[1]), (TEXTS[2], TEXTS[3])]
    scores = {}
    for name, cls in (("ours", sbert.CrossEncoder), ("theirs", ReferenceCrossEncoder)):
        model = cls(str(folder), device="cpu")
        torch.manual_seed(1)
        model.add_adapter(LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, init_lora_weights=False))
        scores[name] = model.predict(pairs)
        model.save(str(tmp_path / name))
    np.testing.assert_allclose(scores["ours"], scores["theirs"], atol=1e-5, rtol=0)
    assert files(tmp_path / "ours") == files(tmp_path / "theirs")
    for saver in ("ours", "theirs"):
        for cls in (sbert.CrossEncoder, ReferenceCrossEncoder):
            loaded = cls(str(tmp_path / saver), device="cpu")
            assert loaded.active_adapters() == ["default"]
            np.testing.assert_allclose(loaded.predict(pairs), scores["ours"], atol=1e-5, rtol=0)


def glove_file(path, words, dim=16, seed=0, header=False):
    rng = np.random.default_rng(seed)
    lines = [f"{len(words)} {dim}"] if header else []
    lines += [w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=dim)) for w in words]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def tfidf_model(lib, glove, idf, unknown_word_weight=1.0):
    import sentence_transformers.models as reference_models

    models = sbert.models if lib is sbert else reference_models
    embeddings = models.WordEmbeddings.from_text_file(str(glove))
    weights = models.WordWeights(
        vocab=embeddings.tokenizer.get_vocab(), word_weights=idf, unknown_word_weight=unknown_word_weight
    )
    pooling = models.Pooling(embeddings.get_embedding_dimension(), "mean")
    return lib.SentenceTransformer(modules=[embeddings, weights, pooling], device="cpu")


def test_tfidf_word_weights_model_encodes_saves_and_trains_as_sentence_transformers(tmp_path):
    import sentence_transformers as st
    from datasets import Dataset
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import losses

    vocab = [f"w{i}" for i in range(300)] + ["The", "cat", "Dog", "ran"]
    glove = glove_file(tmp_path / "glove.txt", vocab)
    draw = random.Random(0)
    docs = [" ".join(draw.choices(vocab, k=8)) for _ in range(40)]
    idf = {w: math.log(40 / (1 + sum(w in d.split() for d in docs))) for w in vocab[:300:2]}
    idf |= {"cat": 3.0, "the": 0.2, "dog": 2.0, "w1": 0.0}  # "The" and "Dog" take the lower-cased weights
    texts = ["The cat ran", "the Cat DOG dog", "w1 w2 unknownword", "", *docs[:4]]
    data = Dataset.from_dict({"s1": docs[:16], "s2": docs[16:32], "score": list(np.linspace(0, 1, 16))})
    recipe = {
        "per_device_train_batch_size": 4, "max_steps": 3, "learning_rate": 1e-1, "logging_steps": 1,
        "seed": 3, "save_strategy": "no", "disable_tqdm": True, "report_to": "none",
    }  # fmt: skip
    seen = {}
    for name, lib, loss_module in (("ours", sbert, losses), ("theirs", st, reference_losses)):
        model = tfidf_model(lib, glove, idf, unknown_word_weight=0.5)
        encoded = model.encode(texts)
        model.save(str(tmp_path / name))
        model = tfidf_model(lib, glove, idf)
        trainer = lib.SentenceTransformerTrainer(
            model=model,
            args=lib.SentenceTransformerTrainingArguments(str(tmp_path / f"run-{name}"), **recipe),
            train_dataset=data,
            loss=loss_module.CosineSimilarityLoss(model),
        )
        trainer.train()
        weights = model[1].emb_layer.weight.detach()
        seen[name] = (encoded, logged_losses(trainer), model.encode(texts), weights)
    (encoded, logged, trained, weights), (their_encoded, their_logged, their_trained, their_weights) = (
        seen["ours"],
        seen["theirs"],
    )
    np.testing.assert_allclose(encoded, their_encoded, atol=1e-6, rtol=0)
    assert len(logged) == 3
    np.testing.assert_allclose(logged, their_logged, atol=1e-6, rtol=0)
    np.testing.assert_allclose(trained, their_trained, atol=1e-6, rtol=0)
    torch.testing.assert_close(weights, their_weights, atol=1e-6, rtol=0)  # the word weights train too
    assert files(tmp_path / "ours") == files(tmp_path / "theirs")
    for saver in ("ours", "theirs"):
        for lib in (sbert, st):
            loaded = lib.SentenceTransformer(str(tmp_path / saver), device="cpu")
            np.testing.assert_allclose(loaded.encode(texts), encoded, atol=1e-6, rtol=0, err_msg=saver)


def test_a_word_listed_twice_in_the_embeddings_file_loads_as_in_sentence_transformers(tmp_path):
    """word2vec header, a short line (skipped) and "w5" twice: the model built from the file encodes as
    sentence-transformers', and its saved folder (whose vocabulary lists "w5" once) loads as there."""
    import sentence_transformers as st

    vocab = [f"w{i}" for i in range(40)] + ["cat", "w5"]
    glove = glove_file(tmp_path / "vectors.txt", vocab, dim=8, seed=1, header=True)
    glove.write_text(glove.read_text() + "short 1.0 2.0\n", encoding="utf8")
    texts = ["w5 cat w6", "w39 w5", "cat"]
    ours, theirs = (tfidf_model(lib, glove, {"w5": 2.0, "cat": 0.5}) for lib in (sbert, st))
    np.testing.assert_allclose(ours.encode(texts), theirs.encode(texts), atol=1e-6, rtol=0)
    theirs.save(str(tmp_path / "theirs"))
    expected = st.SentenceTransformer(str(tmp_path / "theirs"), device="cpu").encode(texts)
    loaded = sbert.SentenceTransformer(tmp_path / "theirs", device="cpu")
    np.testing.assert_allclose(loaded.encode(texts), expected, atol=1e-6, rtol=0)
