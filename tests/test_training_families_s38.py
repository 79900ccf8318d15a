"""Fine-tuning the encoder families users train besides BERT, with sentence-transformers 6.3's trainer and
with sbert's (only the imports changed): ModernBERT, a sentence-t5 shape (a T5EncoderModel folder + mean +
Dense + Normalize), a Qwen3-Embedding shape (last-token pooling, a tokenizer that pads on the left, a "query"
prompt, attention dropout on), DeBERTa-v2 and XLM-RoBERTa. Each trains 8 steps of 4 rows with
MultipleNegativesRankingLoss or CoSENTLoss; the per-step losses, the weights (the saved folders embedded by
sentence-transformers) and the checkpoint agree. Under ``bf16`` only the model's forward runs in autocast and
the loss's math in fp32, as accelerate prepares the model of Hugging Face's trainer."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from conftest import WORDS, build_tiny_encoder, random_sentences

ANCHORS = random_sentences(WORDS[:40], 40, 1)
POSITIVES = random_sentences(WORDS[:40], 40, 2)
SCORES = [float(x) for x in np.random.default_rng(3).random(40)]
PROBE = random_sentences(WORDS, 10, 7)
SIZES = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "num_hidden_layers": 2}


def write_family(hf_folder, out, *, pooling="mean", dense=False, prompts=None, left_padding=False):
    """A sentence-transformers folder made by sentence-transformers on ``hf_folder``'s encoder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models

    transformer = models.Transformer(str(hf_folder), max_seq_length=32)
    modules = [transformer, models.Pooling(32, pooling)]
    if dense:
        torch.manual_seed(1)
        modules.append(models.Dense(32, 48, bias=False, activation_function=torch.nn.Identity()))
    if dense or left_padding:
        modules.append(models.Normalize())
    SentenceTransformer(modules=modules, prompts=prompts or {}).save(str(out))
    if left_padding:  # as Qwen3-Embedding ships its tokenizer
        config = json.loads((out / "tokenizer_config.json").read_text())
        (out / "tokenizer_config.json").write_text(json.dumps({**config, "padding_side": "left"}))
    return out


def hf_encoder(tiny_bert, folder, config):
    """``config``'s random encoder (seeded) saved with the tiny BERT's tokenizer."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    AutoModel.from_config(config).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(folder)
    return folder


def vocab(tiny_bert) -> int:
    return json.loads((tiny_bert / "config.json").read_text())["vocab_size"]


@pytest.fixture(scope="module")
def modernbert(tiny_bert, tmp_path_factory):
    from transformers import ModernBertConfig

    root = tmp_path_factory.mktemp("modernbert")
    ids = {"pad_token_id": 0, "cls_token_id": 2, "sep_token_id": 3, "bos_token_id": 2, "eos_token_id": 3}
    config = ModernBertConfig(vocab_size=vocab(tiny_bert), **ids, **SIZES)
    return write_family(hf_encoder(tiny_bert, root / "hf", config), root / "st")


@pytest.fixture(scope="module")
def t5(tiny_bert, tmp_path_factory):
    from transformers import T5Config

    root = tmp_path_factory.mktemp("t5")
    sizes = {"d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 2, "num_heads": 2, "dropout_rate": 0.0}
    config = T5Config(vocab_size=vocab(tiny_bert), pad_token_id=0, decoder_start_token_id=0, **sizes)
    config.architectures = ["T5EncoderModel"]
    import torch
    from transformers import AutoTokenizer, T5EncoderModel

    torch.manual_seed(0)
    T5EncoderModel(config).eval().save_pretrained(root / "hf")
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(root / "hf")
    return write_family(root / "hf", root / "st", dense=True)


@pytest.fixture(scope="module")
def qwen3(tiny_bert, tmp_path_factory):
    from transformers import Qwen3Config

    root = tmp_path_factory.mktemp("qwen3")
    options = {"num_key_value_heads": 1, "head_dim": 16, "pad_token_id": 0, "attention_dropout": 0.1}
    config = Qwen3Config(vocab_size=vocab(tiny_bert), **options, **SIZES)
    return write_family(
        hf_encoder(tiny_bert, root / "hf", config),
        root / "st",
        pooling="lasttoken",
        prompts={"query": "query : ", "document": ""},
        left_padding=True,
    )


@pytest.fixture(scope="module")
def deberta(tiny_bert, tmp_path_factory):
    from transformers import DebertaV2Config

    root = tmp_path_factory.mktemp("deberta")
    dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    config = DebertaV2Config(vocab_size=vocab(tiny_bert), **dropout, **SIZES)
    return write_family(hf_encoder(tiny_bert, root / "hf", config), root / "st")


@pytest.fixture(scope="module")
def xlm_roberta(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("xlmr")
    dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return write_family(build_tiny_encoder("xlm-roberta", tiny_bert, root / "hf", **dropout), root / "st")


def train(library: str, folder, out, loss: str, evaluator: bool = False, **options) -> dict:
    """8 steps of 4 rows with ``library``'s trainer; the logged records, the model and its embeddings."""
    from datasets import Dataset

    st = importlib.import_module(library)
    losses = importlib.import_module(f"{library}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library}.sentence_transformer.evaluation")
    model = st.SentenceTransformer(str(folder), device="cpu")
    if loss == "mnrl":
        data = Dataset.from_dict({"anchor": ANCHORS[:32], "positive": POSITIVES[:32]})
        objective = losses.MultipleNegativesRankingLoss(model)
        if "query" in model.prompts and model.prompts["query"]:
            options["prompts"] = {"anchor": model.prompts["query"]}
    else:
        data = Dataset.from_dict(
            {"sentence1": ANCHORS[:32], "sentence2": POSITIVES[:32], "score": SCORES[:32]}
        )
        objective = losses.CoSENTLoss(model)
    extra = {}
    if evaluator:
        extra["evaluator"] = evaluation.EmbeddingSimilarityEvaluator(
            ANCHORS[32:], POSITIVES[32:], SCORES[32:], name="dev"
        )
        options.update(eval_strategy="steps", eval_steps=4)
    args = st.SentenceTransformerTrainingArguments(
        str(out), per_device_train_batch_size=4, num_train_epochs=1, learning_rate=5e-3, warmup_steps=2,
        logging_steps=1, save_strategy="steps", save_steps=8, seed=12, report_to="none", disable_tqdm=True,
        **options,
    )  # fmt: skip
    trainer = st.SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data, loss=objective, **extra
    )
    trainer.train()
    model.save(str(out / "final"))
    history = trainer.state.log_history
    evaluations = [r for r in history if "eval_dev_pearson_cosine" in r]
    return {
        "loss": np.array([r["loss"] for r in history if "loss" in r]),
        "grad_norm": np.array([r["grad_norm"] for r in history if "loss" in r]),
        "evaluations": [{k: v for k, v in r.items() if "_dev_" in k} for r in evaluations],
        "model": model,
    }


def reloaded(folder) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu").encode(PROBE)


@pytest.mark.parametrize("loss", ["mnrl", "cosent"])
@pytest.mark.parametrize("family", ["modernbert", "t5", "qwen3", "deberta", "xlm_roberta"])
def test_family_trains_as_with_sentence_transformers(request, tmp_path, family, loss):
    folder = request.getfixturevalue(family)
    theirs = train("sentence_transformers", folder, tmp_path / "st", loss)
    ours = train("sbert", folder, tmp_path / "sbert", loss)
    assert len(ours["loss"]) == len(theirs["loss"]) == 8
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=1e-4, atol=1e-5)
    # the weights: each saved folder, embedded by sentence-transformers; the steps moved them well beyond that
    final = reloaded(tmp_path / "sbert" / "final")
    np.testing.assert_allclose(final, reloaded(tmp_path / "st" / "final"), atol=2e-5)
    np.testing.assert_allclose(reloaded(tmp_path / "sbert" / "checkpoint-8"), final, atol=0)
    assert np.abs(final - reloaded(folder)).max() > 0.1
    # sbert's model after training embeds as its saved folder does in sentence-transformers
    np.testing.assert_allclose(ours["model"].encode(PROBE), final, atol=1e-6)
    if family == "qwen3":  # the prompt and the left padding kept
        saved = json.loads((tmp_path / "sbert" / "final" / "tokenizer_config.json").read_text())
        assert saved["padding_side"] == "left"
        assert ours["model"].prompts["query"] == "query : "


def test_evaluator_during_training_reports_sentence_transformers_scores(modernbert, tmp_path):
    theirs = train("sentence_transformers", modernbert, tmp_path / "st", "cosent", evaluator=True)
    ours = train("sbert", modernbert, tmp_path / "sbert", "cosent", evaluator=True)
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5, atol=1e-5)
    assert [sorted(r) for r in ours["evaluations"]] == [sorted(r) for r in theirs["evaluations"]]
    assert len(ours["evaluations"]) == 2
    for mine, reference in zip(ours["evaluations"], theirs["evaluations"]):
        for key, value in reference.items():
            assert mine[key] == pytest.approx(value, abs=1e-5), key


def test_bf16_runs_the_forward_in_autocast_and_the_loss_in_fp32(qwen3, tmp_path):
    """accelerate wraps the model's forward in autocast and casts its outputs to fp32, so the similarity
    matrix, scale and log-sum-exp of MultipleNegativesRankingLoss are fp32 there; under one autocast around
    the whole loss they were bf16 (losses on bf16's grid: 1.875, 1.9375, ..., 0.07 away from
    sentence-transformers'). Qwen3 (no Dense or Normalize in half precision; sbert's Normalize normalizes
    half-precision rows in fp32) with one forward per column runs the same operations in both libraries: the
    same losses."""
    folder = qwen3
    options = {"bf16": True, "use_cpu": True}
    runs = {}
    for library in ("sentence_transformers", "sbert"):
        merged_forward = importlib.import_module(f"{library}.base.losses.merged_forward")
        with merged_forward.column_merging_disabled():  # the same forward shapes in both
            runs[library] = train(library, folder, tmp_path / library, "mnrl", **options)
    theirs, ours = runs["sentence_transformers"], runs["sbert"]
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        reloaded(tmp_path / "sbert" / "final"),
        reloaded(tmp_path / "sentence_transformers" / "final"),
        atol=1e-5,
    )
