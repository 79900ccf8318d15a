"""The trainers given a DatasetDict (session 44), side by side with sentence-transformers 6.3: with batches
that must say their dataset (a dict of losses), its trainers put a lazy ``dataset_name`` column on each of the
user's datasets (``set_transform``, in place: rows, format and fingerprint change, the stored columns and
lengths do not) and mark the dict; a plain dict becomes the trainer's ``DatasetDict``. sbert left the user's
objects untouched. Training itself (batches, losses, per-dataset eval metrics) already matched."""

from __future__ import annotations

import pytest
from conftest import build_tiny_classifier

WORDS = [f"w{i} x{i * 7 % 5}" for i in range(20)]


def table(start: int, n: int):
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "q": WORDS[start : start + n],
            "d": WORDS[start + 1 : start + 1 + n],
            "label": [float(i % 2) for i in range(n)],
        }
    )


def user_data():
    from datasets import DatasetDict

    return DatasetDict({"a": table(0, 6), "b": table(5, 4)}), DatasetDict(
        {"a": table(1, 3), "b": table(3, 3)}
    )


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce-s44") / "ce1", num_labels=1)


def what_user_sees(data) -> dict:
    """What user code can look at on its DatasetDict (the fingerprint: only whether it moved)."""
    return {
        name: (d.column_names, len(d), d.format["type"], sorted(d[0]), d[:2].get("dataset_name"))
        for name, d in data.items()
    } | {"marked": getattr(data, "_sentence_transformers_preprocessed", None)}


def run(lib: str, path, losses: str, tmp_path, train_too: bool = False):
    import importlib

    ce = importlib.import_module(f"{lib}.cross_encoder")
    bce = importlib.import_module(f"{lib}.cross_encoder.losses").BinaryCrossEntropyLoss
    model = ce.CrossEncoder(str(path), **({"device": "cpu"} if lib == "sentence_transformers" else {}))
    loss = {"a": bce(model), "b": bce(model)} if losses == "dict" else bce(model)
    train, evaluation = user_data()
    prints = {n: d._fingerprint for n, d in {**train, **{f"e{k}": v for k, v in evaluation.items()}}.items()}
    args = ce.CrossEncoderTrainingArguments(
        output_dir=str(tmp_path / lib), max_steps=2, per_device_train_batch_size=2, report_to="none",
        save_strategy="no", use_cpu=True, disable_tqdm=True, eval_strategy="no",
    )  # fmt: skip
    trainer = ce.CrossEncoderTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=evaluation, loss=loss
    )
    seen = {"built": (what_user_sees(train), what_user_sees(evaluation))}
    seen["moved"] = sorted(
        n
        for n, d in {**train, **{f"e{k}": v for k, v in evaluation.items()}}.items()
        if d._fingerprint != prints[n]
    )
    seen["same objects"] = (trainer.train_dataset is train, trainer.eval_dataset is evaluation)
    if train_too:
        trainer.train()
        metrics = trainer.evaluate()
        seen["trained"] = (what_user_sees(train), what_user_sees(evaluation))
        # the per-dataset loss names (eval_<name>_loss), the metrics this behaviour decides
        seen["metrics"] = sorted(k for k in metrics if k.endswith("_loss") or k == "epoch")
    return seen


@pytest.mark.parametrize("losses", ["dict", "one"])
def test_cross_encoder_trainer_leaves_the_users_datasetdict_as_sentence_transformers(
    classifier, tmp_path, losses
):
    """With a dict of losses the user's DatasetDict rows gain ``dataset_name`` and the dict is marked,
    after building and after training, as there; with one loss nothing changes (sbert changed nothing
    either way)."""
    expected = run("sentence_transformers", classifier, losses, tmp_path, train_too=losses == "dict")
    got = run("sbert", classifier, losses, tmp_path, train_too=losses == "dict")
    assert got == expected


def test_a_plain_dict_becomes_the_trainers_datasetdict_and_its_datasets_are_named(tmp_path):
    """A plain dict name -> Dataset with a dict of losses: the trainer keeps a DatasetDict of it, and the
    user's Dataset objects gain the lazy column, as in sentence-transformers' SentenceTransformerTrainer."""
    import sentence_transformers as st
    from conftest import build_tiny_bert, classic_pooling, write_st_folder

    import sbert

    folder = write_st_folder(build_tiny_bert(tmp_path / "bert"), tmp_path / "st", classic_pooling(32, "mean"))

    def seen(lib, losses_module):
        model = lib.SentenceTransformer(str(folder), device="cpu")
        losses = {"a": losses_module.CoSENTLoss(model), "b": losses_module.CoSENTLoss(model)}
        a, b = table(0, 4), table(4, 4)
        args = lib.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / lib.__name__),
            max_steps=1,
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
        )
        trainer = lib.SentenceTransformerTrainer(
            model=model, args=args, train_dataset={"a": a, "b": b}, loss=losses
        )
        second = lib.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=trainer.train_dataset, loss=losses
        )
        second.train()  # the marked dict trains again, its lazy column not read as a text column
        return type(trainer.train_dataset).__name__, what_user_sees({"a": a, "b": b}), a[0]

    from sentence_transformers.sentence_transformer import losses as st_losses

    assert seen(sbert, sbert.losses) == seen(st, st_losses)
