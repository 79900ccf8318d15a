"""Session 43, part 6: scenarios of sentence-transformers' trainer, training-args, fit and multi-process
tests, compared with sentence-transformers itself on tiny offline models."""

from __future__ import annotations

import pytest

import sbert


def _error(make):
    with pytest.raises(Exception) as info:
        make()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    ("query_prompts", "corpus_prompts"),
    [
        ({"scifact": "q: "}, {"nfcorpus": "d: "}),
        ({"scifact": "q: "}, "d: "),
        ("q: ", {"scifact": "d: "}),
        ({}, {}),
    ],
)
def test_nanobeir_missing_prompts_listed_together(query_prompts, corpus_prompts):
    """Missing query and corpus prompts are named in one ValueError, as sentence-transformers names them."""
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator as Reference

    sets = ["scifact", "nfcorpus"]
    options = {"dataset_names": sets, "query_prompts": query_prompts, "corpus_prompts": corpus_prompts}
    theirs = _error(lambda: Reference(**options))
    ours = _error(lambda: sbert.evaluation.NanoBEIREvaluator(**options))
    assert issubclass(ours[0], theirs[0])
    assert ours[1] == theirs[1]


ENUM_FIELDS = (
    "eval_strategy",
    "logging_strategy",
    "save_strategy",
    "hub_strategy",
    "lr_scheduler_type",
    "optim",
    "batch_sampler",
    "multi_dataset_batch_sampler",
)
DERIVED_FIELDS = ("eval_steps", "do_eval", "debug", "include_for_metrics", "logging_steps", "save_steps")


def _field(value):
    """A field's value and its type's name (sentence-transformers' and sbert's sampler enums are two classes
    of one name)."""
    return type(value).__name__, getattr(value, "value", value), str(value)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"eval_strategy": "steps", "save_strategy": "epoch", "logging_strategy": "epoch"},
        {"eval_strategy": "steps", "logging_steps": 7, "lr_scheduler_type": "cosine", "optim": "adamw_torch"},
        {"eval_strategy": "epoch", "hub_strategy": "end", "batch_sampler": "no_duplicates"},
        {"multi_dataset_batch_sampler": "round_robin", "debug": "", "save_steps": 4.0, "eval_steps": 2.0},
    ],
)
def test_training_arguments_hold_enums_and_derived_values(tmp_path, options):
    """Strategies, schedule, optimizer and samplers given as strings are held as the enums
    sentence-transformers' arguments hold (its ``__post_init__``), and ``eval_steps`` / ``do_eval`` / the
    list fields are derived as there."""
    from sentence_transformers.sentence_transformer.training_args import (
        SentenceTransformerTrainingArguments as Reference,
    )

    theirs = Reference(output_dir=str(tmp_path), **options)
    ours = sbert.SentenceTransformerTrainingArguments(output_dir=str(tmp_path), **options)
    for name in ENUM_FIELDS + DERIVED_FIELDS:
        assert _field(getattr(ours, name)) == _field(getattr(theirs, name)), name


def test_training_arguments_setters_hold_enums(tmp_path):
    """The grouped setters store the enums, as Hugging Face's do."""
    from sentence_transformers.sentence_transformer.training_args import (
        SentenceTransformerTrainingArguments as Reference,
    )

    made = []
    for cls in (Reference, sbert.SentenceTransformerTrainingArguments):
        args = cls(output_dir=str(tmp_path))
        args.set_evaluate(strategy="steps", steps=3)
        args.set_save(strategy="epoch")
        args.set_logging(strategy="steps", steps=2)
        args.set_optimizer(name="adamw_torch")
        args.set_lr_scheduler(name="cosine")
        made.append({name: _field(getattr(args, name)) for name in ENUM_FIELDS + DERIVED_FIELDS})
    assert made[1] == made[0]


@pytest.mark.parametrize(
    "name", ["eval_strategy", "save_strategy", "lr_scheduler_type", "optim", "hub_strategy"]
)
def test_training_arguments_unknown_enum_value_error(tmp_path, name):
    from sentence_transformers.sentence_transformer.training_args import (
        SentenceTransformerTrainingArguments as Reference,
    )

    theirs = _error(lambda: Reference(output_dir=str(tmp_path), **{name: "sometimes"}))
    ours = _error(
        lambda: sbert.SentenceTransformerTrainingArguments(output_dir=str(tmp_path), **{name: "sometimes"})
    )
    assert issubclass(ours[0], theirs[0]) and ours[1] == theirs[1]


def test_trainer_eval_strategy_without_evaluation_message(tmp_path, default_model_path):
    """The message names the strategy as sentence-transformers' does (the enum as formatted there)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers.sentence_transformer.training_args import (
        SentenceTransformerTrainingArguments as ReferenceArguments,
    )

    data = Dataset.from_dict({"anchor": ["a cat", "a dog"], "positive": ["the cat", "the dog"]})

    def make(model_class, trainer_class, arguments_class):
        args = arguments_class(output_dir=str(tmp_path), eval_strategy="steps", report_to="none")
        model = model_class(str(default_model_path), device="cpu")
        return _error(lambda: trainer_class(model=model, args=args, train_dataset=data))

    theirs = make(Reference, ReferenceTrainer, ReferenceArguments)
    ours = make(
        sbert.SentenceTransformer,
        sbert.SentenceTransformerTrainer,
        sbert.SentenceTransformerTrainingArguments,
    )
    assert issubclass(ours[0], theirs[0]) and ours[1] == theirs[1]


def _with_template(model, bos: bool, eos: bool):
    """The tokenizer's single-text template changed in place, as sentence-transformers' data collator test
    changes it (``tokenizer._tokenizer.post_processor``)."""
    from tokenizers.processors import TemplateProcessing

    model.tokenizer.cls_token_id = 2 if bos else None
    model.tokenizer.sep_token_id = 3 if eos else None
    special = [("[CLS]", 2)] * bos + [("[SEP]", 3)] * eos
    single = "[CLS] " * bos + "$0" + " [SEP]" * eos
    model.tokenizer._tokenizer.post_processor = TemplateProcessing(single=single, special_tokens=special)
    return model


@pytest.mark.parametrize(("bos", "eos"), [(True, False), (False, False), (True, True), (False, True)])
@pytest.mark.parametrize("prompt", ["Prompt: ", "query: a"])
def test_prompt_length_drops_a_trailing_special_id_as_sentence_transformers(
    tiny_st_factory, bos, eos, prompt
):
    """A prompt's length leaves out its last token when that token's id is one of the tokenizer's special
    ids, whether the template added it or the prompt ends in one (here ":" is the unknown token): the
    prompt length, and so the pooled vectors with ``include_prompt`` off, as sentence-transformers'."""
    import numpy as np
    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    models = [
        _with_template(cls(str(folder), device="cpu"), bos, eos)
        for cls in (Reference, sbert.SentenceTransformer)
    ]
    for model in models:
        model.set_pooling_include_prompt(False)
    texts = ["the cat sat", "a dog ran far"]
    theirs, ours = (m.preprocess(texts, prompt=prompt) for m in models)
    assert ours["input_ids"].tolist() == theirs["input_ids"].tolist()
    assert int(ours["prompt_length"]) == int(theirs["prompt_length"])
    expected, got = (m.encode(texts, prompt=prompt) for m in models)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_tokenizer_call_follows_a_changed_template(tiny_st_factory):
    """``tokenizer(text)`` (no truncation) tokenizes with the template set on ``tokenizer._tokenizer`` after
    an earlier call, as a transformers tokenizer does."""
    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    seen = []
    for cls in (Reference, sbert.SentenceTransformer):
        model = cls(str(folder), device="cpu")
        before = model.tokenizer("the cat sat")["input_ids"]
        _with_template(model, bos=True, eos=False)
        seen.append(
            (before, model.tokenizer("the cat sat")["input_ids"], model.tokenizer.tokenize("the cat"))
        )
    assert seen[1] == seen[0]


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_pool_chunk_size_refusal_in_sentence_transformers_words(default_model_path, chunk_size):
    """A chunk size below 1 is refused before any worker starts, in sentence-transformers' words."""
    from sentence_transformers import SentenceTransformer as Reference

    texts = ["a cat", "a dog"]
    errors = [
        _error(
            lambda cls=cls: cls(str(default_model_path), device="cpu").encode(
                texts, device=["cpu"], chunk_size=chunk_size
            )
        )
        for cls in (Reference, sbert.SentenceTransformer)
    ]
    assert issubclass(errors[1][0], errors[0][0]) and errors[1][1] == errors[0][1]


def test_pool_worker_death_message_as_sentence_transformers(tiny_st_factory):
    """A pool whose worker was killed: sentence-transformers' RuntimeError, its words naming each dead
    worker's pid and exit code. A tiny model: sentence-transformers sends its model to the worker, and a
    large one holds up the pool's start until the worker has read it all."""
    import os
    import re
    import signal

    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    messages = []
    for cls in (Reference, sbert.SentenceTransformer):
        model = cls(str(folder), device="cpu")
        pool = model.start_multi_process_pool(["cpu"])
        try:
            for process in pool["processes"]:
                os.kill(process.pid, signal.SIGKILL)
                process.join()
            error = _error(lambda model=model, pool=pool: model.encode(["a cat", "a dog"], pool=pool))
        finally:
            model.stop_multi_process_pool(pool)
        messages.append((error[0], re.sub(r"pid \d+", "pid N", error[1])))
    assert messages[1] == messages[0]
