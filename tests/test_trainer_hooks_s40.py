"""Hugging Face ``Trainer`` hooks of sentence-transformers' trainers that session 39 left apart (session 40):
``get_eval_dataloader`` and ``evaluate`` overrides outside a run and with a dict of eval datasets, the folder
a ``_save`` override gets for a checkpoint, and ``reduce_lr_on_plateau`` across a resume. Each subclass runs
on sbert and on sentence-transformers, same seed and dropout-free model: the same calls and records."""

from __future__ import annotations

import pytest
from torch.utils.data import DataLoader
from trainer_subclass_probe import SETTINGS, WORDS, compare, kind, library

EVAL = {"anchor": WORDS[6:11], "positive": WORDS[1:6]}  # 5 rows: a last eval batch of 1
OTHER = {"anchor": WORDS[:4], "positive": WORDS[8:12]}
TIMINGS = ("runtime", "per_second", "preparation_time")


def _shown(value):
    return value if value is None or isinstance(value, str) else kind(value)


def _records(history) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.endswith(TIMINGS)} for r in history]


def _own_loader(trainer_class, calls):
    class Trainer(trainer_class):  # each eval loader asked for, its batches of 2 rows
        def get_eval_dataloader(self, eval_dataset=None):
            calls.append(("get_eval_dataloader", _shown(eval_dataset)))
            if isinstance(eval_dataset, str):
                eval_dataset = self.eval_dataset[eval_dataset]
            data = self.eval_dataset if eval_dataset is None else eval_dataset
            return DataLoader(data, batch_size=2, collate_fn=self.data_collator)

    return Trainer


def _wrapped_loader(trainer_class, calls):
    class Trainer(trainer_class):  # each eval loader asked for, the default's
        def get_eval_dataloader(self, eval_dataset=None):
            calls.append(("get_eval_dataloader", _shown(eval_dataset)))
            return super().get_eval_dataloader(eval_dataset)

    return Trainer


def _own_evaluate(trainer_class, calls):
    class Trainer(trainer_class):  # each evaluate() call and its keys
        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            calls.append(("evaluate", _shown(eval_dataset), ignore_keys, metric_key_prefix))
            metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
            calls.append(("metrics", sorted(k for k in metrics if not k.endswith(TIMINGS))))
            return metrics

    return Trainer


def _evaluations(name, folder, out, subclass, eval_dataset, *arguments) -> dict:
    """``evaluate(*arguments)`` calls (each a dataset, a dict of them by name or None) of a trainer of
    ``subclass`` made with ``eval_dataset``, before any run: the hook calls, metrics and records."""
    from datasets import Dataset

    module, losses = library(name)
    calls: list = []
    model = module.SentenceTransformer(str(folder), device="cpu")
    args = module.SentenceTransformerTrainingArguments(
        str(out), **{**SETTINGS, "per_device_eval_batch_size": 4}
    )
    sets = {"a": EVAL, "b": OTHER} if eval_dataset == "dict" else {"": EVAL}
    data = {key: Dataset.from_dict(columns) for key, columns in sets.items()}
    trainer = subclass(module.SentenceTransformerTrainer, calls)(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]}),
        eval_dataset=data if eval_dataset == "dict" else data[""],
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    metrics = []
    for argument in arguments:
        if argument == "other":
            argument = Dataset.from_dict(OTHER)
        elif argument == "given dict":
            argument = {"x": Dataset.from_dict(OTHER), "y": Dataset.from_dict(EVAL)}
        found = trainer.evaluate(argument)
        metrics.append({k: v for k, v in found.items() if not k.endswith(TIMINGS)})
    return {"calls": calls, "metrics": metrics, "records": _records(trainer.state.log_history)}


def _assert_same_evaluations(subclass, folder, tmp_path, eval_dataset, *arguments) -> dict:
    theirs = _evaluations("st", folder, tmp_path / "st", subclass, eval_dataset, *arguments)
    ours = _evaluations("sbert", folder, tmp_path / "ours", subclass, eval_dataset, *arguments)
    assert ours["calls"] == theirs["calls"]
    for what in ("metrics", "records"):
        assert len(ours[what]) == len(theirs[what])
        for mine, reference in zip(ours[what], theirs[what]):
            assert mine == pytest.approx(reference, abs=1e-6)
    return theirs


@pytest.mark.parametrize("subclass", [_own_loader, _wrapped_loader], ids=["own", "wrapped"])
@pytest.mark.parametrize("eval_dataset", ["one", "dict"])
def test_evaluate_before_a_run_reads_an_overridden_eval_loader(
    subclass, eval_dataset, dropout_free_st, tmp_path
):
    """Hugging Face's ``evaluate()`` takes its batches from ``self.get_eval_dataloader(dataset)`` (the
    trainer's dataset, each of a dict by name, or the one given), outside a run too; its loss weighs
    each batch ``per_device_eval_batch_size`` times, the last of the default loader cut to its rows."""
    theirs = _assert_same_evaluations(subclass, dropout_free_st, tmp_path, eval_dataset, None, "other")
    assert len(theirs["calls"]) == (3 if eval_dataset == "dict" else 2)


@pytest.mark.parametrize("eval_dataset", ["one", "dict"])
def test_evaluate_given_a_dict_calls_itself_for_each(eval_dataset, dropout_free_st, tmp_path):
    """Hugging Face's ``evaluate`` of a dict (the trainer's, or one given) calls ``self.evaluate`` for each
    dataset (its name, or the given dataset) with ``metric_key_prefix="eval_<name>"``."""
    arguments = [None, "given dict"] if eval_dataset == "dict" else ["given dict"]
    theirs = _assert_same_evaluations(_own_evaluate, dropout_free_st, tmp_path, eval_dataset, *arguments)
    assert len([c for c in theirs["calls"] if c[0] == "evaluate"]) == 3 * len(arguments)


def test_evaluate_of_a_given_dataset_leaves_the_trainers(dropout_free_st, tmp_path):
    """``evaluate(dataset)`` evaluates that dataset once: a later ``evaluate()`` is of the trainer's."""
    _assert_same_evaluations(_own_evaluate, dropout_free_st, tmp_path, "one", None, "other", None)


def test_a_run_reads_an_overridden_eval_loader(dropout_free_st, tmp_path):
    """A run's eval loss over the default loader a subclass wraps: each batch weighed as Hugging Face's."""
    _run_compare(
        _wrapped_loader,
        dropout_free_st,
        tmp_path,
        {"a": EVAL, "b": OTHER},
        eval_strategy="steps",
        eval_steps=2,
        per_device_eval_batch_size=4,
    )


def _run_compare(subclass, folder, tmp_path, evaluation, **options):
    """:func:`trainer_subclass_probe.compare` of ``subclass`` with ``evaluation``, a dict of eval datasets."""
    from datasets import Dataset

    def with_dict(trainer_class, calls):
        class Trainer(subclass(trainer_class, calls)):  # the dict in place of the probe's one eval dataset
            def __init__(self, *args, eval_dataset=None, **kwargs):
                sets = {key: Dataset.from_dict(columns) for key, columns in evaluation.items()}
                super().__init__(*args, eval_dataset=sets, **kwargs)

            def train(self, *args, **kwargs):  # the eval records too, rounded
                output = super().train(*args, **kwargs)
                for record in _records(self.state.log_history):
                    calls.append({k: round(v, 5) for k, v in record.items() if k.startswith("eval_")})
                return output

        return Trainer

    run = {"data": {"anchor": WORDS[:8], "positive": WORDS[4:12]}, "evaluation": EVAL, **options}
    compare(with_dict, folder, tmp_path, **run)
