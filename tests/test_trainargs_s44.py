"""sentence-transformers 6.3's training arguments as scripts and callbacks read them (Hugging Face's
``AcceleratorConfig``, accelerate's state and precision, ``str()``, equality), and the model card's widget
examples after a one-step run with a prompt and long texts, each compared with sentence-transformers
run here."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pickle
import random

import pytest
import yaml
from test_card_widget_s41 import WORDS

LIBRARIES = ("sentence_transformers", "sbert")
ARGUMENT_CLASSES = {
    "dense": ("", "SentenceTransformerTrainingArguments"),
    "cross": (".cross_encoder", "CrossEncoderTrainingArguments"),
    "sparse": (".sparse_encoder", "SparseEncoderTrainingArguments"),
    "multi_vector": (".multi_vector_encoder", "MultiVectorEncoderTrainingArguments"),
}


def _args_class(package: str, kind: str) -> type:
    module, name = ARGUMENT_CLASSES[kind]
    return getattr(importlib.import_module(package + module), name)


def _read(args) -> dict:
    """What callbacks and scripts read on the arguments, as comparable values."""
    config = args.accelerator_config
    state = args.distributed_state
    return {
        "accelerator_config": (type(config).__name__, vars(config), config.split_batches),
        "distributed_state": (type(state).__name__, str(state.device), state.num_processes),
        "mixed_precision": args.mixed_precision,
        "plugins": (args.deepspeed_plugin, args.fsdp_plugin_args),
        "str": str(args),
        "repr": repr(args),
        "to_json_string": args.to_json_string(),
    }


@pytest.mark.parametrize("kind", list(ARGUMENT_CLASSES))
def test_arguments_read_as_sentence_transformers(kind, tmp_path):
    options = {"output_dir": str(tmp_path), "eval_strategy": "steps", "eval_steps": 5, "hub_token": "secret"}
    both = {name: _read(_args_class(name, kind)(**options)) for name in LIBRARIES}
    assert both["sbert"] == both["sentence_transformers"]


@pytest.mark.parametrize("kind", ["dense", "multi_vector"])
def test_copies_compare_equal_and_replace_keeps_the_accelerator_config(kind, tmp_path):
    seen = {}
    for name in LIBRARIES:
        args = _args_class(name, kind)(output_dir=str(tmp_path), learning_rate=1e-4)
        replaced = dataclasses.replace(args, learning_rate=1e-3)
        with pytest.raises(TypeError):
            hash(args)
        seen[name] = (
            args == copy.deepcopy(args),
            args == pickle.loads(pickle.dumps(args)),
            args == replaced,
            replaced.learning_rate,
            vars(replaced.accelerator_config),
            replaced.to_dict()["accelerator_config"],
        )
    assert seen["sbert"] == seen["sentence_transformers"]


def test_an_accelerator_config_at_its_defaults_is_taken(tmp_path):
    from transformers.trainer_pt_utils import AcceleratorConfig

    for given in (AcceleratorConfig(), {"split_batches": False, "even_batches": True}):
        both = {
            name: importlib.import_module(name)
            .SentenceTransformerTrainingArguments(str(tmp_path), accelerator_config=given)
            .to_dict()
            for name in LIBRARIES
        }
        assert both["sbert"] == both["sentence_transformers"]


def _long_pairs(n: int = 16, seed: int = 2):
    """Pairs with long texts among short ones, and a score column."""
    from datasets import Dataset

    draw = random.Random(seed)
    texts = [" ".join(draw.choice(WORDS) for _ in range(draw.choice([2, 5, 90]))) for _ in range(2 * n)]
    return Dataset.from_dict({"sentence1": texts[:n], "sentence2": texts[n:], "score": [0.5] * n})


def _trained_widget(package: str, kind: str, folder, out) -> list:
    """The saved README's front-matter widget after a one-step run with a prompt on the first column."""
    library = importlib.import_module(package)
    data = {"train_dataset": _long_pairs(), "eval_dataset": _long_pairs(seed=3)}
    if kind == "dense":
        model = library.SentenceTransformer(str(folder), device="cpu")
        loss = importlib.import_module(f"{package}.sentence_transformer").losses.CoSENTLoss(model)
        args_class, trainer_class = (
            library.SentenceTransformerTrainingArguments,
            library.SentenceTransformerTrainer,
        )
    else:
        losses = importlib.import_module(f"{package}.sparse_encoder.losses")
        model = library.SparseEncoder(str(folder), device="cpu")
        loss = losses.SpladeLoss(model, losses.SparseCoSENTLoss(model), 1e-3, 1e-3)
        args_class, trainer_class = library.SparseEncoderTrainingArguments, library.SparseEncoderTrainer
    args = args_class(
        output_dir=str(out / "run"), seed=12, report_to="none", max_steps=1, prompts={"sentence1": "query: "}
    )
    random.seed(0)
    trainer_class(model=model, args=args, loss=loss, **data).train()
    model.save(str(out / "model"))
    front = yaml.safe_load((out / "model" / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    return front.get("widget") or []


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_widget_examples_after_a_step_with_prompts_as_sentence_transformers(
    kind, dropout_free_st, masked_lm, tmp_path
):
    folder = dropout_free_st if kind == "dense" else masked_lm
    both = {name: _trained_widget(name, kind, folder, tmp_path / name) for name in LIBRARIES}
    assert both["sbert"] == both["sentence_transformers"]
    assert both["sbert"]
