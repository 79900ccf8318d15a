"""Training cross-encoders and SPLADE models of the families users fine-tune besides BERT, with
sentence-transformers 6.3's trainers and with sbert's (only the imports changed): ModernBERT, DeBERTa-v2 and
Qwen3 sequence classifiers (Qwen3ForSequenceClassification scores the last real token, so its config has a
``pad_token_id``) with BinaryCrossEntropyLoss, MultipleNegativesRankingLoss and LambdaLoss; ModernBERT and
DistilBERT masked-LM SPLADE models with SpladeLoss around SparseMultipleNegativesRankingLoss (query and
document FLOPS regularizers, their weights warmed up by the trainer's scheduler callback). Dropout is off, so
both trainers compute the same function step for step: the logged losses (and SpladeLoss's parts), the
gradient norms and the saved folders (scored or embedded by sentence-transformers) agree.

Under ``bf16`` the model's forward runs in autocast and the loss's math in fp32 in both. Where both run the
same forward shapes (a BCE batch, SPLADE columns embedded one by one) the runs are the same to the bit;
sbert's cross-encoder ranking losses score all of a batch's pairs in one forward, in length groups, where
sentence-transformers runs one forward per column, so there bf16's rounding of the weight gradients differs
and the losses stay close (within 5e-3), not equal."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from conftest import WORDS, random_sentences

ANCHORS = random_sentences(WORDS[:40], 24, 1)
POSITIVES = random_sentences(WORDS[:40], 24, 2)
LABELS = [float(x > 0.5) for x in np.random.default_rng(3).random(24)]
PROBE = random_sentences(WORDS, 10, 7)
SIZES = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "num_hidden_layers": 2}
MODERNBERT_IDS = {
    "pad_token_id": 0,
    "cls_token_id": 2,
    "sep_token_id": 3,
    "bos_token_id": 2,
    "eos_token_id": 3,
}
STEPS = 6


def hf_model(tiny_bert, folder, config, task: str):
    """``config``'s random ``transformers`` ``task`` model (seeded) saved with the tiny BERT's tokenizer."""
    import torch
    import transformers

    torch.manual_seed(0)
    getattr(transformers, task).from_config(config).eval().save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(folder)
    return folder


def vocab(tiny_bert) -> int:
    return json.loads((tiny_bert / "config.json").read_text())["vocab_size"]


@pytest.fixture(scope="module")
def classifiers(tiny_bert, tmp_path_factory) -> dict:
    """Sequence classifiers (one label), dropout off."""
    import transformers

    root, size = tmp_path_factory.mktemp("classifiers"), vocab(tiny_bert)
    dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    configs = {
        "modernbert": transformers.ModernBertConfig(vocab_size=size, **MODERNBERT_IDS, **SIZES),
        "deberta": transformers.DebertaV2Config(vocab_size=size, pooler_dropout=0.0, **dropout, **SIZES),
        "qwen3": transformers.Qwen3Config(
            vocab_size=size, num_key_value_heads=1, head_dim=16, pad_token_id=0, **SIZES
        ),
    }
    folders = {}
    for name, config in configs.items():
        config.num_labels = 1
        folders[name] = hf_model(tiny_bert, root / name, config, "AutoModelForSequenceClassification")
    return folders


@pytest.fixture(scope="module")
def masked_lms(tiny_bert, tmp_path_factory) -> dict:
    """Masked-LM encoders a SparseEncoder loads as MLMTransformer + SpladePooling, dropout off."""
    import transformers

    root, size = tmp_path_factory.mktemp("masked-lms"), vocab(tiny_bert)
    configs = {
        "modernbert": transformers.ModernBertConfig(vocab_size=size, **MODERNBERT_IDS, **SIZES),
        "distilbert": transformers.DistilBertConfig(
            vocab_size=size, dim=32, n_layers=2, n_heads=2, hidden_dim=64, dropout=0.0, attention_dropout=0.0
        ),
    }
    return {name: hf_model(tiny_bert, root / name, c, "AutoModelForMaskedLM") for name, c in configs.items()}


def arguments(package, kind: str, out, **options):
    return getattr(package, f"{kind}TrainingArguments")(
        str(out), per_device_train_batch_size=4, num_train_epochs=1, learning_rate=5e-3, warmup_steps=2,
        logging_steps=1, save_strategy="no", seed=12, report_to="none", disable_tqdm=True, **options,
    )  # fmt: skip


def records(trainer) -> dict:
    history = [r for r in trainer.state.log_history if "loss" in r]
    parts = ("base_loss", "document_regularizer_loss", "query_regularizer_loss")
    return {
        "loss": np.array([r["loss"] for r in history]),
        "grad_norm": np.array([r["grad_norm"] for r in history]),
        "parts": [{k: r[k] for k in parts if k in r} for r in history],
    }


def train_cross_encoder(library: str, folder, out, loss: str, **options) -> dict:
    """``STEPS`` steps of 4 rows with ``library``'s CrossEncoderTrainer; the logged records and the model."""
    from datasets import Dataset

    ce = importlib.import_module(f"{library}.cross_encoder")
    losses = importlib.import_module(f"{library}.cross_encoder.losses")
    model = ce.CrossEncoder(str(folder), device="cpu", num_labels=1, max_length=32)
    if loss == "bce":
        data = Dataset.from_dict({"query": ANCHORS, "answer": POSITIVES, "label": LABELS})
        objective = losses.BinaryCrossEntropyLoss(model)
    elif loss == "mnrl":  # 3 in-batch negatives drawn from the torch seed
        data = Dataset.from_dict({"query": ANCHORS, "answer": POSITIVES})
        objective = losses.MultipleNegativesRankingLoss(model, num_negatives=3)
    else:
        docs = [[POSITIVES[i], POSITIVES[(i + 1) % 24], POSITIVES[(i + 2) % 24]] for i in range(24)]
        labels = [[1.0, LABELS[i], 0.0] for i in range(24)]
        data = Dataset.from_dict({"query": ANCHORS, "docs": docs, "labels": labels})
        objective = losses.LambdaLoss(model)
    trainer = ce.CrossEncoderTrainer(
        model=model, args=arguments(ce, "CrossEncoder", out, **options), train_dataset=data, loss=objective
    )
    trainer.train()
    model.save(str(out / "final"))
    return {**records(trainer), "model": model}


def train_sparse_encoder(library: str, folder, out, **options) -> dict:
    """``STEPS`` steps of 4 (query, document) rows with ``library``'s SparseEncoderTrainer and SpladeLoss."""
    from datasets import Dataset

    se = importlib.import_module(f"{library}.sparse_encoder")
    losses = importlib.import_module(f"{library}.sparse_encoder.losses")
    model = se.SparseEncoder(str(folder), device="cpu")
    model.max_seq_length = 32
    data = Dataset.from_dict({"query": ANCHORS, "document": POSITIVES})
    objective = losses.SpladeLoss(
        model,
        loss=losses.SparseMultipleNegativesRankingLoss(model),
        query_regularizer_weight=5e-3,
        document_regularizer_weight=3e-3,
    )
    trainer = se.SparseEncoderTrainer(
        model=model, args=arguments(se, "SparseEncoder", out, **options), train_dataset=data, loss=objective
    )
    trainer.train()
    model.save(str(out / "final"))
    return {**records(trainer), "model": model}


def scores(folder) -> np.ndarray:
    from sentence_transformers.cross_encoder import CrossEncoder

    return CrossEncoder(str(folder), device="cpu").predict(list(zip(PROBE, PROBE[::-1])))


def sparse_embeddings(model_or_folder) -> np.ndarray:
    from sentence_transformers.sparse_encoder import SparseEncoder

    model = model_or_folder
    if not hasattr(model, "encode"):
        model = SparseEncoder(str(model_or_folder), device="cpu")
    return model.encode(PROBE, convert_to_tensor=True).to_dense().cpu().numpy()


def assert_not_on_bf16_grid(losses: np.ndarray) -> None:
    """Losses of fp32 math: not all multiples of bf16's spacing near them (1/128 between 1 and 2)."""
    steps = losses * 128 / 2.0 ** np.floor(np.log2(losses))
    assert not np.allclose(steps, np.round(steps), atol=1e-6)


@pytest.mark.parametrize(
    ("family", "loss"),
    [
        ("modernbert", "bce"),
        ("modernbert", "lambda"),
        ("deberta", "bce"),
        ("deberta", "lambda"),
        ("qwen3", "bce"),
        ("qwen3", "mnrl"),
    ],
)
def test_cross_encoder_trains_as_with_sentence_transformers(classifiers, tmp_path, family, loss):
    folder = classifiers[family]
    theirs = train_cross_encoder("sentence_transformers", folder, tmp_path / "st", loss)
    ours = train_cross_encoder("sbert", folder, tmp_path / "sbert", loss)
    assert len(ours["loss"]) == len(theirs["loss"]) == STEPS
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=1e-4, atol=1e-5)
    final = scores(tmp_path / "sbert" / "final")
    np.testing.assert_allclose(final, scores(tmp_path / "st" / "final"), atol=1e-5)
    # the steps moved the scores well beyond that (DeBERTa-v2's small classifier least: 5e-4)
    assert np.abs(final - scores(folder)).max() > 4e-4
    # sbert's model after training scores as its saved folder does in sentence-transformers
    np.testing.assert_allclose(ours["model"].predict(list(zip(PROBE, PROBE[::-1]))), final, atol=1e-6)


@pytest.mark.parametrize("family", ["modernbert", "distilbert"])
def test_splade_trains_as_with_sentence_transformers(masked_lms, tmp_path, family):
    folder = masked_lms[family]
    theirs = train_sparse_encoder("sentence_transformers", folder, tmp_path / "st")
    ours = train_sparse_encoder("sbert", folder, tmp_path / "sbert")
    assert len(ours["loss"]) == len(theirs["loss"]) == STEPS
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=1e-4, atol=1e-5)
    assert ours["parts"] == theirs["parts"]  # rounded to 4 digits as logged; the regularizers warm up
    assert ours["parts"][-1]["query_regularizer_loss"] > 0
    final = sparse_embeddings(tmp_path / "sbert" / "final")
    np.testing.assert_allclose(final, sparse_embeddings(tmp_path / "st" / "final"), atol=1e-5)
    assert np.abs(final - sparse_embeddings(folder)).max() > 0.1
    np.testing.assert_allclose(sparse_embeddings(ours["model"]), final, atol=1e-6)


BF16 = {"bf16": True, "use_cpu": True}


@pytest.mark.parametrize(("family", "loss"), [("modernbert", "bce"), ("qwen3", "mnrl")])
def test_cross_encoder_bf16_trains_as_with_sentence_transformers(classifiers, tmp_path, family, loss):
    folder = classifiers[family]
    theirs = train_cross_encoder("sentence_transformers", folder, tmp_path / "st", loss, **BF16)
    ours = train_cross_encoder("sbert", folder, tmp_path / "sbert", loss, **BF16)
    assert_not_on_bf16_grid(ours["loss"])
    if loss == "bce":  # the same forward shapes: the same run
        np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-6, atol=0)
        np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=1e-6, atol=0)
        np.testing.assert_allclose(scores(tmp_path / "sbert" / "final"), scores(tmp_path / "st" / "final"))
    else:  # one forward of all pairs against one a column: bf16 rounds the gradients differently
        np.testing.assert_allclose(ours["loss"][:2], theirs["loss"][:2], rtol=1e-6, atol=0)
        np.testing.assert_allclose(ours["loss"], theirs["loss"], atol=5e-3)
        np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=3e-2)


def test_splade_bf16_trains_as_with_sentence_transformers(masked_lms, tmp_path):
    """Columns embedded one by one in both (sentence-transformers merges them into one padded forward,
    sbert into length groups): the same forward shapes, the same bf16 run."""
    runs = {}
    for library in ("sentence_transformers", "sbert"):
        merged_forward = importlib.import_module(f"{library}.base.losses.merged_forward")
        with merged_forward.column_merging_disabled():
            runs[library] = train_sparse_encoder(
                library, masked_lms["distilbert"], tmp_path / library, **BF16
            )
    theirs, ours = runs["sentence_transformers"], runs["sbert"]
    assert_not_on_bf16_grid(ours["loss"])
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=1e-6, atol=0)
    assert ours["parts"] == theirs["parts"]
    np.testing.assert_allclose(
        sparse_embeddings(tmp_path / "sbert" / "final"),
        sparse_embeddings(tmp_path / "sentence_transformers" / "final"),
        atol=1e-6,
    )
