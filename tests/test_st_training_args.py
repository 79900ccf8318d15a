"""Hugging Face's training arguments beyond the common ones, under SentenceTransformerTrainingArguments: each
does what it does under sentence-transformers' trainer (the same losses, learning rates, evaluations and
dropout-free weights, or the same files), is accepted where it changes nothing there, or is refused by name
where sbert cannot run it."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
import torch

import sbert
from sbert._training import run_settings

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def train(library, path, out, **options):
    """Two epochs of two steps of MultipleNegativesRankingLoss on 8 pairs (with an evaluator when
    ``eval_strategy`` asks); the logged losses, learning rates and evaluated steps, the embeddings after."""
    from datasets import Dataset

    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
    model = library.SentenceTransformer(str(path), device="cpu")
    data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]})
    settings = {
        "output_dir": str(out), "per_device_train_batch_size": 4, "num_train_epochs": 2,
        "learning_rate": 1e-3, "seed": 3, "logging_steps": 1, "report_to": "none", "save_strategy": "no",
        "disable_tqdm": True,
        **options,
    }  # fmt: skip
    args = library.SentenceTransformerTrainingArguments(**settings)
    evaluator = None
    if settings.get("eval_strategy", "no") != "no":
        scores = [0.1, 0.9, 0.4, 0.5, 0.2, 0.7]
        evaluator = evaluation.EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:], scores, name="dev")
    trainer = library.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=data,
        loss=losses.MultipleNegativesRankingLoss(model),
        evaluator=evaluator,
    )
    trainer.train()
    history = trainer.state.log_history
    return {
        "losses": [r["loss"] for r in history if "loss" in r],
        "rates": [r["learning_rate"] for r in history if "learning_rate" in r],
        "evaluated": [r["step"] for r in history if "eval_dev_spearman_cosine" in r],
        "embeddings": model.encode(WORDS, convert_to_numpy=True),
        "model": model,
    }


@pytest.fixture
def restore_determinism(monkeypatch):
    """full_determinism changes the process (torch's flags, environment variables), there as here."""
    for name in run_settings.DETERMINISM_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)  # put back as they were afterwards
    flags = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags


CASES = {
    # no numeric effect on the CPU; each was refused before
    "checkpointing-determinism-smoothing-tf32": {
        "gradient_checkpointing": True,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "full_determinism": True,
        "label_smoothing_factor": 0.2,  # Hugging Face's compute_loss applies it; sentence-transformers' not
        "tf32": False,
        "include_for_metrics": ["loss"],
    },
    "sgd-optim-args": {"optim": "sgd", "optim_args": "momentum=0.9, nesterov=True", "learning_rate": 0.05},
    # the Contrastive Tension example trains with optim="rmsprop"; Adagrad is the other plain torch one
    "rmsprop-args": {"optim": "rmsprop", "optim_args": "alpha=0.9,centered=True", "learning_rate": 1e-3},
    "adagrad": {"optim": "adagrad", "learning_rate": 0.01},
    "eval-delay-steps": {"eval_strategy": "steps", "eval_steps": 1, "eval_delay": 3},
    # sentence-transformers 6's names of gradient checkpointing and its options
    "eval-delay-epochs-activation-checkpointing": {
        "eval_strategy": "epoch",
        "eval_delay": 2,
        "activation_checkpointing": True,
        "activation_checkpointing_kwargs": {"use_reentrant": False},
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_training_arguments_train_as_in_sentence_transformers(
    dropout_free_st, tmp_path, restore_determinism, case
):
    import sentence_transformers

    options = CASES[case]
    ours = train(sbert, dropout_free_st, tmp_path / "ours", **options)
    if options.get("full_determinism"):
        assert torch.are_deterministic_algorithms_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
        torch.use_deterministic_algorithms(False)  # sentence-transformers' trainer turns it on itself
    theirs = train(sentence_transformers, dropout_free_st, tmp_path / "st", **options)
    assert len(ours["losses"]) == len(theirs["losses"]) == 4
    np.testing.assert_allclose(ours["losses"], theirs["losses"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours["rates"], theirs["rates"], rtol=1e-9)
    assert ours["evaluated"] == theirs["evaluated"]
    np.testing.assert_allclose(ours["embeddings"], theirs["embeddings"], atol=1e-5, rtol=0)
    if "eval_delay" in options:  # steps 3 and 4, or the end of the 2nd epoch: the delay skipped the others
        assert ours["evaluated"] == ([3, 4] if options["eval_strategy"] == "steps" else [4])
    if "checkpointing" in case:  # transformers' checkpointing on the encoder, with the options given
        for run in (ours, theirs):
            encoder = run["model"][0].auto_model
            assert encoder.is_gradient_checkpointing
            assert encoder._gradient_checkpointing_func.keywords == {"use_reentrant": False}


def test_save_only_model_checkpoints_hold_the_model_only_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    import sentence_transformers

    options = {"save_strategy": "steps", "save_steps": 2, "save_only_model": True}
    train(sbert, dropout_free_st, tmp_path / "ours", **options)
    train(sentence_transformers, dropout_free_st, tmp_path / "st", **options)
    theirs = sorted(p.name for p in (tmp_path / "st" / "checkpoint-2").iterdir())
    assert "model.safetensors" in theirs and "trainer_state.json" in theirs
    assert not {"optimizer.pt", "scheduler.pt", "rng_state.pth"} & set(theirs)
    checkpoint = tmp_path / "ours" / "checkpoint-2"
    ours = sorted(p.name for p in checkpoint.iterdir())
    assert "model.safetensors" in ours and "trainer_state.json" in ours and "state.json" in ours
    assert "training_state.pt" not in ours
    # the checkpoints hold the same weights
    mine = sbert.SentenceTransformer(checkpoint, device="cpu").encode(WORDS)
    reference = sentence_transformers.SentenceTransformer(str(tmp_path / "st" / "checkpoint-2"), device="cpu")
    np.testing.assert_allclose(mine, reference.encode(WORDS), atol=1e-5, rtol=0)
    with pytest.raises(sbert.InputError, match="holds the model only.*save_only_model=True"):
        train(sbert, dropout_free_st, tmp_path / "ours", resume_from_checkpoint=str(checkpoint), **options)


# the timings Hugging Face's trainer logs with each evaluation: the same keys, other values
_TIMINGS = ("_runtime", "_samples_per_second", "_steps_per_second")


def _same_state(ours, theirs):
    """Two ``trainer_state.json`` records alike: the same keys, and the same values but for the measured
    ones (losses and metrics to float tolerance, timings not at all, paths by checkpoint name)."""
    import json

    ours, theirs = (json.loads(p.read_text()) for p in (ours, theirs))
    assert sorted(ours) == sorted(theirs)
    assert [sorted(r) for r in ours["log_history"]] == [sorted(r) for r in theirs["log_history"]]
    for mine, reference in zip(ours["log_history"], theirs["log_history"]):
        for key, value in reference.items():
            if not key.endswith(_TIMINGS):
                # float noise of a different summation order: relative for large values (grad_norm ~12)
                assert mine[key] == pytest.approx(value, rel=1e-5, abs=1e-5), key
    for key in ("best_model_checkpoint",):
        assert os.path.basename(ours.pop(key) or "") == os.path.basename(theirs.pop(key) or "")
    assert ours.pop("best_metric") == pytest.approx(theirs.pop("best_metric"), abs=1e-5)
    del ours["log_history"], theirs["log_history"]
    assert ours == theirs


def test_checkpoints_are_model_folders_with_trainer_state_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    """Each checkpoint is ``checkpoint-<step>/`` holding the model's files (sentence-transformers and plain
    transformers load it as a model) and Hugging Face's ``trainer_state.json``, as sentence-transformers'."""
    import sentence_transformers
    import transformers
    from transformers.trainer_utils import get_last_checkpoint

    options = {
        "save_strategy": "steps", "save_steps": 2, "eval_strategy": "steps", "eval_steps": 2,
        "metric_for_best_model": "eval_dev_spearman_cosine", "load_best_model_at_end": True,
    }  # fmt: skip
    train(sbert, dropout_free_st, tmp_path / "ours", **options)
    train(sentence_transformers, dropout_free_st, tmp_path / "st", **options)
    names = sorted(p.name for p in (tmp_path / "st").glob("checkpoint-*"))
    assert names == ["checkpoint-2", "checkpoint-4"]
    assert sorted(p.name for p in (tmp_path / "ours").glob("checkpoint-*")) == names
    assert get_last_checkpoint(str(tmp_path / "ours")) == str(tmp_path / "ours" / "checkpoint-4")
    for name in names:
        _same_state(
            tmp_path / "ours" / name / "trainer_state.json", tmp_path / "st" / name / "trainer_state.json"
        )
    folder = str(tmp_path / "ours" / "checkpoint-4")
    mine = sbert.SentenceTransformer(folder, device="cpu").encode(WORDS)
    loaded_by_st = sentence_transformers.SentenceTransformer(folder, device="cpu").encode(WORDS)
    np.testing.assert_allclose(loaded_by_st, mine, atol=1e-6, rtol=0)
    st_own = sentence_transformers.SentenceTransformer(str(tmp_path / "st" / "checkpoint-4"), device="cpu")
    np.testing.assert_allclose(mine, st_own.encode(WORDS), atol=1e-5, rtol=0)
    assert isinstance(transformers.AutoModel.from_pretrained(folder), transformers.PreTrainedModel)


def test_torch_compile_trains_the_compiled_forward_and_leaves_encode_uncompiled(
    dropout_free_st, tmp_path, monkeypatch
):
    """Compiling is slow on a CPU (half a minute for this run with inductor, under either trainer), so
    torch.compile is recorded here: what it compiles, with which options, and that the losses ran it."""
    compiled = []

    def record(forward, backend=None, mode=None):
        calls = []
        compiled.append((forward, backend, mode, calls))

        def run(*args, **kwargs):
            calls.append(1)
            return forward(*args, **kwargs)

        return run

    monkeypatch.setattr(torch, "compile", record)
    ours = train(sbert, dropout_free_st, tmp_path / "a", torch_compile=True)
    (forward, backend, mode, calls), *_ = compiled
    assert (backend, mode) == ("inductor", None)  # Hugging Face's default backend
    assert forward.__func__ is sbert.SentenceTransformer.forward and len(calls) >= 4  # every step ran it
    assert "forward" not in vars(ours["model"])  # its own forward again: encode and evaluators uncompiled
    args = sbert.SentenceTransformerTrainingArguments("x", torch_compile_mode="reduce-overhead")
    assert args.torch_compile and args.torch_compile_backend == "inductor"  # either option turns it on
    train(sbert, dropout_free_st, tmp_path / "b", torch_compile_backend="eager", max_steps=1)
    assert compiled[-1][1:3] == ("eager", None)


def test_arguments_sentence_transformers_takes_are_taken_and_those_sbert_cannot_run_named():
    from sentence_transformers import SentenceTransformerTrainingArguments as Reference

    from sbert.training_args import SentenceTransformerTrainingArguments

    # accepted: they change nothing sentence-transformers' trainer computes for an embedding model
    accepted = {
        "include_for_metrics": ["inputs", "loss"], "batch_eval_metrics": True,
        "eval_do_concat_batches": False, "train_sampling_strategy": "sequential", "length_column_name": "n",
        "logging_nan_inf_filter": False, "skip_memory_metrics": False, "torch_empty_cache_steps": 4,
        "project": "p", "auto_find_batch_size": True, "use_cache": True, "hub_revision": "main",
        "save_on_each_node": True,
    }  # fmt: skip
    Reference("x", **accepted)
    assert SentenceTransformerTrainingArguments("x", **accepted).include_for_metrics == ["inputs", "loss"]
    refused = {
        "neftune_noise_alpha": (5.0, "get_input_embeddings"),
        "deepspeed": ("ds.json", "DDP"),
        "fsdp": ("full_shard", "DDP"),
        "bf16_full_eval": (True, "bf16_full_eval"),
        "optim_args": ("momentum", "name=value"),
        "eval_delay": (-1, "eval_delay must be a number >= 0"),
    }
    for name, (value, words) in refused.items():
        with pytest.raises(sbert.InputError, match=words):
            SentenceTransformerTrainingArguments("x", **{name: value})
    if not run_settings.tf32_available():  # as sentence-transformers' ValueError on such a machine
        with pytest.raises(ValueError, match="tf32"):
            Reference("x", tf32=True)
        with pytest.raises(sbert.InputError, match="tf32=True needs an NVIDIA GPU"):
            SentenceTransformerTrainingArguments("x", tf32=True)
