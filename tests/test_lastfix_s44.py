"""A difference from sentence-transformers 6.3, each checked against it in the test:

- the trainers on a ``datasets.Dataset`` given ``with_format(columns=[...])``: sentence-transformers' rows
  (and its no-duplicates sampler) hold those columns only; sbert read every stored column and refused the
  dataset. The batches ``compute_loss`` sees over 2 epochs are now sentence-transformers' for column
  subsets and the torch format (sentence-transformers cannot train on numpy or pandas rows: its
  model card's statistics fail on them).
"""

from __future__ import annotations

import warnings

import pytest
from conftest import build_tiny_bert, build_tiny_classifier, classic_pooling, without_dropout, write_st_folder

import sbert

ANCHORS = ["a b", "c d", "a b", "e f", "g h", "c d", "i j", "k l", "a b", "m n", "o p", "q r"]
POSITIVES = ["x", "y", "z", "x", "w", "v", "y", "u", "t", "s", "x", "r"]
EXTRA = [str(i % 3) for i in range(12)]  # duplicates a no-duplicates sampler would see, if it read them
FORMATS = {
    "subset": lambda d: d.with_format(columns=["anchor", "positive", "label"]),
    "subset-reordered": lambda d: d.with_format(columns=["label", "positive", "anchor"]),
    "torch": lambda d: d.remove_columns("extra").with_format("torch"),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("lastfix")
    bert = without_dropout(build_tiny_bert(root / "bert"))
    dense = write_st_folder(bert, root / "st", classic_pooling(32, "mean"))
    cross = without_dropout(build_tiny_classifier(root / "cross"))
    return {"dense": dense, "cross": cross}


def dataset(kind: str):
    import datasets

    columns = {"anchor": ANCHORS, "positive": POSITIVES, "extra": EXTRA}
    if kind == "cross":
        columns["label"] = [float(i % 2) for i in range(len(ANCHORS))]
    else:
        columns["label"] = [0.5] * len(ANCHORS)
    return datasets.Dataset.from_dict(columns)


def batches_seen(lib, kind: str, folder, data, out) -> list:
    """The tensors of every batch ``compute_loss`` got, over 2 epochs of a no-duplicates run."""
    import importlib

    seen = []
    if kind == "dense":
        model = lib.SentenceTransformer(str(folder), device="cpu")
        trainer_class = lib.SentenceTransformerTrainer
        losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
        loss = losses.CoSENTLoss(model)
        args_class = lib.SentenceTransformerTrainingArguments
    else:
        cross = importlib.import_module(f"{lib.__name__}.cross_encoder")
        trainer_class, model = cross.CrossEncoderTrainer, cross.CrossEncoder(str(folder), device="cpu")
        loss = importlib.import_module(f"{lib.__name__}.cross_encoder.losses").BinaryCrossEntropyLoss(model)
        args_class = cross.CrossEncoderTrainingArguments

    class Recording(trainer_class):
        def compute_loss(self, model, inputs, *args, **kwargs):
            seen.append({k: v.tolist() for k, v in sorted(inputs.items()) if hasattr(v, "tolist")})
            return super().compute_loss(model, inputs, *args, **kwargs)

    args = args_class(
        output_dir=str(out), per_device_train_batch_size=4, num_train_epochs=2, seed=7, report_to="none",
        batch_sampler="no_duplicates", save_strategy="no", use_cpu=True, logging_steps=1,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Recording(model=model, args=args, train_dataset=data, loss=loss).train()
    return seen


@pytest.mark.parametrize("kind", ["dense", "cross"])
@pytest.mark.parametrize("form", sorted(FORMATS))
def test_formatted_dataset_batches_match(kind, form, folders, tmp_path):
    import sentence_transformers

    runs = [
        batches_seen(lib, kind, folders[kind], FORMATS[form](dataset(kind)), tmp_path / lib.__name__)
        for lib in (sbert, sentence_transformers)
    ]
    assert runs[0] and runs[0] == runs[1]
