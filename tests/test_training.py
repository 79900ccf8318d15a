"""The Trainer on a tiny model: records, checkpoints, exact resume, killed runs, bad input, fit(), DDP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert, classic_pooling, free_port, torch_model, train_args, write_st_folder

import sbert
from sbert._training import checkpoint

PAIRS = [
    ("the cat sat on the mat", "a dog ran in the house", 0.1),
    ("a man plays guitar", "a woman plays music", 0.8),
    ("the red car is fast", "a blue car is slow", 0.5),
    ("she is happy", "he is sad", 0.3),
    ("they eat food", "we eat food", 0.9),
    ("the weather is lovely today", "it is sunny outside", 0.7),
    ("a big tree", "a small house", 0.2),
] * 2
NLI = [
    ("a man plays guitar", "a man makes music", "entailment"),
    ("the cat sat", "the dog ran", "contradiction"),
    ("she is happy", "she is outside", "neutral"),
] * 4
NLI = [
    {"premise": a, "hypothesis": b, "label": label} for a, b, label in NLI
]  # string labels need named columns


@pytest.fixture(scope="module")
def tiny_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


def test_run_writes_log_checkpoints_best_and_card(tiny_path, tmp_path):
    model = torch_model(tiny_path)
    train = sbert.load_dataset(NLI, name="toy-nli")
    sts = sbert.load_dataset(PAIRS, name="toy-sts")
    evaluator = sbert.EmbeddingSimilarityEvaluator(*sts.columns.values(), sts.labels, name="dev")
    torch.manual_seed(0)
    losses = {"toy-nli": sbert.SoftmaxLoss(model, num_labels=3), "toy-sts": sbert.CosineSimilarityLoss(model)}
    args = train_args(
        tmp_path / "run", eval_steps=3, save_steps=3, save_total_limit=2, plot=True, save_final_model=True
    )
    out = sbert.Trainer(
        model, {"toy-nli": train, "toy-sts": sts}, losses, args=args, evaluator=evaluator
    ).train()
    run = tmp_path / "run"
    assert out.global_step == 3 + 4  # ceil(12 / 4) + ceil(14 / 4)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == list(range(1, 8))
    assert any("dev_spearman_cosine" in r for r in records)
    assert [p.name for p in checkpoint.list_checkpoints(run)] == ["checkpoint-6", "checkpoint-7"]
    assert json.loads((run / "label_mapping.json").read_text()) == {
        "toy-nli": {"contradiction": 0, "entailment": 1, "neutral": 2}
    }
    assert json.loads((run / "eval_results.json").read_text()) == out.eval_results
    card = (run / "final" / "README.md").read_text()
    for text in (
        "## Training",
        "SoftmaxLoss(num_labels=3",
        "CosineSimilarityLoss(loss_fct=torch.nn.modules.loss.MSELoss, cos_score_transformation=",
        # sbert's own Trainer cites as sentence-transformers' does: the library, joined with the one loss
        # class sharing its entry, and each other loss's paper (CosineSimilarityLoss has none)
        "#### Sentence Transformers and SoftmaxLoss\n```bibtex\n@inproceedings{reimers-2019-sentence-bert",
        "toy-nli (12 examples",
        "learning_rate=0.001",
        "Labels of toy-nli**: 0: contradiction, 1: entailment, 2: neutral",
        "| dev_spearman_cosine |",
        "![training curve](training_curve.png)",
    ):
        assert text in card, text
    # a local folder is no base model, as in sentence-transformers' card (it records hub models only)
    assert "**Base model**" not in card and "base_model:" not in card
    assert (run / "final" / "training_curve.png").stat().st_size > 1000
    assert (run / "best" / "modules.json").is_file()
    reloaded = sbert.SentenceTransformer(run / "final", backend="torch")
    assert np.allclose(reloaded.encode(["a cat"]), model.encode(["a cat"]), atol=1e-6)


class _Interrupt(Exception):
    pass


def test_resume_from_checkpoint_gives_identical_weights(tiny_path, tmp_path):
    def run(out, stop_after=None, resume=False):
        model = torch_model(tiny_path)
        torch.manual_seed(0)
        loss = sbert.SoftmaxLoss(model, num_labels=3)  # its classifier is state the checkpoint must carry
        trainer = sbert.Trainer(
            model,
            sbert.load_dataset(NLI),
            loss,
            args=train_args(out, epochs=2, save_steps=2, resume=resume),
        )
        if stop_after is not None:
            original, calls = trainer._step, [0]

            def step(*a, **k):
                if calls[0] == stop_after:
                    raise _Interrupt
                calls[0] += 1
                return original(*a, **k)

            trainer._step = step
        trainer.train()
        return model, loss

    full, full_loss = run(tmp_path / "full")
    with pytest.raises(_Interrupt):
        run(tmp_path / "cut", stop_after=5)  # steps 1-5 done, last checkpoint at step 4 (mid-epoch 2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "cut")][-1] == "checkpoint-4"
    # the same checkpoint as an older sbert wrote it: zero-padded name, the model in model/, no trainer_state
    old = tmp_path / "old" / "checkpoint-000004"
    shutil.copytree(tmp_path / "cut" / "checkpoint-4", old)
    # ... and all its resume state in training_state.pt (the torch random state under "torch")
    tensors = checkpoint.load(old)[1]
    tensors["rng"] = [{"torch": state["cpu"]} for state in tensors["rng"]]
    torch.save(tensors, old / "training_state.pt")
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        (old / name).unlink()
    (old / "model").mkdir()
    for entry in list(old.iterdir()):
        if entry.name == "trainer_state.json":
            entry.unlink()
        elif entry.name not in ("model", "state.json", "training_state.pt"):
            entry.rename(old / "model" / entry.name)
    resumed, resumed_loss = run(tmp_path / "cut", resume=True)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert torch.equal(full_loss.classifier.weight, resumed_loss.classifier.weight)
    from_old, from_old_loss = run(tmp_path / "old", resume=True)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "old")] == [
        "checkpoint-000004",
        "checkpoint-6",
    ]
    for (name, a), b in zip(full.state_dict().items(), from_old.state_dict().values()):
        assert torch.equal(a, b), name
    assert torch.equal(full_loss.classifier.weight, from_old_loss.classifier.weight)
    # the log history of the resumed run goes on from the checkpoint's, as Hugging Face's trainer's
    history = [
        json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())["log_history"]
        for out in (tmp_path / "full", tmp_path / "cut")
    ]
    assert history[0] == history[1] and [r["step"] for r in history[0]] == list(range(1, 7))

    def log(p):
        return [
            (r["step"], r["loss"]) for r in map(json.loads, (p / "metrics.jsonl").read_text().splitlines())
        ]

    assert log(tmp_path / "full") == log(tmp_path / "cut")


def test_bad_input_is_refused_before_training(tiny_path, tmp_path):
    model = torch_model(tiny_path)
    raw_scores = sbert.load_dataset([("a", "b", 4.0), ("c", "d", 2.0)])
    with pytest.raises(sbert.InputError, match=r"CosineSimilarityLoss.*score_range"):
        sbert.Trainer(model, raw_scores, sbert.CosineSimilarityLoss(model), args=train_args(tmp_path / "x"))
    with pytest.raises(sbert.InputError, match="TripletLoss takes 3 text columns, the data has 2"):
        sbert.Trainer(model, raw_scores, sbert.TripletLoss(model), args=train_args(tmp_path / "x"))
    with pytest.raises(sbert.InputError, match="row 0 has class 5"):
        sbert.Trainer(
            model,
            sbert.load_dataset([("a", "b", 5)]),
            sbert.SoftmaxLoss(model, num_labels=3),
            args=train_args(tmp_path / "x"),
        )
    with pytest.raises(sbert.InputError, match="learning_rate"):
        train_args(tmp_path / "x", learning_rate=0)
    assert not (tmp_path / "x").exists()


def test_fit_and_bf16_autocast(tiny_path, tmp_path):
    model = torch_model(tiny_path)
    before = model.encode(["a cat"])
    seen = []  # the dtype of every linear layer's output inside the encoder while training
    hooks = [
        layer.register_forward_hook(lambda module, args, output: seen.append((module.training, output.dtype)))
        for layer in model[0].auto_model.modules()
        if isinstance(layer, torch.nn.Linear)
    ]
    try:
        out = model.fit(
            [(sbert.load_dataset(PAIRS), sbert.MultipleNegativesRankingLoss(model))],
            output_path=tmp_path,
            batch_size=4,
            precision="bf16",
            show_progress_bar=False,
            plot=False,
            learning_rate=1e-3,
            warmup_ratio=0.1,
        )
    finally:
        for hook in hooks:
            hook.remove()
    training = [dtype for is_training, dtype in seen if is_training]
    assert training and set(training) == {torch.bfloat16}, set(training)  # the encoder really ran in bf16
    assert next(model[0].auto_model.parameters()).dtype == torch.float32  # master weights stay fp32
    assert out.global_step == 4 and np.isfinite(out.training_loss)
    assert not np.allclose(model.encode(["a cat"]), before)
    assert (tmp_path / "modules.json").is_file()  # as sentence-transformers' fit: the model in output_path


def test_sentences_dataset_of_old_scripts_is_read_as_its_examples(tiny_path):
    from torch.utils.data import DataLoader

    from sbert._training.fit_inputs import objective_dataset

    scored = [sbert.InputExample(texts=[a, b], label=score) for a, b, score in PAIRS]
    dataset = sbert.SentencesDataset(scored, torch_model(tiny_path))
    assert len(dataset) == len(scored) and dataset[1] is scored[1]
    data, batch_size = objective_dataset(DataLoader(dataset, shuffle=True, batch_size=3), 0)
    assert batch_size == 3 and len(data) == len(scored)


def test_classic_fit_distills_onto_teacher_vectors_in_input_example_labels(tiny_path, tmp_path):
    """The old multilingual-distillation pattern: InputExample(texts=[sentence], label=teacher_embedding)
    with MSELoss (what sentence-transformers' ParallelSentencesDataset yields)."""
    from torch.utils.data import DataLoader

    model = torch_model(tiny_path)
    sentences = [a for a, _, _ in PAIRS] + [b for _, b, _ in PAIRS]
    teacher = np.random.default_rng(0).standard_normal((len(sentences), 32)).astype(np.float32) * 0.1
    examples = [sbert.InputExample(texts=[s], label=t) for s, t in zip(sentences, teacher)]
    before = float(((model.encode(sentences) - teacher) ** 2).mean())
    loader = DataLoader(examples, shuffle=True, batch_size=4)
    options = {"epochs": 3, "warmup_steps": 0, "optimizer_params": {"lr": 1e-3}, "output_path": str(tmp_path)}
    model.fit([(loader, sbert.MSELoss(model))], **options, show_progress_bar=False, plot=False)
    assert float(((model.encode(sentences) - teacher) ** 2).mean()) < before
    with pytest.raises(sbert.InputError, match="different lengths"):
        model.fit(
            [
                (
                    [
                        sbert.InputExample(texts=["a"], label=[0.0, 1.0]),
                        sbert.InputExample(texts=["b"], label=[1.0]),
                    ],
                    None,
                )
            ]
        )


def test_parallel_sentences_dataset_reads_what_sentence_transformers_reads(tiny_path, tmp_path):
    import gzip

    from sentence_transformers import ParallelSentencesDataset as Reference

    lines = [
        "a cat\teine katze\tun gato",
        "a dog\tein hund",
        "a cat\tkatze",
        "x" * 200 + "\ty",
        "a bird\ta bird",
    ]
    path = tmp_path / "en-de.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    teacher = torch_model(tiny_path)
    ours = sbert.ParallelSentencesDataset(student_model=teacher, teacher_model=teacher)
    ours.load_data(str(path))
    ref = Reference(student_model=None, teacher_model=teacher)
    ref.load_data(str(path))
    assert len(ours) == ref.num_sentences == 7
    assert {src: set(s) for src, s in ours.groups} == {src: set(s) for src, s in ref.datasets[0]}
    first = ours[0]  # fills the cache: each source line 100 times (its weight), shuffled
    by_text = {e.texts[0]: e.label for e in [first, *ours.cache]}
    np.testing.assert_allclose(by_text["katze"], teacher.encode("a cat"), atol=1e-6)
    np.testing.assert_allclose(by_text["a bird"], teacher.encode("a bird"), atol=1e-6)
    with pytest.raises(sbert.InputError, match="load_data"):
        sbert.ParallelSentencesDataset(teacher, teacher)[0]


def test_classic_data_classes_batch_as_sentence_transformers_asks(tiny_path, tmp_path):
    """sentence_transformers.datasets: NoDuplicatesDataLoader (in-batch negatives), SentenceLabelDataset
    (batch triplets) and DenoisingAutoEncoderDataset (TSDAE), as classic scripts use them."""
    import random

    from sentence_transformers import InputExample as Example
    from sentence_transformers.sentence_transformer.datasets import NoDuplicatesDataLoader as Reference

    from sbert import datasets
    from sbert._training.fit_inputs import fit_arguments, loader_batch_sampler

    random.seed(0)
    examples = [sbert.InputExample(texts=[a, b]) for a, b, _ in PAIRS] * 2  # every text twice
    loader = datasets.NoDuplicatesDataLoader(examples, batch_size=4)
    batches = list(loader)
    assert sorted(id(e) for b in batches for e in b) == sorted(id(e) for e in examples)
    for batch in batches:
        texts = [t for e in batch for t in e.texts]
        assert len(texts) == len(set(texts))
    reference = Reference([Example(texts=e.texts) for e in examples], batch_size=4)
    assert loader_batch_sampler(loader) == loader_batch_sampler(reference) == "no_duplicates"
    labelled = datasets.SentenceLabelDataset([sbert.InputExample(texts=["a"], label=1)] * 4)
    assert loader_batch_sampler(labelled) == "group_by_label"
    assert fit_arguments({}, [4], ["no_duplicates", None])["batch_sampler"] == "no_duplicates"
    with pytest.raises(sbert.InputError, match="different batch samplers"):
        fit_arguments({}, [4], ["no_duplicates", "group_by_label"])

    model = torch_model(tiny_path)
    out = model.fit(
        [(loader, sbert.MultipleNegativesRankingLoss(model))],
        output_path=str(tmp_path),
        plot=False,
        warmup_steps=1,
    )
    assert out.global_step == len(loader) and np.isfinite(out.training_loss)

    noisy = datasets.DenoisingAutoEncoderDataset(["the cat sat on the warm mat today"])
    damaged, original = noisy[0].texts
    assert original == "the cat sat on the warm mat today" and 1 <= len(damaged.split()) <= 8
    assert set(damaged.split()) <= set(original.split())
    assert datasets.DenoisingAutoEncoderDataset(["a b"], noise_fn=str.upper)[0].texts == ["A B", "a b"]


def test_classic_fit_takes_dataloaders_of_input_examples(tiny_path, tmp_path):
    """sentence-transformers' classic tutorial call: InputExamples in a DataLoader (its batch size is the
    batch size), classic argument names mapped onto the trainer's, unsupported ones refused by name."""
    from torch.utils.data import DataLoader

    model = torch_model(tiny_path)
    before = model.encode(["a cat"])
    scored = [sbert.InputExample(texts=[a, b], label=score) for a, b, score in PAIRS]
    loader = DataLoader(scored, shuffle=True, batch_size=3)
    out = model.fit(
        train_objectives=[(loader, sbert.CosineSimilarityLoss(model))],
        epochs=2,
        warmup_steps=1,
        optimizer_params={"lr": 1e-3},
        evaluation_steps=0,
        checkpoint_save_total_limit=1,
        output_path=str(tmp_path / "out"),
        show_progress_bar=False,
        plot=False,
    )
    assert out.global_step == 2 * -(-len(scored) // 3) and np.isfinite(out.training_loss)
    assert not np.allclose(model.encode(["a cat"]), before)
    card = (tmp_path / "out" / "README.md").read_text()  # the model itself in output_path, as there
    assert "learning_rate" in card and "0.001" in card
    # SentenceTransformer(output_path) loads the trained model, as after sentence-transformers' fit
    np.testing.assert_allclose(
        sbert.SentenceTransformer(tmp_path / "out").encode(["a cat"]), model.encode(["a cat"]), atol=1e-5
    )
    with pytest.raises(sbert.InputError, match="optimizer_params amsgrad=True"):
        model.fit(
            [(loader, sbert.CosineSimilarityLoss(model))], optimizer_params={"lr": 1e-3, "amsgrad": True}
        )
    with pytest.raises(sbert.InputError, match="scheduler='Polynomial' is not one of"):
        model.fit([(loader, sbert.CosineSimilarityLoss(model))], scheduler="Polynomial")
    with pytest.raises(sbert.InputError, match="different numbers of texts"):
        model.fit([([sbert.InputExample(texts=["a"]), sbert.InputExample(texts=["a", "b"])], None)])


KILLED_RUN = """
import sys, sbert
model = sbert.SentenceTransformer(sys.argv[1], backend="torch", device="cpu")
pairs = [("the cat sat", "a dog ran", 0.2), ("a man plays guitar", "a woman plays music", 0.8)] * 400
args = sbert.TrainingArguments(output_dir=sys.argv[2], batch_size=2, save_steps=1, save_total_limit=2,
                               show_progress_bar=False, plot=False, logging_steps=1, warmup_steps=40,
                               learning_rate=1e-3)
sbert.Trainer(model, sbert.load_dataset(pairs), sbert.CosineSimilarityLoss(model), args=args).train()
"""


@pytest.mark.slow
def test_killed_run_leaves_the_last_complete_checkpoint_loadable(tiny_path, tmp_path):
    out = tmp_path / "run"
    log = open(tmp_path / "stderr.txt", "wb")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(tiny_path), str(out)], stdout=subprocess.DEVNULL, stderr=log
    )

    def newest_step() -> int:
        found = checkpoint.list_checkpoints(out)
        return int(found[-1].name.split("-")[1]) if found else 0

    def writing() -> bool:  # a checkpoint is being written (or an old one deleted): its hidden folder exists
        return any(p.name.startswith(".") for p in out.iterdir())

    try:
        deadline = time.time() + 90
        while time.time() < deadline and newest_step() < 3 and process.poll() is None:
            time.sleep(0.05)
        deadline = time.time() + 30  # then kill in the middle of the next checkpoint write
        while time.time() < deadline and not writing() and process.poll() is None:
            time.sleep(0.002)
        assert process.poll() is None, (tmp_path / "stderr.txt").read_text()[-2000:]
    finally:
        process.kill()
        process.wait()
        log.close()
    found = checkpoint.list_checkpoints(out)
    assert found, sorted(p.name for p in out.iterdir())
    last = found[-1]
    saved = sbert.SentenceTransformer(last, backend="torch")
    state, tensors = checkpoint.load(last)
    assert state["step"] == int(last.name.split("-")[1]) and "optimizer" in tensors
    # its weights are those of the run after state["step"] steps: the same run, stopped there, in this process
    # (still in the warm-up, so stopping early does not change the learning-rate schedule)
    pairs = [("the cat sat", "a dog ran", 0.2), ("a man plays guitar", "a woman plays music", 0.8)] * 400
    reference = sbert.SentenceTransformer(tiny_path, backend="torch")
    sbert.Trainer(
        reference,
        sbert.load_dataset(pairs),
        sbert.CosineSimilarityLoss(reference),
        args=train_args(
            tmp_path / "reference", batch_size=2, save_steps=0, warmup_steps=40, max_steps=state["step"]
        ),
    ).train()
    texts = ["a cat", "the man plays music"]
    np.testing.assert_allclose(saved.encode(texts), reference.encode(texts), atol=1e-6, rtol=0)
    assert np.abs(saved.encode(texts) - torch_model(tiny_path).encode(texts)).max() > 1e-4  # it did train
    # and the run resumes from it
    model = sbert.SentenceTransformer(tiny_path, backend="torch")
    trainer = sbert.Trainer(
        model,
        sbert.load_dataset(pairs),
        sbert.CosineSimilarityLoss(model),
        args=train_args(
            out, batch_size=2, save_steps=1, resume=True, max_steps=state["step"] + 1, warmup_steps=40
        ),
    )
    assert trainer.train().global_step == state["step"] + 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # leftovers of the killed write are gone


# The torchrun tests share two launches (one process, two gloo processes), as starting Python, torch and
# the libraries in each process is most of their time. Each part writes its own results; the tests read them.
GLOO_RUN = """
import importlib, json, os, sys
import torch
import torch.distributed as dist
import sbert
from sbert._training import distributed


def cosine_training(model_path, out):
    model = sbert.SentenceTransformer(model_path, backend="torch", device="cpu")
    pairs = [("the cat sat on the mat", "a dog ran", 0.1), ("a man plays guitar", "a woman plays music", 0.8),
             ("the red car is fast", "a blue car is slow", 0.5), ("she is happy", "he is sad", 0.3),
             ("they eat food", "we eat food", 0.9)] * 4
    args = sbert.TrainingArguments(output_dir=out, batch_size=8, learning_rate=1e-3,
                                   show_progress_bar=False, plot=False, logging_steps=1, save_steps=0,
                                   save_final_model=False, epochs=2)
    loss = sbert.CosineSimilarityLoss(model)
    result = sbert.Trainer(model, sbert.load_dataset(pairs), loss, args=args).train()
    if distributed.rank() == 0:
        weights = torch.cat([p.detach().flatten() for p in model.parameters()])
        found = {"loss": result.training_loss, "norm": weights.norm().item(), "weights": weights.tolist()}
        with open(out + ".json", "w") as f:
            json.dump(found, f)


def gathered_negatives(model_path, out):
    model = sbert.SentenceTransformer(model_path, backend="torch", device="cpu")  # eval mode: no dropout
    anchors = ["the cat sat on the mat", "a man plays guitar", "the red car is fast", "she is happy",
               "they eat food", "the weather is lovely today", "a big tree", "a dog ran in the house",
               "he is sad"]
    positives = ["a cat sat", "a woman plays music", "a blue car is slow", "she is sad", "we eat food",
                 "it is sunny outside", "a small tree", "a dog runs", "he is happy"]
    negatives = ["the weather is bad", "they eat", "a big house", "the music was bad", "a red car",
                 "the cat ran", "she walked", "the food is good", "it is green"]
    columns = [anchors, positives, negatives]
    distributed.init_from_environment("cpu")
    # 1. one loss and its gradients: each process takes its share of a global batch of 7 (4 + 3 rows)
    loss = sbert.MultipleNegativesRankingLoss(model, gather_across_devices=True)
    rows = list(range(7))[distributed.shard(7)]
    features = [model.tokenize([column[i] for i in rows]) for column in columns]
    value = loss(features, None) * len(rows) / 7
    value.backward()
    params = list(model.parameters())
    distributed.sum_gradients(params)
    grads = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])
    with torch.no_grad():  # without gathering, each process ranks among its own rows only
        own = sbert.MultipleNegativesRankingLoss(model)(features, None) * len(rows) / 7
    step = {"loss": distributed.sum_scalar(value.item()), "grads": grads.tolist(),
            "own": distributed.sum_scalar(own.item())}
    for p in params:
        p.grad = None
    # 2. training with gathered negatives; 9 rows in batches of 4: the last batch leaves one process no rows
    args = sbert.TrainingArguments(output_dir=out, batch_size=4, learning_rate=1e-3,
                                   show_progress_bar=False, plot=False, logging_steps=1, save_steps=0,
                                   save_final_model=False, epochs=2)
    result = sbert.Trainer(model, sbert.load_dataset(list(zip(*columns))), loss, args=args).train()
    if distributed.rank() == 0:
        weights = torch.cat([p.detach().flatten() for p in model.parameters()])
        with open(out + ".json", "w") as f:
            json.dump({"step": step, "loss": result.training_loss, "weights": weights[:2000].tolist()}, f)


def per_device_batches(model_path, out):
    from datasets import Dataset

    data = Dataset.from_dict(
        {"anchor": [f"a{i} b" for i in range(8)], "positive": [f"p{i}" for i in range(8)]}
    )
    result = {}
    for name in ("sentence_transformers", "sbert"):
        library = importlib.import_module(name)
        losses = importlib.import_module(name + ".losses")
        model = library.SentenceTransformer(model_path, device="cpu")
        rows = []

        class Counting(losses.MultipleNegativesRankingLoss):
            def forward(self, features, labels):
                rows.append(int(features[0]["input_ids"].shape[0]))
                return super().forward(features, labels)

        args = library.SentenceTransformerTrainingArguments(
            output_dir=out + name, per_device_train_batch_size=2, num_train_epochs=1, report_to="none",
            save_strategy="no", use_cpu=True, disable_tqdm=True, seed=1,
        )
        trainer = library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=Counting(model)
        )
        trainer.train()
        result[name] = {"steps": trainer.state.global_step, "rows": rows}
    with open(f"{out}.json.{os.environ['RANK']}", "w") as f:
        json.dump(result, f)


dropout_free, tiny, out = sys.argv[1:4]
cosine_training(dropout_free, out + "/cosine")
gathered_negatives(dropout_free, out + "/mnrl")
if distributed.launch_world_size() > 1:
    per_device_batches(tiny, out + "/per_device")
if dist.is_initialized():  # a gloo group left alive aborts the process at exit ("terminate called ...")
    dist.barrier()
    dist.destroy_process_group()
"""


def run_script(script: Path, *args: Path, processes: int) -> None:
    """Run a script with ``args``: in one process, or under torchrun with ``processes`` gloo processes on a
    free port."""
    launch = [sys.executable]
    if processes > 1:
        launch += [
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            f"--master_port={free_port()}",
        ]
    result = subprocess.run(
        [*launch, str(script), *map(str, args)],
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def dropout_free_st_folder(tmp_path):
    """A tiny mean-pooling model without dropout: one process on a batch and several on its parts then
    compute the same thing."""
    bert = build_tiny_bert(tmp_path / "bert")
    config = json.loads((bert / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (bert / "config.json").write_text(json.dumps(config))
    return write_st_folder(bert, tmp_path / "st", classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def gloo_runs(tiny_path, tmp_path_factory):
    """The torchrun script run once in one process (``one/``) and once in two gloo processes (``two/``),
    on the dropout-free folder (and the tiny one for the per-device part, two processes only)."""
    root = tmp_path_factory.mktemp("gloo")
    path = dropout_free_st_folder(root)
    script = root / "gloo_run.py"
    script.write_text(GLOO_RUN)
    for name, processes in (("one", 1), ("two", 2)):
        (root / name).mkdir()
        run_script(script, path, tiny_path, root / name, processes=processes)
    return root, path


@pytest.mark.slow
def test_two_process_gloo_ddp_matches_one_process(gloo_runs):
    # Dropout off, so one process on the global batch and two on halves compute the same thing.
    root, path = gloo_runs
    initial = torch.cat([p.detach().flatten() for p in torch_model(path).parameters()]).numpy()
    one, two = (json.loads((root / n / "cosine.json").read_text()) for n in ("one", "two"))
    print(f"1 process: mean loss {one['loss']:.6f}; 2 processes (gloo): {two['loss']:.6f}")
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-4)
    one_weights, two_weights = np.array(one["weights"]), np.array(two["weights"])
    changed = np.abs(one_weights - initial) > 1e-4  # the weights training moved (not [PAD], say)
    assert changed.sum() > 0.5 * len(initial), changed.sum()
    np.testing.assert_allclose(two_weights, one_weights, atol=1e-5, rtol=0)  # all of them, moved or not
    assert two["norm"] == pytest.approx(one["norm"], rel=1e-6)
    assert abs(one["norm"] - float(np.linalg.norm(initial))) > 1e-3
    logs = [
        [
            json.loads(line)["loss"]
            for line in (root / n / "cosine" / "metrics.jsonl").read_text().splitlines()
        ]
        for n in ("one", "two")
    ]
    assert np.allclose(*logs, rtol=1e-4)


@pytest.mark.slow
def test_gathered_in_batch_negatives_across_two_processes_equal_one_process(gloo_runs):
    """MultipleNegativesRankingLoss(gather_across_devices=True) on 2 gloo processes, each holding part of the
    batch, gives the loss, gradients and training run of one process on the whole batch."""
    root, _ = gloo_runs
    one, two = (json.loads((root / n / "mnrl.json").read_text()) for n in ("one", "two"))
    print(
        f"one step: 1 process {one['step']['loss']:.7f}, 2 processes gathered {two['step']['loss']:.7f}; "
        f"training: {one['loss']:.6f} vs {two['loss']:.6f}"
    )
    assert two["step"]["loss"] == pytest.approx(one["step"]["loss"], abs=1e-6)
    assert np.allclose(two["step"]["grads"], one["step"]["grads"], atol=1e-6)
    assert np.abs(one["step"]["grads"]).max() > 1e-3
    assert abs(two["step"]["own"] - one["step"]["loss"]) > 1e-3  # not gathering would differ
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-4)
    assert np.allclose(one["weights"], two["weights"], atol=1e-5)
    logs = [
        [json.loads(line)["loss"] for line in (root / n / "mnrl" / "metrics.jsonl").read_text().splitlines()]
        for n in ("one", "two")
    ]
    assert len(logs[0]) == 6 and np.allclose(*logs, rtol=1e-4)


@pytest.mark.slow
def test_per_device_batch_size_under_torchrun_as_sentence_transformers(gloo_runs):
    """Under torchrun, SentenceTransformerTrainingArguments' per_device_train_batch_size is each process's
    rows per step, as in sentence-transformers' trainer (Hugging Face's): 8 rows on 2 processes with 2
    each make 2 steps of 2 rows per process (sbert's global batch is that times the processes). Here the
    process group already exists when the trainers start (the earlier parts made it)."""
    root, _ = gloo_runs
    for rank in (0, 1):
        result = json.loads((root / "two" / f"per_device.json.{rank}").read_text())
        assert result["sentence_transformers"] == {"steps": 2, "rows": [2, 2]}
        assert result["sbert"] == result["sentence_transformers"]


def test_one_dataset_is_batched_in_sentence_transformers_trainer_order(tiny_path, tmp_path):
    """Same seed, same batches as sentence-transformers' trainer (recorded from its real run, 2 epochs)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses

    rows = 37  # not a multiple of the batch size: the short last batch must match too
    scores = [i / rows for i in range(rows)]  # each row recognisable by its score
    seen: list[list[int]] = []

    class Recording(losses.CosineSimilarityLoss):
        def forward(self, features, labels):
            seen.append([round(float(x) * rows) for x in labels])
            return super().forward(features, labels)

    reference = ReferenceModel(str(tiny_path), device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "st"),
        per_device_train_batch_size=8,
        num_train_epochs=2,
        seed=3,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    data = Dataset.from_dict({"sentence1": ["a cat"] * rows, "sentence2": ["a dog"] * rows, "score": scores})
    SentenceTransformerTrainer(
        model=reference, args=args, train_dataset=data, loss=Recording(reference)
    ).train()

    model = torch_model(tiny_path)
    pairs = sbert.load_dataset([("a cat", "a dog", s) for s in scores])
    trainer = sbert.Trainer(
        model,
        pairs,
        sbert.CosineSimilarityLoss(model),
        args=train_args(tmp_path / "x", batch_size=8, seed=3, epochs=2),
    )
    ours = [[int(i) for i in batch] for epoch in (0, 1) for _, batch in trainer.epoch_batches(epoch)]
    assert ours == seen


def test_softmax_training_equals_sentence_transformers_trainer_without_dropout(tmp_path):
    """Same seed, data, recipe and (dropout-free) model: sentence-transformers' trainer and ours end with the
    same encoder and classifier weights. This pins batch order, classifier init, warm-up schedule, AdamW and
    clipping (the model's gradients only, the classifier's left unclipped, as Hugging Face's trainer does)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses

    path = dropout_free_st_folder(tmp_path)
    labels = ["contradiction", "entailment", "neutral"]
    rows = [
        (a, b, labels.index(label))
        for a, b, label in ((r["premise"], r["hypothesis"], r["label"]) for r in NLI)
    ]
    recipe = {"batch_size": 4, "learning_rate": 5e-3, "warmup_ratio": 0.25, "seed": 1, "weight_decay": 0.0}
    clip = 0.05  # small, so clipping acts on every step and which gradients it covers matters

    reference = ReferenceModel(str(path), device="cpu")
    torch.manual_seed(recipe["seed"])
    reference_loss = losses.SoftmaxLoss(reference, 32, num_labels=3)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "st"),
        per_device_train_batch_size=recipe["batch_size"],
        learning_rate=recipe["learning_rate"],
        warmup_ratio=recipe["warmup_ratio"],
        num_train_epochs=2,
        seed=recipe["seed"],
        weight_decay=0.0,
        max_grad_norm=clip,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    data = Dataset.from_dict(
        {"sentence1": [r[0] for r in rows], "sentence2": [r[1] for r in rows], "label": [r[2] for r in rows]}
    )
    SentenceTransformerTrainer(model=reference, args=args, train_dataset=data, loss=reference_loss).train()

    model = torch_model(path)
    torch.manual_seed(recipe["seed"])
    loss = sbert.SoftmaxLoss(model, num_labels=3)
    sbert.Trainer(
        model,
        sbert.load_dataset(rows),
        loss,
        args=train_args(tmp_path / "ours", epochs=2, max_grad_norm=clip, **recipe),
    ).train()

    ours = dict(model[0].auto_model.named_parameters())
    theirs = dict(reference[0].auto_model.named_parameters())
    assert ours.keys() == theirs.keys()
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, atol=2e-5, rtol=1e-4, msg=name)
    torch.testing.assert_close(loss.classifier.weight, reference_loss.classifier.weight, atol=2e-5, rtol=1e-4)


def test_dropout_follows_sentence_transformers_trainer_with_one_forward_per_column(
    tiny_path, tmp_path, monkeypatch
):
    """With dropout on, the one thing left between the trainers is how rows are batched into forward passes:
    with one forward per column (sentence-transformers' way) the random streams, and so the weights, agree."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses

    import sbert._losses.base

    assert json.loads((tiny_path / "config.json").read_text())["hidden_dropout_prob"] > 0
    monkeypatch.setattr(sbert._losses.base, "_merge", lambda model, features_list: None)
    rows = [(a, b, score) for a, b, score in PAIRS]
    reference = ReferenceModel(str(tiny_path), device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "st"),
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        num_train_epochs=2,
        seed=5,
        warmup_ratio=0.1,
        weight_decay=0.0,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    data = Dataset.from_dict(
        {"sentence1": [r[0] for r in rows], "sentence2": [r[1] for r in rows], "score": [r[2] for r in rows]}
    )
    SentenceTransformerTrainer(
        model=reference, args=args, train_dataset=data, loss=losses.CosineSimilarityLoss(reference)
    ).train()

    model = torch_model(tiny_path)
    sbert.Trainer(
        model,
        sbert.load_dataset(rows),
        sbert.CosineSimilarityLoss(model),
        args=train_args(tmp_path / "ours", epochs=2, seed=5, warmup_ratio=0.1, weight_decay=0.0),
    ).train()
    theirs = dict(reference[0].auto_model.named_parameters())
    for name, value in model[0].auto_model.named_parameters():
        torch.testing.assert_close(value, theirs[name], atol=2e-5, rtol=1e-4, msg=name)


def test_losses_are_moved_to_the_models_device(tiny_path, tmp_path):
    """A loss's own weights and buffers (a pos_weight, a classifier head) follow the model to its device, as
    sentence-transformers' trainer moves them; on a GPU a CPU pos_weight would fail the first step."""
    model = torch_model(tiny_path)
    moved = []

    class Recording(sbert.MultipleNegativesRankingLoss):
        def to(self, *args, **kwargs):
            moved.append(torch.device(*args))
            return super().to(*args, **kwargs)

    sbert.Trainer(model, sbert.load_dataset(PAIRS), Recording(model), args=train_args(tmp_path / "run"))
    assert moved == [torch.device(model.device)]


def test_learning_rate_mapping_sets_the_rates_of_matching_parameters(tiny_path, tmp_path):
    model = torch_model(tiny_path)
    args = train_args(tmp_path / "run")
    args.learning_rate_mapping = {"encoder.layer.0.": 1e-3, r"\.embeddings\.": 5e-4}
    trainer = sbert.Trainer(
        model, sbert.load_dataset(PAIRS), sbert.MultipleNegativesRankingLoss(model), args=args
    )
    optimizer = trainer._optimizer()
    rate_of = {
        id(p): group.get("lr", args.learning_rate)
        for group in optimizer.param_groups
        for p in group["params"]
    }
    names = dict(model.named_parameters())
    assert rate_of[id(names["0.model.encoder.layer.0.output.dense.weight"])] == 1e-3
    assert rate_of[id(names["0.model.embeddings.word_embeddings.weight"])] == 5e-4
    assert rate_of[id(names["0.model.encoder.layer.1.output.dense.weight"])] == args.learning_rate
    with pytest.raises(sbert.InputError, match="no parameter matches 'nothing-here'"):
        args.learning_rate_mapping = {"nothing-here": 1e-3}
        sbert.Trainer(
            model, sbert.load_dataset(PAIRS), sbert.MultipleNegativesRankingLoss(model), args=args
        )._optimizer()
    for bad in ("not json", {"(": 1e-3}, {"embeddings": -1}):
        with pytest.raises(sbert.InputError, match="learning_rate_mapping"):
            sbert.TrainingArguments(output_dir=str(tmp_path), learning_rate_mapping=bad)
