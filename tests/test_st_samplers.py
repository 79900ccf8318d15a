"""sentence-transformers' batch sampler classes in sbert: at its import paths, with its signatures, giving its
batches for a seed; and a sampler class or function passed as ``batch_sampler=`` to sbert's trainers, as
sentence-transformers' trainer takes it."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from conftest import torch_model, train_args

import sbert
from sbert._errors import InputError

CLASSES = [
    "DefaultBatchSampler",
    "GroupByLabelBatchSampler",
    "NoDuplicatesBatchSampler",
    "MultiDatasetDefaultBatchSampler",
    "RoundRobinBatchSampler",
    "ProportionalBatchSampler",
]
WORDS = "cat dog bird fish cow horse sheep goat duck frog lion bear wolf fox deer owl".split()
SENTENCES = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
SENTENCES += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _modules():
    import sentence_transformers.base.sampler as theirs

    import sbert.base.sampler as ours

    return ours, theirs


def _pairs(n=30):
    """Anchor/positive/label rows where texts are the anchor of one row and the positive of others."""
    from datasets import Dataset

    anchors = [f"{WORDS[i % 7]} {WORDS[i % 5]}" for i in range(n)]
    positives = [anchors[(i * 3 + 1) % n] if i % 4 == 0 else f"doc {i}" for i in range(n)]
    return Dataset.from_dict({"anchor": anchors, "positive": positives, "label": [i % 4 for i in range(n)]})


def test_classes_are_at_sentence_transformers_paths_with_its_signatures():
    ours, theirs = _modules()
    import sbert.sampler

    for name in CLASSES:
        cls = getattr(ours, name)
        assert getattr(sbert.sampler, name) is cls
        assert issubclass(cls, torch.utils.data.BatchSampler)
        mine = inspect.signature(cls.__init__).parameters
        reference = inspect.signature(getattr(theirs, name).__init__).parameters
        assert [(p.name, p.kind, p.default) for p in mine.values()] == [
            (p.name, p.kind, p.default) for p in reference.values()
        ], name
    assert sbert.DefaultBatchSampler is ours.DefaultBatchSampler
    assert sbert.MultiDatasetDefaultBatchSampler is ours.MultiDatasetDefaultBatchSampler
    assert issubclass(ours.NoDuplicatesBatchSampler, sbert.DefaultBatchSampler)


def _same_batches(make, epochs=3):
    """``make(module)`` built from sbert's and sentence-transformers' module gives the same length and
    batches, epoch after epoch."""
    ours, theirs = _modules()
    mine, reference = make(ours), make(theirs)
    assert len(mine) == len(reference)
    for epoch in range(epochs):
        mine.set_epoch(epoch)
        reference.set_epoch(epoch)
        batches = [list(map(int, b)) for b in mine]
        assert batches == [list(map(int, b)) for b in reference], epoch
    return batches


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("batch_size", [4, 8])
def test_no_duplicates_gives_sentence_transformers_batches(drop_last, batch_size):
    data = _pairs()

    def make(module):
        generator = torch.Generator().manual_seed(9)
        return module.NoDuplicatesBatchSampler(
            data, batch_size, drop_last, valid_label_columns=["label"], generator=generator, seed=9
        )

    batches = _same_batches(make)
    for batch in batches:
        texts = [text for i in batch for text in (data[i]["anchor"], data[i]["positive"])]
        assert len(texts) == len(set(texts))


def test_no_duplicates_resamples_to_its_length_as_sentence_transformers():
    from datasets import Dataset

    data = Dataset.from_dict(
        {"a": ["x"] * 6 + [f"y{i}" for i in range(6)], "b": [f"z{i}" for i in range(12)]}
    )

    def make(module):
        return module.NoDuplicatesBatchSampler(data, 4, True, generator=torch.Generator(), seed=1)

    batches = _same_batches(make)
    assert len(batches) == 3 and all(len(b) == 4 for b in batches)


@pytest.mark.parametrize("drop_last", [False, True])
def test_group_by_label_gives_sentence_transformers_batches(drop_last):
    from datasets import Dataset

    labels = [0] * 9 + [1] * 6 + [2] * 4 + [3] * 3 + [4]
    data = Dataset.from_dict({"text": [f"t{i}" for i in range(len(labels))], "label": labels})

    def make(module):
        generator = torch.Generator().manual_seed(3)
        return module.GroupByLabelBatchSampler(data, 6, drop_last, ["score", "label"], generator, seed=3)

    for batch in _same_batches(make):
        counts = [sum(labels[i] == label for i in batch) for label in {labels[i] for i in batch}]
        assert len(counts) >= 2 and min(counts) >= 2


@pytest.mark.parametrize("multi", ["RoundRobinBatchSampler", "ProportionalBatchSampler"])
def test_multi_dataset_samplers_give_sentence_transformers_batches(multi):
    from torch.utils.data import ConcatDataset, RandomSampler

    small, large = _pairs(10), _pairs(30)

    def make(module):
        generator = torch.Generator().manual_seed(11)
        options = {"drop_last": False, "valid_label_columns": ["label"], "generator": generator, "seed": 11}
        children = [
            module.DefaultBatchSampler(RandomSampler(small, generator=generator), 4, **options),
            module.NoDuplicatesBatchSampler(large, 4, **options),
        ]
        return getattr(module, multi)(ConcatDataset([small, large]), children, generator=generator, seed=11)

    batches = _same_batches(make)
    assert {i >= len(small) for b in batches for i in b} == {False, True}


def test_sampler_input_errors_are_sentence_transformers_value_errors():
    ours, _ = _modules()
    from datasets import Dataset

    one_label = Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 0, 0]})
    with pytest.raises(ValueError, match="at least 2"):
        ours.GroupByLabelBatchSampler(one_label, 4, False, ["label"])
    with pytest.raises(ValueError, match="valid_label_columns"):
        ours.GroupByLabelBatchSampler(one_label, 4, False, ["score"])
    with pytest.raises(ValueError, match="even"):
        ours.GroupByLabelBatchSampler(one_label, 5, False, ["label"])


# ------------------------------------------------------------------ a user's sampler in the trainers


def recording_sampler(base):
    """A user's sampler in sentence-transformers' documented style: a ``DefaultBatchSampler`` subclass that
    shuffles with the trainer's generator (it does not reseed by epoch) and puts the rows in reverse
    order; it records the batches it gives."""

    class Reversed(base):
        given: list[list[int]] = []

        def __iter__(self):
            order = torch.randperm(len(self.sampler), generator=self.generator).tolist()[::-1]
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                type(self).given.append(batch)
                yield batch

        def __len__(self):
            return math.ceil(len(self.sampler) / self.batch_size)

    return Reversed


def test_a_sampler_class_passed_to_the_trainer_makes_its_batches(dropout_free_st, tmp_path):
    rows = [(f"{WORDS[i % 16]} {i}", f"the {WORDS[(i * 5) % 16]} {i}") for i in range(10)]
    data = sbert.load_dataset(rows)
    sampler = recording_sampler(sbert.DefaultBatchSampler)
    args = train_args(tmp_path, batch_size=4, epochs=2, seed=5, batch_sampler=sampler, save_steps=2)
    model = torch_model(dropout_free_st)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = sbert.Trainer(model, data, sbert.MultipleNegativesRankingLoss(model), args=args)
    planned = [[int(i) for i in b] for e in (0, 1) for _, b in trainer.epoch_batches(e)]
    assert planned == sampler.given and len(planned) == 6
    assert planned[:3] != planned[3:]  # the generator's stream goes on into the second epoch
    trainer.train()
    assert trainer.total_steps() == 6
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert args.hyperparameters()["batch_sampler"].endswith("recording_sampler.<locals>.Reversed")
    # a checkpoint records the sampler by name, and a run resumes with the same one
    args.resume = True
    sbert.Trainer(model, data, sbert.MultipleNegativesRankingLoss(model), args=args).train()


def test_a_sampler_class_trains_as_in_sentence_transformers_trainer(dropout_free_st, tmp_path):
    """The same user sampler class (subclassing each library's DefaultBatchSampler) gives the same batches
    for two epochs in both trainers, and the same weights."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.base.sampler import DefaultBatchSampler as ReferenceBase
    from sentence_transformers.sentence_transformer.losses import (
        MultipleNegativesRankingLoss as ReferenceLoss,
    )

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    data = Dataset.from_dict({"anchor": SENTENCES[:10], "positive": SENTENCES[2:]})
    recipe = {"per_device_train_batch_size": 4, "num_train_epochs": 2, "learning_rate": 3e-3}
    recipe |= {"save_strategy": "no", "disable_tqdm": True, "seed": 13}
    theirs, ours = recording_sampler(ReferenceBase), recording_sampler(sbert.DefaultBatchSampler)
    reference = Reference(str(dropout_free_st), device="cpu")
    ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), batch_sampler=theirs, **recipe),
        train_dataset=data,
        loss=ReferenceLoss(reference),
    ).train()
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(str(tmp_path / "ours"), batch_sampler=ours, **recipe),
        train_dataset=data,
        loss=sbert.losses.MultipleNegativesRankingLoss(model),
    ).train()
    assert len(ours.given) == 6 and ours.given == theirs.given
    expected = dict(reference[0].auto_model.named_parameters())
    for name, value in model[0].auto_model.named_parameters():
        torch.testing.assert_close(value, expected[name], atol=1e-5, rtol=0, msg=name)


def test_sampler_functions_and_a_multi_dataset_class_are_taken_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    """A function returning a sampler (sentence-transformers' signature) and a MultiDatasetDefaultBatchSampler
    subclass: the larger dataset's batches first, then the smaller's."""
    from sbert.base.sampler import MultiDatasetDefaultBatchSampler, NoDuplicatesBatchSampler

    calls = []

    def no_duplicates(dataset, batch_size, drop_last, valid_label_columns, generator, seed):
        calls.append((len(dataset), dataset.column_names, valid_label_columns))
        return NoDuplicatesBatchSampler(dataset, batch_size, drop_last, valid_label_columns, generator, seed)

    class LargestFirst(MultiDatasetDefaultBatchSampler):
        def __iter__(self):
            starts = [0, *self.dataset.cumulative_sizes]
            for i in sorted(range(len(self.batch_samplers)), key=lambda i: -len(self.dataset.datasets[i])):
                for batch in self.batch_samplers[i]:
                    yield [index + starts[i] for index in batch]

        def __len__(self):
            return sum(len(s) for s in self.batch_samplers)

    small = sbert.load_dataset([(f"s {i}", f"t {i}", i / 6) for i in range(6)], name="small")
    large = sbert.load_dataset([(f"q {i % 5}", f"d {i}") for i in range(12)], name="large")
    args = train_args(
        tmp_path, batch_size=4, batch_sampler=no_duplicates, multi_dataset_batch_sampler=LargestFirst
    )
    model = torch_model(dropout_free_st)
    losses = {"small": sbert.CoSENTLoss(model), "large": sbert.MultipleNegativesRankingLoss(model)}
    trainer = sbert.Trainer(model, {"small": small, "large": large}, losses, args=args)
    labels = ["label", "labels", "score", "scores"]  # sentence-transformers' collator's label columns
    assert calls == [(6, ["text0", "text1", "label"], labels), (12, ["text0", "text1"], labels)]
    batches = trainer.epoch_batches(0)
    owners = [d for d, _ in batches]
    assert len(batches) == 5 and owners[0] == 1 and owners == sorted(owners, reverse=True)
    for _, batch in batches[: owners.count(1)]:  # the large dataset's repeated anchors never share a batch
        texts = [t for column in large.texts(batch) for t in column]
        assert len(texts) == len(set(texts)), texts
    trainer.train()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("batch_sampler", 42),
        ("batch_sampler", "no_such_sampler"),
        ("batch_sampler", sbert.BatchSamplers),  # the enum itself, not one of its members
        ("multi_dataset_batch_sampler", object()),
    ],
)
def test_a_sampler_argument_that_is_neither_a_name_nor_a_callable_names_the_accepted_values(
    tmp_path, name, value
):
    from sbert.sentence_transformer import SentenceTransformerTrainingArguments

    accepted = (
        "DefaultBatchSampler subclass" if name == "batch_sampler" else "MultiDatasetDefaultBatchSampler"
    )
    for make in (
        lambda: train_args(tmp_path, **{name: value}),
        lambda: SentenceTransformerTrainingArguments(str(tmp_path), **{name: value}),
    ):
        with pytest.raises(InputError, match=name) as error:
            make()
        message = str(error.value)
        assert accepted in message and "function" in message
        assert ("no_duplicates" in message) if name == "batch_sampler" else ("round_robin" in message)


def test_a_sampler_function_returning_no_sampler_trains_row_by_row_as_sentence_transformers(
    dropout_free_st, tmp_path
):
    """sentence-transformers' trainer then hands the DataLoader no batch sampler: its defaults batch one row
    at a time, in order. With several datasets there is nothing to combine (it fails there too)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss as ReferenceLoss

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sbert.sentence_transformer.losses import CosineSimilarityLoss

    def no_sampler(dataset, **options):
        return None

    data = Dataset.from_dict({"s1": SENTENCES[:5], "s2": SENTENCES[5:10], "score": [0.1, 0.9, 0.3, 0.7, 0.5]})
    recipe = {"batch_sampler": no_sampler, "per_device_train_batch_size": 4, "num_train_epochs": 1}
    recipe |= {"learning_rate": 1e-2, "save_strategy": "no", "disable_tqdm": True}
    reference = Reference(str(dropout_free_st), device="cpu")
    theirs = ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **recipe),
        train_dataset=data,
        loss=ReferenceLoss(reference),
    ).train()
    model = torch_model(dropout_free_st)
    args = SentenceTransformerTrainingArguments(str(tmp_path / "ours"), **recipe)
    loss = CosineSimilarityLoss
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
    assert [rows.tolist() for _, rows in trainer.epoch_batches(0)] == [[0], [1], [2], [3], [4]]
    assert trainer.train().global_step == theirs.global_step == 5
    expected = dict(reference[0].auto_model.named_parameters())
    for name, value in model[0].auto_model.named_parameters():
        torch.testing.assert_close(value, expected[name], atol=1e-5, rtol=0, msg=name)
    with pytest.raises(InputError, match="no batch sampler"):
        SentenceTransformerTrainer(model=model, args=args, train_dataset={"a": data, "b": data}, loss=loss)


def test_sentence_transformers_arguments_keep_a_callable_and_leave_it_out_of_to_dict(tmp_path):
    from sbert.sentence_transformer import SentenceTransformerTrainingArguments

    sampler = recording_sampler(sbert.DefaultBatchSampler)
    args = SentenceTransformerTrainingArguments(str(tmp_path), batch_sampler=sampler)
    assert args.batch_sampler is sampler and args.to_sbert().batch_sampler is sampler
    assert "batch_sampler" not in args.to_dict() and "multi_dataset_batch_sampler" in args.to_dict()
