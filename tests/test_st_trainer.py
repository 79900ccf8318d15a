"""sentence-transformers' trainer API (SentenceTransformerTrainer, ...TrainingArguments, CrossEncoderTrainer)
as a drop-in: a script in its style runs with only the imports changed, with its defaults, steps, schedule and
(dropout-free) weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier

import sbert

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


SCRIPT = """
{imports}
from datasets import Dataset, DatasetDict
from transformers import TrainerCallback

class Record(TrainerCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        if "learning_rate" in logs:
            learning_rates.append((state.global_step, logs["learning_rate"]))
        if any(key.endswith("dev_spearman_cosine") for key in logs):
            evaluated.append(state.global_step)

model = SentenceTransformer(path)
pairs = Dataset.from_dict({{"anchor": words[:10], "positive": words[2:12]}})
scores = [i / 9 for i in range(9)]
sts = Dataset.from_dict({{"sentence1": words[:9], "sentence2": words[3:], "score": scores}})
train_dataset = DatasetDict({{"pairs": pairs, "sts": sts}})
loss = {{"pairs": losses.MultipleNegativesRankingLoss(model), "sts": losses.CoSENTLoss(model)}}
evaluator = EmbeddingSimilarityEvaluator(words[:6], words[6:], [0.1, 0.9, 0.4, 0.5, 0.2, 0.7], name="dev")
args = SentenceTransformerTrainingArguments(output_dir=out, num_train_epochs=1, per_device_train_batch_size=4,
    learning_rate=2e-5, warmup_ratio=0.1, batch_sampler=BatchSamplers.NO_DUPLICATES, eval_strategy="steps",
    eval_steps=3, save_strategy="steps", save_steps=2, save_total_limit=2, logging_steps=1, seed=42,
    disable_tqdm=True)
trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_dataset, loss=loss,
    evaluator=evaluator, callbacks=[Record()])
output = trainer.train()
trainer.save_model(str(out) + "/final-model")
model.save(str(out) + "/no-card", "my-model", create_model_card=False)
"""
ST_IMPORTS = """
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers import SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer import losses
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
from sentence_transformers.sentence_transformer.training_args import BatchSamplers
"""
SBERT_IMPORTS = """
from sbert import SentenceTransformer
from sbert.sentence_transformer import SentenceTransformerTrainer
from sbert.sentence_transformer import SentenceTransformerTrainingArguments
from sbert.sentence_transformer import losses
from sbert.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
from sbert.training_args import BatchSamplers
"""


def run_script(imports: str, path, out) -> dict:
    namespace = {"path": str(path), "out": str(out), "words": WORDS, "learning_rates": [], "evaluated": []}
    exec(SCRIPT.format(imports=imports), namespace)
    return namespace


def test_defaults_equal_sentence_transformers():
    from sentence_transformers import SentenceTransformerTrainingArguments as Reference

    from sbert._training.st_compat import MAPPED
    from sbert.training_args import SentenceTransformerTrainingArguments

    theirs, ours = Reference("x"), SentenceTransformerTrainingArguments("x")
    for name in MAPPED:
        assert getattr(ours, name) == getattr(theirs, name), name
    # the values sbert's trainer runs with follow them
    mapped = ours.to_sbert(steps_per_epoch=10)
    assert (mapped.batch_size, mapped.epochs, mapped.learning_rate, mapped.weight_decay) == (8, 3, 5e-5, 0.0)
    assert (mapped.seed, mapped.warmup_ratio, mapped.max_grad_norm, mapped.save_total_limit) == (
        42,
        0,
        1.0,
        None,
    )
    assert (mapped.logging_steps, mapped.save_steps, mapped.eval_steps) == (500, 500, None)
    assert not mapped.load_best_model_at_end and mapped.report_to == []


def test_sentence_transformers_script_runs_with_only_the_imports_changed(dropout_free_st, tmp_path):
    theirs = run_script(ST_IMPORTS, dropout_free_st, tmp_path / "st")
    ours = run_script(SBERT_IMPORTS, dropout_free_st, tmp_path / "ours")
    steps = ours["output"].global_step
    assert steps == theirs["output"].global_step > 4
    assert ours["trainer"].state.epoch == pytest.approx(theirs["trainer"].state.epoch) == 1.0
    assert [s for s, _ in ours["learning_rates"]] == list(range(1, steps + 1))
    np.testing.assert_allclose(
        [lr for _, lr in ours["learning_rates"]], [lr for _, lr in theirs["learning_rates"]], rtol=1e-9
    )
    assert ours["evaluated"] == theirs["evaluated"] == [3, 6]
    # each step's record has the gradient norm before clipping, as Hugging Face's trainer logs it
    histories = [run["trainer"].state.log_history for run in (ours, theirs)]
    norms = [[r["grad_norm"] for r in history if "loss" in r] for history in histories]
    assert len(norms[0]) == steps and min(norms[0][:-1]) > 1  # the last batch: one pair, no CoSENT loss
    np.testing.assert_allclose(norms[0], norms[1], rtol=1e-3, atol=1e-6)
    assert np.isfinite(ours["output"].training_loss) and ours["output"].metrics["train_loss"] > 0
    kept = sorted(p.name for p in (tmp_path / "ours").glob("checkpoint-*"))
    assert len(kept) == 2 and kept[-1].endswith(str(steps))
    for library in ("st", "ours"):  # trainer.save_model and save(..., create_model_card=False) as there
        assert (tmp_path / library / "final-model" / "modules.json").is_file()
        assert (tmp_path / library / "no-card" / "modules.json").is_file()
        assert not (tmp_path / library / "no-card" / "README.md").exists()


@pytest.mark.parametrize(
    ("loss", "rates"),
    [
        ("MultipleNegativesRankingLoss", None),
        ("CoSENTLoss", None),
        # per-parameter learning rates, by sentence-transformers' names (the last pattern wins)
        (
            "MultipleNegativesRankingLoss",
            {"encoder.layer": 1e-2, r"0\.model\.embeddings": 1e-4, "layer.1.": 1e-3},
        ),
    ],
    ids=["mnrl", "cosent", "learning-rate-mapping"],
)
def test_weights_equal_sentence_transformers_trainer_on_one_whole_batch(
    dropout_free_st, tmp_path, loss, rates
):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    columns = {"anchor": WORDS[:8], "positive": WORDS[4:]}
    if loss == "CoSENTLoss":
        columns["score"] = [i / 8 for i in range(8)]
    data = Dataset.from_dict(columns)
    recipe = {
        "per_device_train_batch_size": 8, "num_train_epochs": 4, "learning_rate": 3e-3, "weight_decay": 0.1,
        "warmup_ratio": 0.3, "max_grad_norm": 0.5, "save_strategy": "no", "disable_tqdm": True,
        **({"learning_rate_mapping": rates} if rates else {}),
    }  # fmt: skip
    reference = Reference(str(dropout_free_st), device="cpu")
    ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **recipe),
        train_dataset=data,
        loss=getattr(reference_losses, loss)(reference),
    ).train()
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    output = SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(str(tmp_path / "ours"), **recipe),
        train_dataset=data,
        loss=getattr(losses, loss),  # a function of the model, as sentence-transformers takes too
    ).train()
    assert output.global_step == 4
    theirs = dict(reference[0].auto_model.named_parameters())
    moved = 0.0
    for name, value in model[0].auto_model.named_parameters():
        torch.testing.assert_close(value, theirs[name], atol=1e-5, rtol=0, msg=name)
        moved = max(moved, float((value.detach() - before[f"0.model.{name}"]).abs().max()))
    assert moved > 1e-3  # the steps changed the weights well beyond the tolerance


def test_evaluate_gives_sentence_transformers_eval_loss(dropout_free_st, tmp_path):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    data = Dataset.from_dict({"anchor": WORDS[:11], "positive": WORDS[1:]})
    options = {"per_device_eval_batch_size": 4, "disable_tqdm": True}
    reference = Reference(str(dropout_free_st), device="cpu")
    theirs = ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **options),
        train_dataset=data,
        eval_dataset=data,
        loss=reference_losses.MultipleNegativesRankingLoss(reference),
    ).evaluate()
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    ours = SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(str(tmp_path / "ours"), **options),
        train_dataset=data,
        eval_dataset=data,
        loss=losses.MultipleNegativesRankingLoss(model),
    ).evaluate()
    assert ours["eval_loss"] == pytest.approx(theirs["eval_loss"], abs=1e-5)
    # Hugging Face's timing keys: 11 rows in 3 batches of 4 (model preparation: 0.0 in sbert)
    assert list(ours) == list(theirs)
    assert list(ours)[:2] == ["eval_loss", "eval_model_preparation_time"]
    rows_to_steps = ours["eval_samples_per_second"] / ours["eval_steps_per_second"]
    assert rows_to_steps == pytest.approx(11 / 3, rel=1e-2)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"no_such_argument": 1}, "no_such_argument"),
        ({"adam_beta1": 1.5}, "adam_beta1"),
        ({"optim_args": "x"}, "optim_args"),
        ({"neftune_noise_alpha": 5.0}, "neftune_noise_alpha"),
        ({"lr_scheduler_type": "greedy"}, "lr_scheduler_type"),
        ({"optim": "adamw_8bit"}, "optim"),
        ({"report_to": "wandb"}, "wandb"),
        ({"save_strategy": "best"}, "save_strategy"),
        ({"batch_sampler": "no_such_sampler"}, "batch_sampler"),
        ({"fp16": True, "bf16": True}, "fp16"),
    ],
)
def test_unknown_or_unsupported_argument_is_an_input_error_naming_it(arguments, named):
    from sbert.training_args import SentenceTransformerTrainingArguments

    with pytest.raises(sbert.InputError, match=named):
        SentenceTransformerTrainingArguments("x", **arguments)


def test_ignored_arguments_are_accepted_and_trainer_refuses_what_it_cannot_run(dropout_free_st, tmp_path):
    from datasets import Dataset

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    args = SentenceTransformerTrainingArguments(
        str(tmp_path), dataloader_num_workers=4, run_name="r", use_cpu=True, adam_beta1=0.9
    )
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    data = Dataset.from_dict({"sentence1": WORDS[:4], "sentence2": WORDS[4:8], "score": [0.1, 0.2, 0.3, 0.4]})
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data)
    assert type(trainer.losses[0]).__name__ == "CoSENTLoss" and trainer.model is model
    # trainer.args is the arguments given, as there; a value set on them holds from the next run's setup
    assert trainer.args is args
    trainer.args.num_train_epochs = 3
    trainer.get_train_dataloader()
    assert trainer.run_args.epochs == 3
    with pytest.raises(sbert.InputError, match="optimizers"):
        SentenceTransformerTrainer(model=model, args=args, train_dataset=data, optimizers=(object(), None))
    with pytest.raises(sbert.InputError, match="provide an `eval_dataset` or an `evaluator`"):
        SentenceTransformerTrainer(
            model=model,
            args=SentenceTransformerTrainingArguments(str(tmp_path), eval_strategy="steps"),
            train_dataset=data,
        )


def test_cross_encoder_trainer_with_sentence_transformers_keywords(tmp_path):
    from datasets import Dataset

    from sbert.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments

    model = CrossEncoder(build_tiny_classifier(tmp_path / "ce"), backend="torch", device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = Dataset.from_dict({"query": WORDS[:10], "document": WORDS[2:], "label": [1, 0] * 5})
    args = CrossEncoderTrainingArguments(
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=4,
        num_train_epochs=2,
        learning_rate=1e-3,
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, eval_dataset=data)
    assert type(trainer.losses[0]).__name__ == "BinaryCrossEntropyLoss"
    start = trainer.evaluate()["eval_loss"]
    global_step, training_loss, metrics = trainer.train()
    assert global_step == 6 and np.isfinite(training_loss) and metrics["epoch"] == 2.0
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert trainer.evaluate()["eval_loss"] < start


def test_eval_dataset_with_an_evaluator_and_teacher_vectors_as_lists_train_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    """Two of sentence-transformers' example scripts: an eval_dataset beside an evaluator (both logged), and
    MSELoss distillation whose label column holds the teacher's vectors as lists."""
    from datasets import Dataset

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    pairs = Dataset.from_dict({"sentence1": WORDS[:6], "sentence2": WORDS[6:12], "score": [0.1, 0.9] * 3})
    evaluator = sbert.EmbeddingSimilarityEvaluator(WORDS[:6], WORDS[6:12], [0.1, 0.9] * 3, name="dev")
    args = SentenceTransformerTrainingArguments(
        str(tmp_path / "a"),
        max_steps=3,
        per_device_train_batch_size=2,
        eval_strategy="steps",
        eval_steps=1,
        logging_steps=2,
        logging_first_step=True,  # the MS MARCO scripts' setting: step 1 is logged too
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=pairs, eval_dataset=pairs, evaluator=evaluator
    )
    trainer.train()
    logged = [r for r in trainer.state.log_history if "eval_loss" in r]
    assert len(logged) == 3 and all("eval_dev_spearman_cosine" in r for r in logged)  # named as in HF's log
    assert [r["step"] for r in trainer.state.log_history if "loss" in r][:2] == [1, 2]
    teacher = model.encode(WORDS[:4]).tolist()
    distill = Dataset.from_dict({"sentence": WORDS[:4], "label": teacher})
    args = SentenceTransformerTrainingArguments(
        str(tmp_path / "b"), max_steps=1, per_device_train_batch_size=4
    )
    loss = sbert.losses.MSELoss(model)
    out = SentenceTransformerTrainer(model=model, args=args, train_dataset=distill, loss=loss).train()
    assert out.global_step == 1 and out.training_loss < 1e-3  # the student is the teacher


def test_sequential_evaluator_is_sentence_transformers_with_its_sequential_score(dropout_free_st):
    from sentence_transformers import SentenceTransformer as ReferenceModel
    from sentence_transformers.sentence_transformer import evaluation as reference_evaluation

    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    reference = ReferenceModel(str(dropout_free_st), device="cpu")
    labels = [0, 1] * 3
    ours = [sbert.BinaryClassificationEvaluator(WORDS[:6], WORDS[6:12], labels, name=n) for n in ("a", "b")]
    ours.insert(1, sbert.TripletEvaluator(WORDS[:4], WORDS[4:8], WORDS[8:12], name="t"))
    theirs = [
        reference_evaluation.BinaryClassificationEvaluator(WORDS[:6], WORDS[6:12], labels, name="a"),
        reference_evaluation.TripletEvaluator(WORDS[:4], WORDS[4:8], WORDS[8:12], name="t"),
        reference_evaluation.BinaryClassificationEvaluator(WORDS[:6], WORDS[6:12], labels, name="b"),
    ]
    for choose in (None, lambda scores: scores[0], lambda scores: sum(scores) / len(scores)):
        options = {} if choose is None else {"main_score_function": choose}
        mine = sbert.evaluation.SequentialEvaluator(ours, **options)
        ref = reference_evaluation.SequentialEvaluator(theirs, **options)
        assert mine.primary_metric is ref.primary_metric is None  # until the first call, as there
        assert mine(model)["sequential_score"] == pytest.approx(ref(reference)["sequential_score"], abs=1e-6)
        assert mine.primary_metric == ref.primary_metric == mine.primary_key == "sequential_score"


BEST_MODEL_SCRIPT = """
{imports}
from datasets import Dataset

model = SentenceTransformer(path, device="cpu")
scores = [i / 9 for i in range(9)]
data = Dataset.from_dict({{"sentence1": words[:9], "sentence2": words[3:], "score": scores}})
evaluator = EmbeddingSimilarityEvaluator(words[:6], words[6:], [0.1, 0.9, 0.4, 0.5, 0.2, 0.7], name="dev")
args = SentenceTransformerTrainingArguments(output_dir=out, num_train_epochs=3, per_device_train_batch_size=4,
    learning_rate=1e-3, eval_strategy="steps", eval_steps=2, save_strategy="steps", save_steps=2,
    logging_steps=1, seed=42, disable_tqdm=True, **options)
trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, eval_dataset=data,
    loss=losses.CoSENTLoss(model), evaluator=evaluator)
trainer.train()
embeddings = model.encode(words, convert_to_numpy=True)
"""


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"load_best_model_at_end": True},  # Hugging Face's default metric then: the eval loss, lowest best
        {"load_best_model_at_end": True, "metric_for_best_model": "eval_dev_pearson_cosine"},
        {
            "load_best_model_at_end": True,
            "metric_for_best_model": "dev_pearson_cosine",
            "greater_is_better": False,
        },
    ],
)
def test_best_model_metric_and_direction_as_in_sentence_transformers(dropout_free_st, tmp_path, options):
    runs = {}
    for library, imports in (("st", ST_IMPORTS), ("ours", SBERT_IMPORTS)):
        namespace = {
            "path": str(dropout_free_st),
            "out": str(tmp_path / library),
            "words": WORDS,
            "options": options,
        }
        exec(BEST_MODEL_SCRIPT.format(imports=imports), namespace)
        runs[library] = namespace
    theirs, ours = runs["st"]["trainer"], runs["ours"]["trainer"]
    assert ours.args.metric_for_best_model == theirs.args.metric_for_best_model
    assert ours.args.greater_is_better == theirs.args.greater_is_better
    # evaluated at the same steps (the last one too), with the same eval loss and metrics
    evaluated = [[r for r in t.state.log_history if "eval_loss" in r] for t in (theirs, ours)]
    assert [r["step"] for r in evaluated[1]] == [r["step"] for r in evaluated[0]] == [2, 4, 6, 8, 9]
    for mine, reference in zip(evaluated[1], evaluated[0]):
        assert mine["eval_loss"] == pytest.approx(reference["eval_loss"], abs=1e-4)
        assert mine["eval_dev_pearson_cosine"] == pytest.approx(
            reference["eval_dev_pearson_cosine"], abs=1e-4
        )
    if theirs.state.best_metric is None:
        assert ours.state.best_metric is None and ours.state.best_global_step is None
    else:
        assert ours.state.best_metric == pytest.approx(theirs.state.best_metric, abs=1e-4)
        assert ours.state.best_global_step == theirs.state.best_global_step
    # the weights the run ends with (the best checkpoint's with load_best_model_at_end) are the same
    np.testing.assert_allclose(runs["ours"]["embeddings"], runs["st"]["embeddings"], atol=1e-4)


def test_best_model_metric_that_cannot_be_computed_is_an_input_error_naming_the_fix(
    dropout_free_st, tmp_path
):
    from datasets import Dataset

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    data = Dataset.from_dict({"sentence1": WORDS[:4], "sentence2": WORDS[4:8], "score": [0.1, 0.2, 0.3, 0.4]})
    evaluator = sbert.EmbeddingSimilarityEvaluator(WORDS[:4], WORDS[4:8], [0.1, 0.9, 0.4, 0.5], name="dev")
    options = {"eval_strategy": "steps", "eval_steps": 1, "max_steps": 2, "disable_tqdm": True}
    no_eval_data = SentenceTransformerTrainingArguments(
        str(tmp_path / "a"), load_best_model_at_end=True, **options
    )
    with pytest.raises(sbert.InputError, match="'loss' is the eval_dataset's loss.*pass eval_dataset"):
        SentenceTransformerTrainer(model=model, args=no_eval_data, train_dataset=data, evaluator=evaluator)
    unknown = SentenceTransformerTrainingArguments(
        str(tmp_path / "b"), metric_for_best_model="dev_f1", **options
    )
    trainer = SentenceTransformerTrainer(model=model, args=unknown, train_dataset=data, evaluator=evaluator)
    with pytest.raises(
        sbert.InputError, match="'dev_f1' is not among the evaluation results.*dev_spearman_cosine"
    ):
        trainer.train()


def test_router_mapping_json_string_is_read_as_in_sentence_transformers():
    from sentence_transformers import SentenceTransformerTrainingArguments as Reference

    from sbert.training_args import SentenceTransformerTrainingArguments

    text = '{"dataset1": {"column_A": "query", "column_B": "document"}}'
    ours, theirs = (
        SentenceTransformerTrainingArguments("x", router_mapping=text),
        Reference("x", router_mapping=text),
    )
    assert (
        ours.router_mapping
        == theirs.router_mapping
        == {"dataset1": {"column_A": "query", "column_B": "document"}}
    )
    with pytest.raises(ValueError, match="router_mapping"):
        SentenceTransformerTrainingArguments(
            "x", router_mapping="this is just a string, not a valid JSON object"
        )


def test_hf_argument_parser_builds_the_arguments_from_a_command_line():
    """Training scripts build sentence-transformers' arguments with transformers' HfArgumentParser (a
    dataclass there): the same command line gives the same values here, dicts given as JSON strings."""
    import dataclasses

    from transformers import HfArgumentParser

    from sbert import SentenceTransformerTrainingArguments
    from sbert.cross_encoder import CrossEncoderTrainingArguments
    from sbert.training_args import BatchSamplers

    @dataclasses.dataclass
    class ScriptArguments:
        model_name: str = "base"

    command = [
        "--output_dir", "out", "--model_name", "mine", "--num_train_epochs", "2", "--bf16",
        "--per_device_train_batch_size", "16", "--learning_rate", "0.0005", "--eval_strategy", "steps",
        "--eval_steps", "0.25", "--batch_sampler", "no_duplicates", "--multi_dataset_batch_sampler",
        "round_robin", "--prompts", '{"query": "query: "}', "--router_mapping", '{"query": "query"}',
    ]  # fmt: skip
    script, args = HfArgumentParser(
        (ScriptArguments, SentenceTransformerTrainingArguments)
    ).parse_args_into_dataclasses(args=command)
    assert script.model_name == "mine" and isinstance(args, SentenceTransformerTrainingArguments)
    assert (args.output_dir, args.num_train_epochs, args.bf16, args.learning_rate) == ("out", 2.0, True, 5e-4)
    assert args.batch_sampler == BatchSamplers.NO_DUPLICATES
    assert args.prompts == {"query": "query: "} and args.router_mapping == {"query": "query"}
    ours = args.to_sbert(steps_per_epoch=8)
    assert (ours.epochs, ours.batch_size, ours.precision, ours.eval_steps) == (2, 16, "bf16", 4)
    assert ours.batch_sampler == "no_duplicates" and ours.multi_dataset_batch_sampler == "round_robin"
    (cross,) = HfArgumentParser(CrossEncoderTrainingArguments).parse_args_into_dataclasses(args=["--fp16"])
    assert isinstance(cross, CrossEncoderTrainingArguments) and cross.fp16
    with pytest.raises(ValueError):  # a mapping must be JSON, as there
        HfArgumentParser(SentenceTransformerTrainingArguments).parse_args_into_dataclasses(
            args=["--router_mapping", "not json"]
        )
    assert SentenceTransformerTrainingArguments(prompts="query: ").prompts == "query: "  # one prompt for all


def test_trainer_refusals_say_what_sentence_transformers_says(dropout_free_st, tmp_path):
    """Scripts that catch these ValueErrors by their words keep working: each refusal carries
    sentence-transformers' message (checked against its own trainer on the same call)."""
    import re

    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    data = Dataset.from_dict({"sentence1": WORDS[:4], "sentence2": WORDS[4:8], "score": [0.1, 0.2, 0.3, 0.4]})
    cases = [
        (
            {"loss": "dict"},
            data,
            {},
            "If the provided `loss` is a dict, then the `train_dataset` must be a `DatasetDict`.",
        ),
        (
            {"loss": "dict"},
            DatasetDict({"a": data, "extra": data}),
            {},
            "If the provided `loss` is a dict, then all keys from the `train_dataset` dictionary must occur "
            "in `loss` also. Currently, ['extra'] occurs in `train_dataset` but not in `loss`.",
        ),
        (
            {},
            data.rename_column("sentence1", "return_loss"),
            {},
            "The following column names are invalid in your train dataset: ['return_loss']. Avoid using "
            "these column names, as they are reserved for internal use.",
        ),
        (
            {},
            data,
            {"eval_strategy": "steps"},
            "You have set `args.eval_strategy` to steps, but you didn't provide an `eval_dataset` or an "
            "`evaluator`. Either provide an `eval_dataset` or an `evaluator` to "
            "`SentenceTransformerTrainer`, or set `args.eval_strategy='no'` to skip evaluation.",
        ),
    ]  # fmt: skip
    reference = Reference(str(dropout_free_st), device="cpu")
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    for options, train, arguments, words in cases:
        for trainer, arguments_class, owner, loss_class in (
            (ReferenceTrainer, ReferenceArguments, reference, reference_losses.CoSENTLoss),
            (SentenceTransformerTrainer, SentenceTransformerTrainingArguments, model, sbert.CoSENTLoss),
        ):
            loss = {"a": loss_class(owner)} if options.get("loss") == "dict" else loss_class(owner)
            pattern = re.escape(words).replace("to\\ steps", "to\\ (IntervalStrategy\\.STEPS|steps)")
            with pytest.raises(ValueError, match=pattern):
                trainer(
                    model=owner,
                    args=arguments_class(str(tmp_path / "run"), **arguments),
                    train_dataset=train,
                    loss=loss,
                )


def test_eval_and_dict_refusals_say_what_sentence_transformers_says(dropout_free_st, tmp_path):
    import re

    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import SentenceTransformerTrainer

    data = Dataset.from_dict({"sentence1": WORDS[:4], "sentence2": WORDS[4:8], "score": [0.1, 0.2, 0.3, 0.4]})
    both = DatasetDict({"a": data, "b": data})
    cases = [  # (train, eval, words)
        (both, data, "If the provided `loss` is a dict, then the `eval_dataset` must be a `DatasetDict`."),
        (
            both,
            DatasetDict({"a": data, "b": data, "c": data}),
            "If the provided `loss` is a dict, then all keys from the `eval_dataset` dictionary must occur "
            "in `loss` also. Currently, ['c'] occurs in `eval_dataset` but not in `loss`.",
        ),
        (
            DatasetDict({"a": data.rename_column("sentence1", "dataset_name"), "b": data}),
            None,
            "The following column names are invalid in your a dataset: ['dataset_name'].",
        ),
    ]  # fmt: skip
    reference = Reference(str(dropout_free_st), device="cpu")
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    for train, evaluation, words in cases:
        for trainer, owner, loss_class in (
            (ReferenceTrainer, reference, reference_losses.CoSENTLoss),
            (SentenceTransformerTrainer, model, sbert.CoSENTLoss),
        ):
            with pytest.raises(ValueError, match=re.escape(words)):
                trainer(
                    model=owner,
                    train_dataset=train,
                    eval_dataset=evaluation,
                    loss={"a": loss_class(owner), "b": loss_class(owner)},
                )


def test_adam_settings_and_drop_last_train_as_in_sentence_transformers(dropout_free_st, tmp_path):
    """adam_beta1/adam_beta2/adam_epsilon reach AdamW, and dataloader_drop_last leaves each epoch's last,
    shorter batch out (10 rows in batches of 4: 2 steps an epoch), as in sentence-transformers' trainer."""
    import importlib

    import sentence_transformers
    from datasets import Dataset

    results = []
    for library in (sbert, sentence_transformers):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        data = Dataset.from_dict({"anchor": WORDS[:10], "positive": WORDS[2:12]})
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / library.__name__), num_train_epochs=2, per_device_train_batch_size=4,
            learning_rate=1e-3, adam_beta1=0.8, adam_beta2=0.98, adam_epsilon=1e-4, dataloader_drop_last=True,
            seed=5, save_strategy="no", report_to="none", disable_tqdm=True,
        )  # fmt: skip
        trainer = library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model)
        )
        output = trainer.train()
        results.append((output.global_step, model.encode(WORDS)))
    (our_steps, ours), (their_steps, theirs) = results
    assert our_steps == their_steps == 4
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    with pytest.raises(sbert.InputError, match="adam_beta2 must be in"):
        sbert.TrainingArguments(output_dir=str(tmp_path / "bad"), adam_beta2=1.0)


@pytest.mark.parametrize(
    ("kind", "options"), [("cosine_with_restarts", {"num_cycles": 2}), ("cosine", {"num_cycles": 0.25})]
)
def test_lr_scheduler_kwargs_shape_the_schedule_as_in_sentence_transformers(
    dropout_free_st, tmp_path, kind, options
):
    import importlib

    import sentence_transformers
    from datasets import Dataset
    from transformers import TrainerCallback

    class Rates(TrainerCallback):
        def __init__(self):
            self.seen = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "learning_rate" in logs:
                self.seen.append(round(logs["learning_rate"], 10))

    results = []
    for library in (sbert, sentence_transformers):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        data = Dataset.from_dict({"anchor": WORDS[:12], "positive": WORDS[::-1]})
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / library.__name__), num_train_epochs=2, per_device_train_batch_size=2,
            learning_rate=1e-3, lr_scheduler_type=kind, lr_scheduler_kwargs=options, warmup_steps=2,
            logging_steps=1, seed=5, save_strategy="no", report_to="none", disable_tqdm=True,
        )  # fmt: skip
        rates = Rates()
        library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model),
            callbacks=[rates],
        ).train()  # fmt: skip
        results.append((rates.seen, model.encode(WORDS)))
    (our_rates, ours), (their_rates, theirs) = results
    assert len(our_rates) == 12 and our_rates == their_rates
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    with pytest.raises(sbert.InputError, match=r"lr_scheduler_kwargs \['power'\] do not apply"):
        sbert.TrainingArguments(output_dir=str(tmp_path / "bad"), lr_scheduler_kwargs={"power": 2.0})


def test_eval_on_start_logs_the_starting_point_as_sentence_transformers(dropout_free_st, tmp_path):
    import importlib

    import sentence_transformers
    from datasets import Dataset

    records = []
    for library in (sbert, sentence_transformers):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        data = Dataset.from_dict({"anchor": WORDS[:12], "positive": WORDS[::-1]})
        evaluator = evaluation.EmbeddingSimilarityEvaluator(
            WORDS[:6], WORDS[6:], [0.1, 0.9, 0.4, 0.5, 0.2, 0.7], name="dev"
        )
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / library.__name__), num_train_epochs=1, per_device_train_batch_size=4,
            learning_rate=1e-3, eval_on_start=True, eval_strategy="steps", eval_steps=2, seed=5,
            save_strategy="no", report_to="none", disable_tqdm=True,
        )  # fmt: skip
        trainer = library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model),
            evaluator=evaluator,
        )  # fmt: skip
        trainer.train()
        records.append(
            [
                (r["step"], round(r["eval_dev_spearman_cosine"], 5))
                for r in trainer.state.log_history
                if "eval_dev_spearman_cosine" in r
            ]
        )
    ours, theirs = records
    assert ours == theirs and ours[0][0] == 0  # the first evaluation: before any step


def test_data_seed_seeds_the_shuffle_as_in_sentence_transformers(dropout_free_st, tmp_path):
    import importlib

    import sentence_transformers
    from datasets import Dataset

    results = []
    for library, data_seed in ((sbert, 7), (sentence_transformers, 7), (sbert, None)):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        data = Dataset.from_dict({"anchor": WORDS[:12], "positive": WORDS[::-1]})
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / f"{library.__name__}{data_seed}"), num_train_epochs=2,
            per_device_train_batch_size=4, learning_rate=1e-3, seed=5, data_seed=data_seed,
            save_strategy="no", report_to="none", disable_tqdm=True,
        )  # fmt: skip
        library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=losses.MultipleNegativesRankingLoss(model)
        ).train()
        results.append(model.encode(WORDS))
    ours, theirs, unseeded = results
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert np.abs(ours - unseeded).max() > 1e-4  # the data seed, not the seed, shuffled the batches


def test_a_trainer_without_train_dataset_evaluates_as_sentence_transformers(dropout_free_st, tmp_path):
    """``SentenceTransformerTrainer(model, args, eval_dataset=..., loss=...).evaluate()`` without training
    data, as scripts that only evaluate call it: the same eval loss; ``train()`` refuses, as there."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer import losses as reference_losses

    from sbert.sentence_transformer import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    data = Dataset.from_dict({"anchor": WORDS[:9], "positive": WORDS[2:11]})
    options = {"per_device_eval_batch_size": 4, "disable_tqdm": True}
    reference = Reference(str(dropout_free_st), device="cpu")
    theirs = ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **options),
        eval_dataset=data,
        loss=reference_losses.MultipleNegativesRankingLoss(reference),
    )
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    ours = SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(str(tmp_path / "ours"), **options),
        eval_dataset=data,
        loss=losses.MultipleNegativesRankingLoss(model),
    )
    assert ours.evaluate()["eval_loss"] == pytest.approx(theirs.evaluate()["eval_loss"], abs=1e-5)
    message = "Training requires specifying a train_dataset to the SentenceTransformerTrainer."
    with pytest.raises(ValueError, match=message):
        theirs.train()
    with pytest.raises(ValueError, match=message):
        ours.train()
    assert not (tmp_path / "ours").exists() or not any((tmp_path / "ours").iterdir())


def test_log_history_keys_in_sentence_transformers_order(dropout_free_st, tmp_path):
    """``trainer.state.log_history`` after ``train()``: each record's keys in the order there (the loss,
    grad_norm and learning_rate first, epoch and step last), so a DataFrame of it has the same columns."""
    import importlib

    import sentence_transformers
    from datasets import Dataset

    orders = []
    for library in (sbert, sentence_transformers):
        losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
        evaluation = importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        data = Dataset.from_dict({"anchor": WORDS[:8], "positive": WORDS[4:12]})
        evaluator = evaluation.EmbeddingSimilarityEvaluator(
            WORDS[:4], WORDS[4:8], [0.1, 0.5, 0.9, 0.3], name="dev"
        )
        args = library.SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / library.__name__), max_steps=2, per_device_train_batch_size=4,
            logging_steps=1, eval_strategy="steps", eval_steps=2, save_strategy="no", report_to="none",
            disable_tqdm=True,
        )  # fmt: skip
        trainer = library.SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, eval_dataset=data,
            loss=losses.MultipleNegativesRankingLoss(model), evaluator=evaluator,
        )  # fmt: skip
        trainer.train()
        timing = ("runtime", "per_second", "total_flos")
        orders.append([[k for k in r if not any(t in k for t in timing)] for r in trainer.state.log_history])
    ours, theirs = orders
    assert ours == theirs
    assert ours[0][:3] == ["loss", "grad_norm", "learning_rate"] and ours[0][-2:] == ["epoch", "step"]
