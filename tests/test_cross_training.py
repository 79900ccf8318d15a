"""Cross-encoder training: each loss equals sentence-transformers' (value and gradient on the model's
weights), the one Trainer steps with each, ``sbert train cross-encoder`` (hard negatives mined by a
bi-encoder included) saves folders sentence-transformers loads, and bad input fails naming the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import build_tiny_classifier, classic_pooling

from sbert._cli import main

TOL = 1e-5
QUERIES = ["a man plays music", "the cat sat", "he drove fast", "numbers 123"]
DOCS = ["a man plays the guitar", "the dog ran in the house " * 4, "a red car", "12345 and more"]
NEGATIVES = ["music is good", "", "cars are red", "the weather"]
LISTS = [
    [DOCS[0], NEGATIVES[0], NEGATIVES[1]],
    [DOCS[1], NEGATIVES[2]],
    [DOCS[2], NEGATIVES[3], DOCS[3]],
    [DOCS[3]],
]
LIST_LABELS = [[2.0, 0.0, 1.0], [1.0, 0.0], [0.0, 1.0, 3.0], [1.0]]


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    root = tmp_path_factory.mktemp("ce-train")
    return {n: build_tiny_classifier(root / f"labels{n}", num_labels=n, seed=n) for n in (1, 3)}


def _models(folder):
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    return CrossEncoder(folder, backend="torch"), Reference(str(folder), device="cpu")


def _value_and_gradients(loss, hf_model, inputs, labels):
    """The loss and each weight's gradient, dropout off, from the same torch seed (MNRL draws negatives)."""
    import torch

    hf_model.eval()
    hf_model.zero_grad(set_to_none=True)
    torch.manual_seed(7)
    value = loss(inputs, labels)
    value.backward()
    return value.item(), {n: p.grad.clone() for n, p in hf_model.named_parameters() if p.grad is not None}


# (our loss name, options, ST options, labels of the model, inputs, labels)
def _cases():
    import torch
    from sentence_transformers.cross_encoder import losses as st

    scores = torch.tensor([1.0, 0.0, 1.0, 0.3])
    lists = [torch.tensor(row) for row in LIST_LABELS]
    yield "BinaryCrossEntropyLoss", {}, {}, 1, [QUERIES, DOCS], scores
    yield (
        "BinaryCrossEntropyLoss",
        {"pos_weight": torch.tensor(3.0)},
        {"pos_weight": torch.tensor(3.0)},
        1,
        [
            QUERIES,
            DOCS,
        ],
        scores,
    )
    yield "MSELoss", {}, {}, 1, [QUERIES, DOCS], scores
    yield (
        "MSELoss",
        {"activation_fn": "Sigmoid"},
        {"activation_fn": torch.nn.Sigmoid()},
        1,
        [QUERIES, DOCS],
        scores,
    )
    yield "CrossEntropyLoss", {}, {}, 3, [QUERIES, DOCS], torch.tensor([0, 2, 1, 1])
    yield "MultipleNegativesRankingLoss", {}, {}, 1, [QUERIES, DOCS, NEGATIVES], None
    yield (
        "MultipleNegativesRankingLoss",
        {"num_negatives": None, "scale": 5.0},
        {
            "num_negatives": None,
            "scale": 5.0,
        },
        1,
        [QUERIES, DOCS],
        None,
    )
    yield "LambdaLoss", {}, {}, 1, [QUERIES, LISTS], lists
    for scheme in ("NoWeightingScheme", "NDCGLoss1Scheme", "NDCGLoss2Scheme", "LambdaRankScheme"):
        ours = {"weighting_scheme": scheme, "k": 2, "mini_batch_size": 3, "reduction_log": "natural"}
        theirs = {**ours, "weighting_scheme": getattr(st, scheme)()}
        yield "LambdaLoss", ours, theirs, 1, [QUERIES, LISTS], lists


CASES = list(_cases())


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c[0]}-{json.dumps({k: str(v) for k, v in c[1].items()})}" for c in CASES]
)
def test_each_loss_equals_sentence_transformers_value_and_gradient(classifiers, case):
    from sentence_transformers.cross_encoder import losses as st

    from sbert.cross_encoder import losses

    name, options, st_options, num_labels, inputs, labels = case
    ours, reference = _models(classifiers[num_labels])
    value, gradients = _value_and_gradients(
        getattr(losses, name)(ours, **options), ours.model, inputs, labels
    )
    expected, expected_gradients = _value_and_gradients(
        getattr(st, name)(reference, **st_options), reference.model, inputs, labels
    )
    assert value > 0 and abs(value - expected) <= TOL
    assert gradients.keys() == expected_gradients.keys() and len(gradients) > 30
    assert max(float(g.abs().max()) for g in gradients.values()) > 1e-4  # real gradients
    for key, gradient in gradients.items():
        np.testing.assert_allclose(gradient.numpy(), expected_gradients[key].numpy(), atol=TOL, rtol=0)


def test_pairs_of_mixed_lengths_run_in_length_groups_with_the_logits_and_gradients_of_one_forward(
    classifiers,
):
    import torch

    from sbert._losses import base as grouping
    from sbert._losses.cross import base
    from sbert.cross_encoder import losses

    model, _ = _models(classifiers[1])
    pairs = [(q, d * (60 if i % 2 else 1)) for i, (q, d) in enumerate(zip(QUERIES * 4, DOCS * 4))]
    features = model.tokenize(pairs)
    lengths = sorted(features["attention_mask"].sum(dim=1).tolist())
    assert len(grouping.plan_groups(lengths, grouping.CALL_COST_TOKENS["cpu"])) > 1  # the batch really splits
    labels = torch.tensor([1.0, 0.0] * 8)
    results = []
    for run in (lambda: model.logits(model.tokenize(pairs)), lambda: base.grouped_logits(model, features)):
        model.model.eval()
        model.model.zero_grad(set_to_none=True)
        logits = run()
        torch.nn.functional.mse_loss(logits.view(-1), labels).backward()
        grads = {n: p.grad.clone() for n, p in model.model.named_parameters() if p.grad is not None}
        results.append((logits.detach(), grads))
    (one, one_grads), (grouped, grouped_grads) = results
    torch.testing.assert_close(grouped, one, atol=TOL, rtol=0)
    assert grouped_grads.keys() == one_grads.keys()
    for name, grad in grouped_grads.items():
        torch.testing.assert_close(grad, one_grads[name], atol=TOL, rtol=1e-4, msg=name)
    # and the loss a number for pos_weight (as a YAML recipe writes it) equals the tensor's
    inputs, target = [QUERIES, DOCS], torch.tensor([1.0, 0.0, 1.0, 0.0])
    as_number = _value_and_gradients(
        losses.BinaryCrossEntropyLoss(model, pos_weight=3), model.model, inputs, target
    )
    as_tensor = _value_and_gradients(
        losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(3.0)), model.model, inputs, target
    )
    assert as_number[0] == pytest.approx(as_tensor[0], abs=TOL)


def test_recipe_reads_exponent_floats_as_numbers(tmp_path):
    from sbert._training.recipes import load_config

    path = tmp_path / "recipe.yaml"
    path.write_text("arguments: {learning_rate: 2e-5, warmup_ratio: 1E-1, seed: 3}\nname: '2e-5'\n")
    assert load_config(path) == {
        "arguments": {"learning_rate": 2e-5, "warmup_ratio": 0.1, "seed": 3},
        "name": "2e-5",
    }


def _tiny_data(loss: str):
    from sbert import load_dataset

    if loss == "LambdaLoss":
        rows = [{"query": q, "docs": d, "labels": y} for q, d, y in zip(QUERIES, LISTS, LIST_LABELS)]
        return load_dataset(rows, label="labels")
    if loss == "MultipleNegativesRankingLoss":
        return load_dataset(list(zip(QUERIES, DOCS, NEGATIVES)))
    if loss == "CrossEntropyLoss":
        rows = [{"q": q, "d": d, "label": y} for q, d, y in zip(QUERIES, DOCS, ["a", "b", "c", "a"])]
        return load_dataset(rows)
    return load_dataset([(q, d, y) for q, d, y in zip(QUERIES, DOCS, [1.0, 0.0, 0.5, 0.0])])


@pytest.mark.parametrize(
    "loss",
    ["BinaryCrossEntropyLoss", "MSELoss", "CrossEntropyLoss", "MultipleNegativesRankingLoss", "LambdaLoss"],
)
def test_one_trainer_step_with_each_loss_changes_the_weights(classifiers, tmp_path, loss):
    import torch

    from sbert import CrossEncoder
    from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments, losses

    model = CrossEncoder(classifiers[3 if loss == "CrossEntropyLoss" else 1], backend="torch")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    args = CrossEncoderTrainingArguments(
        output_dir=tmp_path / "run",
        max_steps=1,
        batch_size=4,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        plot=False,
    )
    out = CrossEncoderTrainer(model, _tiny_data(loss), getattr(losses, loss)(model), args=args).train()
    assert out.global_step == 1 and np.isfinite(out.training_loss)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "0.model.classifier.weight" in changed  # sentence-transformers 6's names
    assert any(k.startswith("0.model.bert.encoder") for k in changed)
    saved = CrossEncoder(tmp_path / "run" / "final")
    np.testing.assert_allclose(  # saved: auto, on the graph built from the saved weights
        saved.predict(list(zip(QUERIES, DOCS))), model.predict(list(zip(QUERIES, DOCS))), atol=1e-5, rtol=0
    )
    card = (tmp_path / "run" / "final" / "README.md").read_text()
    assert f"{loss}(" in card


def test_cross_encoder_trainer_defaults_to_sentence_transformers_loss(classifiers, tmp_path):
    from sbert import CrossEncoder, load_dataset
    from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments

    for labels, expected in ((1, "BinaryCrossEntropyLoss"), (3, "CrossEntropyLoss")):
        model = CrossEncoder(classifiers[labels], backend="torch")
        data = load_dataset([(q, d, 1 if labels == 1 else 2) for q, d in zip(QUERIES, DOCS)])
        trainer = CrossEncoderTrainer(model, data, args=CrossEncoderTrainingArguments(output_dir=tmp_path))
        assert type(trainer.losses[0]).__name__ == expected


def test_cross_encoder_from_an_encoder_trains_on_the_cli_and_loads_in_sentence_transformers(
    classifiers, tiny_bert, tmp_path, capsys
):
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    train = tmp_path / "train.tsv"
    rows = [f"{q}\t{d}\t{s}" for q, d, s in zip(QUERIES * 2, DOCS + NEGATIVES, [5, 3, 4, 0, 1, 0, 2, 0])]
    train.write_text("sentence1\tsentence2\tscore\n" + "\n".join(rows) + "\n")
    out = tmp_path / "run"
    code = main(
        ["train", "cross-encoder", "--model", str(tiny_bert), "--train", str(train), "--loss", "bce",
         "--score-range", "0", "5", "--epochs", "2", "--batch-size", "4", "--lr", "1e-3",
         "--output", str(out), "--eval-sts", str(train)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2] == "steps=4" and printed[-1] == f"model={out / 'final'}"
    assert any(line.startswith("sts-train_spearman=") for line in printed)
    ours, reference = CrossEncoder(out / "final"), Reference(str(out / "final"), device="cpu")
    pairs = list(zip(QUERIES, DOCS))
    np.testing.assert_allclose(ours.predict(pairs), reference.predict(pairs), atol=TOL, rtol=0)
    assert ours.num_labels == 1 and type(ours.activation_fn).__name__ == "Sigmoid"
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in r for r in metrics)


def test_cli_mines_hard_negatives_with_a_bi_encoder(classifiers, tiny_st_factory, tmp_path, capsys):
    from sbert import CrossEncoder

    retriever = tiny_st_factory(classic_pooling(32, "mean"))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("query\tpositive\n" + "".join(f"{q}\t{d}\n" for q, d in zip(QUERIES, DOCS)))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join([*NEGATIVES[:1], *NEGATIVES[2:], "a dog", "the red guitar", "bread"]) + "\n")
    for loss, examples in (("bce", 4 * 3), ("mnrl", 4), ("lambda", 4)):
        out = tmp_path / loss
        code = main(
            ["train", "cross-encoder", "--model", str(classifiers[1]), "--train", str(pairs), "--loss", loss,
             "--mine-negatives", "2", "--retriever", str(retriever), "--corpus", str(corpus),
             "--batch-size", "4", "--output", str(out)]
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        readme = (out / "final" / "README.md").read_text()
        assert f"pairs ({examples} examples" in readme  # the mined rows were trained on
        assert CrossEncoder(out / "final").num_labels == 1


def test_recipe_on_a_sentence_transformer_makes_a_one_score_head_and_loads_it_before_mining(
    tiny_st_factory, tmp_path, capsys
):
    from sbert import CrossEncoder

    encoder = tiny_st_factory(classic_pooling(32, "mean"))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("query\tdocument\n" + "".join(f"{q}\t{d}\n" for q, d in zip(QUERIES, DOCS)))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(NEGATIVES + ["a dog", "the red guitar"]) + "\n")
    recipe = {
        "recipe": "cross-encoder",
        "model": str(encoder),
        "output_dir": str(tmp_path / "run"),
        "mine": {"corpus": str(corpus), "num_negatives": 1, "retriever": str(encoder)},
        "train": [{"file": str(pairs), "loss": "bce", "loss_options": {"pos_weight": 2}}],
        "arguments": {"batch_size": 4, "learning_rate": 1e-3},
    }
    config = tmp_path / "recipe.yaml"
    config.write_text(json.dumps(recipe))
    assert main(["train", str(config)]) == 0
    model = CrossEncoder(tmp_path / "run" / "final")
    assert model.num_labels == 1 and model.predict([(QUERIES[0], DOCS[0])]).shape == (1,)
    # a model that cannot load fails before the (slow) mining starts
    recipe |= {"model": str(tmp_path / "missing"), "output_dir": str(tmp_path / "run2")}
    recipe["mine"]["corpus"] = str(tmp_path / "no-corpus.txt")  # mining first would fail on this instead
    config.write_text(json.dumps(recipe))
    assert main(["train", str(config)]) == 2
    assert "missing" in capsys.readouterr().err


@pytest.mark.parametrize("loss", ["lambda", "ListNetLoss"])
def test_list_loss_recipe_groups_a_flat_file_by_query(classifiers, tmp_path, loss):
    from sbert._training.recipes import run_config

    train = tmp_path / "graded.tsv"
    rows = [(q, d, y) for q, docs, labels in zip(QUERIES, LISTS, LIST_LABELS) for d, y in zip(docs, labels)]
    train.write_text("query\tdocument\tlabel\n" + "".join(f"{q}\t{d}\t{y}\n" for q, d, y in rows))
    config = {
        "recipe": "cross-encoder",
        "model": str(classifiers[1]),
        "train": {"file": str(train), "loss": loss},
        "arguments": {"batch_size": 2, "plot": False, "save_steps": 0},
        "output_dir": str(tmp_path / "run"),
    }
    out = run_config(config)
    assert out.global_step == 2  # 4 queries (not 9 rows) in batches of 2
    assert (
        "graded (4 examples, columns query, document)"
        in (tmp_path / "run" / "final" / "README.md").read_text()
    )


def test_listwise_rows_load_from_json_lines(tmp_path):
    from sbert import load_dataset

    path = tmp_path / "lists.jsonl"
    path.write_text(
        "".join(
            json.dumps({"q": q, "docs": d, "labels": y}) + "\n"
            for q, d, y in zip(QUERIES, LISTS, LIST_LABELS)
        )
    )
    data = load_dataset(path, label="labels")
    assert data.list_columns == [1] and data.columns["docs"][2] == LISTS[2]
    assert data.labels.dtype == object and data.labels[0].tolist() == LIST_LABELS[0]
    with pytest.raises(ValueError, match="expected a list of numbers"):
        load_dataset([{"q": "a", "docs": ["x", "y"], "labels": ["high", 0]}], label="labels")


# ---------------------------------------------------------------------------------------------- bad input


def test_wrong_columns_or_labels_for_a_loss_name_the_fix(classifiers, tiny_st_factory, tmp_path):
    from sbert import CrossEncoder, SentenceTransformer, Trainer, TrainingArguments, load_dataset
    from sbert import MultipleNegativesRankingLoss as BiEncoderLoss
    from sbert.cross_encoder import losses

    model = CrossEncoder(classifiers[1], backend="torch")
    bi_encoder = SentenceTransformer(tiny_st_factory(classic_pooling(32, "mean")))
    args = TrainingArguments(output_dir=tmp_path)
    triplets = load_dataset(list(zip(QUERIES, DOCS, NEGATIVES)))
    with pytest.raises(ValueError, match=r"takes 2 text columns.*MultipleNegativesRankingLoss \(mnrl\)"):
        Trainer(model, triplets, losses.BinaryCrossEntropyLoss(model), args=args)
    scores = load_dataset([(q, d, s) for q, d, s in zip(QUERIES, DOCS, [5.0, 1.0, 2.0, 0.0])])
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*score_range"):
        Trainer(model, scores, losses.BinaryCrossEntropyLoss(model), args=args)
    with pytest.raises(ValueError, match="does not hold lists of texts.*groups by query"):
        Trainer(model, scores, losses.LambdaLoss(model), args=args)
    with pytest.raises(ValueError, match="one output label.*CrossEntropyLoss"):
        losses.MSELoss(CrossEncoder(classifiers[3], backend="torch"))
    with pytest.raises(ValueError, match="for a CrossEncoder use a loss of sbert.cross_encoder.losses"):
        Trainer(model, triplets, BiEncoderLoss(bi_encoder), args=args)
    with pytest.raises(ValueError, match="trains a CrossEncoder.*for a SentenceTransformer"):
        losses.BinaryCrossEntropyLoss(bi_encoder)
    three = CrossEncoder(classifiers[3], backend="torch")
    classes = load_dataset([(q, d, y) for q, d, y in zip(QUERIES, DOCS, [0, 1, 5, 2])])
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        Trainer(three, classes, losses.CrossEntropyLoss(three), args=args)


def test_cli_bad_input_is_one_line_naming_the_fix(classifiers, tmp_path, capsys):
    train = tmp_path / "t.tsv"
    train.write_text("a\tb\tlabel\nx\ty\t1\n")
    cases = [
        (
            ["--loss", "hinge"],
            "Unknown cross-encoder loss 'hinge'; choose one of ['bce', 'ce', 'lambda', 'mnrl', 'mse']",
        ),
        (["--loss", "mse", "--mine-negatives", "2"], "use bce, mnrl or lambda"),
        (["--corpus", str(train)], "add --mine-negatives N"),
    ]
    for extra, message in cases:
        code = main(["train", "cross-encoder", "--model", str(classifiers[1]), "--train", str(train),
                     "--output", str(tmp_path / "o"), *extra])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("sbert: error: ") and err.count("\n") == 1, err
        assert message in err, err
    yaml = tmp_path / "r.yaml"
    yaml.write_text("recipe: sts\ntrain: t.tsv\noutput_dir: o\n")
    assert main(["train", str(yaml), "--loss", "bce"]) == 2
    assert "--loss: options of `sbert train cross-encoder`" in capsys.readouterr().err
