"""Gaps found by running sentence-transformers 6.3's own core test files against sbert: bare Hugging Face
model names, the MaxSim members of SimilarityFunction, how encode_query / encode_document call encode, the
prompt warning and precision message, the trainer's batch-sampler hooks and data_collator, RandContext, and
BinaryClassificationEvaluator.compute_metrics. Each compared with sentence-transformers itself on the tiny
random models of conftest."""

from __future__ import annotations

import logging
import re
import shutil

import numpy as np
import pytest
import torch
from conftest import SENTENCES

import sbert

TOL = 1e-5
TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]


def _in_hub_cache(cache, repo_id: str, folder) -> None:
    """``folder`` as the Hugging Face cache's snapshot of ``repo_id`` (its main revision)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    sha = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(folder, repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)


def test_original_hub_names_are_their_own_repositories_as_in_sentence_transformers(
    dropout_free_st, tmp_path, monkeypatch
):
    """A bare name of Hugging Face's original models ("bert-base-uncased") is that repository, not
    "sentence-transformers/bert-base-uncased"; other bare names still get the sentence-transformers owner."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.util import ORIGINAL_TRANSFORMER_MODELS as REFERENCE_NAMES

    assert sbert.util.ORIGINAL_TRANSFORMER_MODELS == REFERENCE_NAMES
    import huggingface_hub.constants

    monkeypatch.setenv(
        "HF_HUB_OFFLINE", "1"
    )  # no hub look-ups (sentence-transformers would ask for adapters)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    cache = tmp_path / "hub"
    _in_hub_cache(cache, "bert-base-uncased", dropout_free_st)
    _in_hub_cache(cache, "sentence-transformers/all-tiny-v1", dropout_free_st)
    for name in ("bert-base-uncased", "all-tiny-v1"):
        ours = sbert.SentenceTransformer(name, cache_folder=str(cache), local_files_only=True)
        ref = Reference(name, cache_folder=str(cache), local_files_only=True, device="cpu")
        np.testing.assert_allclose(ours.encode(SENTENCES), ref.encode(SENTENCES), atol=TOL, rtol=0)


def test_similarity_function_has_the_maxsim_members_of_sentence_transformers():
    from sentence_transformers.util import SimilarityFunction as Reference

    from sbert import SimilarityFunction

    assert SimilarityFunction.possible_values() == Reference.possible_values()
    assert (
        SimilarityFunction.MAXSIM.value == "maxsim" and SimilarityFunction.MEAN_MAXSIM.value == "meanmaxsim"
    )
    generator = torch.Generator().manual_seed(0)
    queries, documents = torch.randn(3, 4, 8, generator=generator), torch.randn(3, 5, 8, generator=generator)
    for name in ("maxsim", "meanmaxsim", "cosine"):
        q, d = (queries, documents) if "maxsim" in name else (queries[:, 0], documents[:, 0])
        torch.testing.assert_close(
            SimilarityFunction.to_similarity_fn(name)(q, d), Reference.to_similarity_fn(name)(q, d)
        )
        torch.testing.assert_close(
            SimilarityFunction.to_similarity_pairwise_fn(name)(q, d),
            Reference.to_similarity_pairwise_fn(name)(q, d),
        )


@pytest.fixture(scope="module")
def pair(dropout_free_st):
    """sbert's and sentence-transformers' SentenceTransformer on the same tiny folder."""
    from sentence_transformers import SentenceTransformer as Reference

    return sbert.SentenceTransformer(str(dropout_free_st)), Reference(str(dropout_free_st), device="cpu")


@pytest.mark.parametrize("method", ["encode_query", "encode_document"])
def test_encode_query_and_document_call_encode_as_sentence_transformers(pair, method, monkeypatch):
    """The keywords encode_query / encode_document hand to encode (a subclass overriding encode sees them):
    ``inputs=``, the prompt name they chose, ``prompt`` and ``task``; ``sentences=`` is the older name."""
    calls = []
    for model in pair:
        model.prompts = {"query": "q: ", "document": "d: ", "custom": "c: "}
        seen: list = []
        monkeypatch.setattr(model, "encode", lambda *args, seen=seen, **kwargs: seen.append((args, kwargs)))
        for options in ({}, {"prompt": "p: "}, {"prompt_name": "custom"}, {"convert_to_tensor": True}):
            getattr(model, method)(SENTENCES, **options)
        getattr(model, method)(sentences=SENTENCES[:1])
        keys = ("inputs", "prompt", "prompt_name", "task")  # (sentence-transformers also passes its defaults)
        calls.append(
            [
                (args, {k: kwargs.get(k) for k in keys}, bool(kwargs.get("convert_to_tensor")))
                for args, kwargs in seen
            ]
        )
        monkeypatch.undo()
    assert calls[0] == calls[1]


def test_encode_query_by_keyword_and_prompt_warning_as_sentence_transformers(pair, caplog):
    """``encode_query(inputs=...)`` embeds as sentence-transformers does; a call with both ``prompt`` and
    ``prompt_name`` logs its warning once and uses ``prompt``."""
    ours, ref = pair
    for model in pair:
        model.prompts = {"query": "q: ", "document": ""}
    np.testing.assert_allclose(
        ours.encode_query(inputs=SENTENCES), ref.encode_query(inputs=SENTENCES), atol=TOL, rtol=0
    )
    messages = []
    for model in pair:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            out = model.encode(SENTENCES, prompt="x: ", prompt_name="query")
        messages.append([record.getMessage() for record in caplog.records])
        np.testing.assert_allclose(out, model.encode(SENTENCES, prompt="x: "), atol=TOL, rtol=0)
    assert messages[0] == messages[1] and len(messages[0]) == 1


def test_unknown_precision_is_refused_in_sentence_transformers_words(pair):
    for model in pair:
        with pytest.raises(ValueError, match=re.escape("Precision 'error' is not supported")):
            model.encode(SENTENCES, precision="error")


def _samplers(kit, path, tmp_path):
    """What get_batch_sampler / get_multi_dataset_batch_sampler give for a class, a function and an enum
    value in the arguments, and the trainer's data_collator label columns."""
    from datasets import Dataset
    from torch.utils.data import ConcatDataset

    model_class, trainer_class, args_class, samplers = kit
    model = model_class(str(path))
    data = Dataset.from_dict({"anchor": TEXTS, "positive": TEXTS[::-1], "label": [0, 1, 0, 1, 0, 1]})
    seen = []

    def function(dataset, batch_size, drop_last, valid_label_columns, generator, seed):
        return samplers.NoDuplicatesBatchSampler(
            dataset,
            batch_size,
            drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )

    for batch_sampler in (samplers.GroupByLabelBatchSampler, function, "no_duplicates"):
        args = args_class(
            str(tmp_path), batch_sampler=batch_sampler, multi_dataset_batch_sampler="round_robin"
        )
        trainer = trainer_class(model=model, args=args, train_dataset=None, eval_dataset=data)
        options = {"valid_label_columns": trainer.data_collator.valid_label_columns, "seed": 7}
        one = trainer.get_batch_sampler(data, 4, False, generator=torch.Generator(), **options)
        multi = trainer.get_multi_dataset_batch_sampler(
            ConcatDataset([data, data]), [one, one], generator=torch.Generator(), seed=7
        )
        batches = sorted(sorted(batch) for batch in one)
        seen.append(
            (type(one).__name__, options["valid_label_columns"], type(multi).__name__, batches, len(multi))
        )
    return seen


def test_trainer_batch_sampler_methods_as_sentence_transformers(dropout_free_st, tmp_path):
    import sentence_transformers as st
    from sentence_transformers.base import sampler as st_samplers

    from sbert.base import sampler as our_samplers

    ours = (
        sbert.SentenceTransformer,
        sbert.SentenceTransformerTrainer,
        sbert.SentenceTransformerTrainingArguments,
    )
    theirs = (st.SentenceTransformer, st.SentenceTransformerTrainer, st.SentenceTransformerTrainingArguments)
    expected = _samplers((*theirs, st_samplers), dropout_free_st, tmp_path / "st")
    assert _samplers((*ours, our_samplers), dropout_free_st, tmp_path / "ours") == expected


def _train_with_sequential_batches(kit, path, out):
    """Two steps of a trainer subclass whose get_batch_sampler gives the rows in order: the model after."""
    from datasets import Dataset
    from torch.utils.data import BatchSampler, SequentialSampler

    model_class, trainer_class, args_class, losses = kit
    calls = []

    class InOrder(trainer_class):
        def get_batch_sampler(
            self, dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0
        ):
            calls.append(batch_size)
            return BatchSampler(SequentialSampler(range(len(dataset))), batch_size, drop_last)

    model = model_class(str(path), device="cpu")
    data = Dataset.from_dict({"anchor": TEXTS + TEXTS[:2], "positive": TEXTS[::-1] + TEXTS[:2]})
    args = args_class(
        str(out),
        per_device_train_batch_size=4,
        max_steps=2,
        learning_rate=3e-3,
        save_strategy="no",
        disable_tqdm=True,
        report_to="none",
    )
    InOrder(
        model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model)
    ).train()
    assert calls and set(calls) == {4}
    return model


def test_a_trainer_subclass_get_batch_sampler_is_used_for_training_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer import losses as st_losses

    from sbert.sentence_transformer import losses as our_losses

    theirs = (st.SentenceTransformer, st.SentenceTransformerTrainer, st.SentenceTransformerTrainingArguments)
    reference = _train_with_sequential_batches((*theirs, st_losses), dropout_free_st, tmp_path / "st")
    ours = (
        lambda path, device: sbert.SentenceTransformer(path, device=device, backend="torch"),
        sbert.SentenceTransformerTrainer,
        sbert.SentenceTransformerTrainingArguments,
        our_losses,
    )
    model = _train_with_sequential_batches(ours, dropout_free_st, tmp_path / "ours")
    theirs_weights = dict(reference[0].auto_model.named_parameters())
    for name, value in model[0].auto_model.named_parameters():
        torch.testing.assert_close(value, theirs_weights[name], atol=1e-4, rtol=0, msg=name)


def test_rand_context_replays_random_numbers_as_sentence_transformers():
    from sentence_transformers.sentence_transformer.losses.cached_multiple_negatives_ranking import (
        RandContext as Reference,
    )

    from sbert.sentence_transformer.losses.cached_multiple_negatives_ranking import RandContext

    draws = []
    for context in (Reference, RandContext):
        torch.manual_seed(3)
        replay = context(torch.zeros(1))
        first = torch.rand(5)
        with replay:
            again = torch.rand(5)
        after = torch.rand(5)  # the state outside the block went on from before it
        draws.append((first, again, after))
    for ours, theirs in zip(draws[1], draws[0]):
        torch.testing.assert_close(ours, theirs)
    assert torch.equal(draws[1][0], draws[1][1])


def test_binary_classification_compute_metrics_as_sentence_transformers(pair):
    """compute_metrics gives the per-function metrics; a subclass overriding it decides what __call__
    reports (its max_* keys and primary metric included)."""
    from sentence_transformers.sentence_transformer.evaluation import (
        BinaryClassificationEvaluator as Reference,
    )

    from sbert.sentence_transformer.evaluation import BinaryClassificationEvaluator

    data = (TEXTS, TEXTS[1:] + TEXTS[:1], [1, 0, 1, 0, 1, 1])
    options = {"similarity_fn_names": ["cosine", "euclidean"], "write_csv": False}
    ours, theirs = BinaryClassificationEvaluator(*data, **options), Reference(*data, **options)
    got, expected = ours.compute_metrics(pair[0]), theirs.compute_metrics(pair[1])
    assert list(got) == list(expected)
    for function, values in expected.items():
        assert set(got[function]) == set(values)
        for key, value in values.items():
            assert got[function][key] == pytest.approx(value, abs=TOL), (function, key)

    results = []
    for evaluator_class, model in ((Reference, pair[1]), (BinaryClassificationEvaluator, pair[0])):

        class Fixed(evaluator_class):
            def compute_metrics(self, model):
                return {
                    "dot": dict.fromkeys(expected["cosine"], 0.5),
                    "euclidean": dict.fromkeys(expected["cosine"], 0.25),
                }

        evaluator = Fixed(*data, similarity_fn_names=["dot", "euclidean"], write_csv=False, name="dev")
        results.append((evaluator(model), evaluator.primary_metric))
    assert results[1] == results[0]


def test_nested_prompts_for_one_dataset_are_refused_in_sentence_transformers_words(dropout_free_st, tmp_path):
    """prompts keyed by dataset names, then columns, with one (unnamed) dataset: sentence-transformers'
    ValueError, its message."""
    import sentence_transformers as st
    from datasets import Dataset

    data = Dataset.from_dict({"sentence1": TEXTS, "sentence2": TEXTS[::-1]})
    prompts = {"a": {"sentence1": "p: "}, "b": {"sentence2": "q: "}}
    message = re.escape(
        "The prompts provided to the trainer are a nested dictionary. In this setting, the first level of "
        "the dictionary should map to dataset names and the second level to column names. However, as the "
        "provided dataset is a not a DatasetDict, no dataset names can be inferred. The keys to the provided "
        "prompts dictionary are ['a', 'b']"
    )
    from sentence_transformers.sentence_transformer import losses as st_losses

    ours = (
        sbert.SentenceTransformer,
        sbert.SentenceTransformerTrainer,
        sbert.SentenceTransformerTrainingArguments,
    )
    theirs = (st.SentenceTransformer, st.SentenceTransformerTrainer, st.SentenceTransformerTrainingArguments)
    for (model_class, trainer_class, args_class), losses in ((theirs, st_losses), (ours, sbert.losses)):
        model = model_class(str(dropout_free_st))
        args = args_class(str(tmp_path), prompts=prompts, max_steps=1, report_to="none", disable_tqdm=True)
        loss = losses.MultipleNegativesRankingLoss(model)
        with pytest.raises(ValueError, match=message):
            trainer_class(model=model, args=args, train_dataset=data, loss=loss).train()
