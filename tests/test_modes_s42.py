"""Train / eval mode and pipeline edits of the four model classes, compared with sentence-transformers 6.3 on
the same tiny folders: a loaded model is in training mode (its own modules' flags set, a Hugging Face model
inside in eval as ``from_pretrained`` leaves it) until the first encode / predict, also where sbert runs an
ONNX graph and no torch module is loaded; its trainers leave it as Hugging Face's loop does (training mode,
eval where an evaluation followed the last step)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_bert, build_tiny_classifier, classic_pooling, write_st_folder

import sbert

TEXTS = ["The weather is lovely today.", "a dog runs in the park"]
PAIRS = [(text, "a dog in the park") for text in TEXTS]
DENSE = {"in_features": 32, "out_features": 16, "bias": True,
         "activation_function": "torch.nn.modules.activation.Tanh"}  # fmt: skip
KINDS = ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]


@pytest.fixture(scope="module")
def folders(tiny_bert, masked_lm, tmp_path_factory):
    """A dense (mean pooling, Dense, Normalize), a cross-encoder, a SPLADE and a multi-vector folder."""
    root = tmp_path_factory.mktemp("modes")
    st.SparseEncoder(str(masked_lm), device="cpu").save(str(root / "sparse"))
    torch.manual_seed(0)
    st.MultiVectorEncoder(str(build_tiny_bert(root / "bert")), device="cpu").save(str(root / "multi"))
    return {
        "SentenceTransformer": write_st_folder(
            tiny_bert, root / "st", classic_pooling(32, "mean"), normalize=True, dense=DENSE
        ),
        "CrossEncoder": build_tiny_classifier(root / "cross"),
        "SparseEncoder": root / "sparse",
        "MultiVectorEncoder": root / "multi",
    }


def load(lib, kind, folder, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(lib, kind)(str(folder), device="cpu", **options)


def infer(model, kind):
    return model.predict(PAIRS) if kind == "CrossEncoder" else model.encode(TEXTS)


def flags(model):
    """The model's flag and each of its modules' (the model itself first), by class name."""
    return model.training, [(type(m).__name__, m.training) for m in model.modules()]


def mode_history(lib, kind, folder, **options):
    model = load(lib, kind, folder, **options)
    history = [flags(model)]
    infer(model, kind)
    history.append(flags(model))
    model.train()
    history.append(flags(model))
    model.eval()
    history.append(flags(model))
    return history


@pytest.mark.parametrize("backend", ["torch", None])
@pytest.mark.parametrize("kind", KINDS)
def test_flags_after_load_inference_train_and_eval_as_sentence_transformers(folders, kind, backend):
    options = {} if backend is None else {"backend": backend}
    expected = mode_history(st, kind, folders[kind])
    assert mode_history(sbert, kind, folders[kind], **options) == expected


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_a_model_on_its_onnx_graph_reports_sentence_transformers_flag(folders, kind):
    """sbert's default backend runs these on an ONNX graph, no torch module loaded: the model still reports
    training mode until its first inference, and torch modules loaded after it are in eval, as there."""
    ours, theirs = load(sbert, kind, folders[kind]), load(st, kind, folders[kind])
    assert ours.get_backend() == "onnx"
    assert ours.training == theirs.training
    infer(ours, kind), infer(theirs, kind)
    assert ours.training == theirs.training and ours.get_backend() == "onnx"
    assert flags(ours) == flags(theirs)  # torch modules loaded now, in the mode the model is in


FLAG_WITHOUT_TORCH = """
import json, sys
import sbert
model = getattr(sbert, sys.argv[1])(sys.argv[2], device="cpu")
flags = [model.training, model.get_backend()]
model.eval()
flags.append(model.training)
print(json.dumps([flags, "torch" in sys.modules]))
"""


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_the_onnx_models_flag_needs_no_torch(folders, kind):
    env = {**os.environ, "PYTHONPATH": str(Path(sbert.__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", FLAG_WITHOUT_TORCH, kind, str(folders[kind])],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [[True, "onnx", False], False]


@pytest.fixture(scope="module")
def dropout_folder(tiny_bert, tmp_path_factory):
    """A dense model whose pipeline ends with a ``models.Dropout`` (sentence-transformers' own module)."""
    path = tmp_path_factory.mktemp("modes-dropout") / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformer = st.models.Transformer(str(tiny_bert))
        st.SentenceTransformer(
            modules=[transformer, st.models.Pooling(32, "mean"), st.models.Dropout(0.5)], device="cpu"
        ).save(str(path))
    return path


def test_a_dropout_module_is_active_in_forward_after_load_and_encode_stays_deterministic(dropout_folder):
    found = []
    for lib in (st, sbert):
        model = load(lib, "SentenceTransformer", dropout_folder)
        features = model.preprocess(TEXTS)
        torch.manual_seed(0)
        first = model(dict(features))["sentence_embedding"].detach()
        second = model(dict(features))["sentence_embedding"].detach()
        encoded = [model.encode(TEXTS), model.encode(TEXTS)]
        found.append((not torch.equal(first, second), bool((first == 0).any()), encoded))
    (theirs_active, theirs_zeros, theirs), (ours_active, ours_zeros, ours) = found
    assert (ours_active, ours_zeros) == (theirs_active, theirs_zeros) == (True, True)
    np.testing.assert_array_equal(ours[0], ours[1])
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-5, rtol=0)


def trainer_parts(lib, kind, model):
    """The trainer class, its arguments class, a loss and a three-row dataset for ``kind``."""
    from datasets import Dataset

    package = {"CrossEncoder": ".cross_encoder", "SparseEncoder": ".sparse_encoder",
               "MultiVectorEncoder": ".multi_vector_encoder"}.get(kind, ".sentence_transformer")  # fmt: skip
    losses = importlib.import_module(f"{lib.__name__}{package}.losses")
    rows = {"anchor": ["a dog", "a cat", "the sun"], "positive": ["dog runs", "cat sits", "sun shines"]}
    if kind == "SentenceTransformer":
        loss = losses.MultipleNegativesRankingLoss(model)
    elif kind == "CrossEncoder":
        rows["label"] = [1.0, 0.0, 1.0]
        loss = losses.BinaryCrossEntropyLoss(model)
    elif kind == "SparseEncoder":
        inner = losses.SparseMultipleNegativesRankingLoss(model)
        loss = losses.SpladeLoss(model, inner, query_regularizer_weight=0.1, document_regularizer_weight=0.1)
    else:
        loss = losses.MultiVectorMultipleNegativesRankingLoss(model)
    data = Dataset.from_dict(rows)
    return getattr(lib, f"{kind}Trainer"), getattr(lib, f"{kind}TrainingArguments"), loss, data


def flags_after_training(lib, kind, folder, out, **extra):
    model = load(lib, kind, folder)
    trainer_class, arguments, loss, data = trainer_parts(lib, kind, model)
    evaluator = extra.pop("evaluator", None)
    args = arguments(
        output_dir=str(out), num_train_epochs=1, per_device_train_batch_size=3, report_to=[],
        save_strategy="no", logging_strategy="no", disable_tqdm=True, **extra)  # fmt: skip
    evaluation = {"evaluator": evaluator} if evaluator else {"eval_dataset": data} if extra else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer_class(model=model, args=args, train_dataset=data, loss=loss, **evaluation).train()
    return flags(model)


@pytest.mark.parametrize("kind", KINDS)
def test_a_trainer_leaves_the_model_in_training_mode_as_sentence_transformers(folders, kind, tmp_path):
    """Hugging Face's loop puts the model in training mode at each step and leaves it so."""
    expected = flags_after_training(st, kind, folders[kind], tmp_path / "theirs")
    assert expected[0]
    assert flags_after_training(sbert, kind, folders[kind], tmp_path / "ours") == expected


def similarity_evaluator(lib):
    evaluation = importlib.import_module(f"{lib.__name__}.sentence_transformer.evaluation")
    return evaluation.EmbeddingSimilarityEvaluator(
        ["a dog", "a cat", "sun"], ["dog runs", "cat", "moon"], [0.9, 0.5, 0.1], name="dev"
    )


@pytest.mark.parametrize("evaluator", [False, True])
def test_an_evaluation_after_the_last_step_leaves_the_model_in_eval_as_there(folders, tmp_path, evaluator):
    """An evaluation (an eval dataset's loss, or an evaluator) after the last step leaves the model in eval,
    as Hugging Face's evaluation loop and sentence-transformers' evaluators (through encode) leave it."""
    kind, extra = "SentenceTransformer", {"eval_strategy": "epoch"}
    found = []
    for lib, name in ((st, "theirs"), (sbert, "ours")):
        more = {"evaluator": similarity_evaluator(lib)} if evaluator else {}
        found.append(flags_after_training(lib, kind, folders[kind], tmp_path / name, **extra, **more))
    assert not found[0][0] and found[1] == found[0]


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_an_evaluator_leaves_the_model_in_eval_as_sentence_transformers(folders, kind):
    found = []
    for lib in (st, sbert):
        model = load(lib, kind, folders[kind], **({} if lib is st else {"backend": "torch"}))
        if kind == "CrossEncoder":
            evaluation = importlib.import_module(f"{lib.__name__}.cross_encoder.evaluation")
            evaluator = evaluation.CrossEncoderCorrelationEvaluator(
                PAIRS + [("sun", "moon")], [0.9, 0.2, 0.5]
            )
        else:
            evaluator = similarity_evaluator(lib)
        evaluator(model)
        found.append(flags(model))
    assert not found[0][0] and found[1] == found[0]


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_an_evaluator_keeps_an_onnx_model_on_its_graph(folders, kind):
    model = load(sbert, kind, folders[kind])
    if kind == "CrossEncoder":
        from sbert.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

        CrossEncoderCorrelationEvaluator(PAIRS + [("sun", "moon")], [0.9, 0.2, 0.5])(model)
    else:
        similarity_evaluator(sbert)(model)
    assert (model.get_backend(), model.training) == ("onnx", False)


@pytest.mark.parametrize("kind", ["SentenceTransformer", "CrossEncoder"])
def test_fit_leaves_the_model_in_training_mode_as_sentence_transformers(folders, kind):
    from torch.utils.data import DataLoader

    found = []
    for lib in (st, sbert):
        model = load(lib, kind, folders[kind])
        if kind == "CrossEncoder":
            examples = [lib.InputExample(texts=list(pair), label=1.0) for pair in PAIRS]
            fit = {"train_dataloader": DataLoader(examples, batch_size=2)}
        else:
            examples = [lib.InputExample(texts=list(pair)) for pair in PAIRS]
            losses = importlib.import_module(f"{lib.__name__}.sentence_transformer.losses")
            loss = losses.MultipleNegativesRankingLoss(model)
            fit = {"train_objectives": [(DataLoader(examples, batch_size=2), loss)]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(**fit, epochs=1, show_progress_bar=False)
        found.append(flags(model))
    assert found[0][0] and found[1] == found[0]


def shown(model):
    """What a model shows of its pipeline: len, named_children's names and the repr."""
    return len(model), [name for name, _ in model.named_children()], repr(model)


DELETIONS = {
    "first": lambda model: model.__delitem__(0),
    "all": lambda model: model.__delitem__(slice(None)),
    "pop_first": lambda model: model.pop(0),
}


def infer_outcome(model, kind):
    """What inference gives: the outputs as an array, or None where it raised."""
    try:
        out = infer(model, kind)
    except (sbert.InputError, IndexError, KeyError, AttributeError):
        return None
    out = out.to_dense() if hasattr(out, "to_dense") else out
    return (
        [np.asarray(row, dtype=np.float32) for row in out]
        if kind == "MultiVectorEncoder"
        else np.asarray(out)
    )


def edited_models(kind, folder):
    """sbert's model (on torch) and sentence-transformers' of ``folder``, each having run once (a SPLADE
    pooling's repr shows its width after its first forward there: a difference these tests leave aside)."""
    models = load(sbert, kind, folder, backend="torch"), load(st, kind, folder)
    for model in models:
        infer(model, kind)
    return models


@pytest.mark.parametrize("deletion", list(DELETIONS))
@pytest.mark.parametrize("kind", ["CrossEncoder", "SparseEncoder", "MultiVectorEncoder"])
def test_deleting_the_input_module_leaves_the_pipeline_as_sentence_transformers(folders, kind, deletion):
    """``del model[0]`` / ``pop(0)`` / ``del model[:]`` are ``nn.Sequential``'s edits there: the pipeline
    is held as it is left (len, names, repr), and inference fails (an InputError naming why in sbert)."""
    ours, theirs = edited_models(kind, folders[kind])
    DELETIONS[deletion](ours)
    DELETIONS[deletion](theirs)
    assert shown(ours) == shown(theirs)
    assert infer_outcome(theirs, kind) is None
    with pytest.raises(sbert.InputError, match="The edited pipeline cannot"):
        infer(ours, kind)


@pytest.mark.parametrize("kind", ["CrossEncoder", "SparseEncoder", "MultiVectorEncoder"])
def test_a_deleted_input_module_put_back_runs_as_sentence_transformers(folders, kind):
    ours, theirs = edited_models(kind, folders[kind])
    for model in (ours, theirs):
        first = model[0]
        del model[0]
        model.insert(0, first)
    assert shown(ours) == shown(theirs)
    expected, got = infer_outcome(theirs, kind), infer_outcome(ours, kind)
    if kind == "MultiVectorEncoder":
        for mine, reference in zip(got, expected):
            np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=0)
    else:
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_an_appended_module_leaves_the_modules_flags_as_sentence_transformers(folders, kind):
    """``append`` is ``nn.Sequential``'s: the modules keep their own flags (the Hugging Face model in eval
    inside a model in training mode)."""
    found = []
    for lib in (st, sbert):
        model = load(lib, kind, folders[kind], **({} if lib is st else {"backend": "torch"}))
        model.append(torch.nn.Identity())
        found.append(flags(model))
    assert found[1] == found[0]
