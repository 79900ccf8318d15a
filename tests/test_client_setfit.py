"""setfit's way of driving sentence-transformers' trainer (its ``BCSentenceTransformersTrainer``), without
setfit: a subclass made with a model and bare arguments only, then given Hugging Face's names on
``trainer.args``, its ``train_dataset`` / ``eval_dataset`` / ``loss`` as attributes, its own ``call_event`` on
``trainer.callback_handler``, its ``log`` / ``evaluate`` overrides; the same script runs with
sentence-transformers 6.3 and with sbert, only the imports changed."""

from __future__ import annotations

import numpy as np
import pytest

WORDS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
WORDS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]

SCRIPT = """
{imports}
import copy
from datasets import Dataset
from transformers import TrainerCallback


class Seen(TrainerCallback):  # what a callback of setfit's gets: setfit's arguments and model
    def on_train_begin(self, args, state, control, **kwargs):
        events.append(("on_train_begin", args.name, kwargs["model"], kwargs["st_model"] is model))

    def on_log(self, args, state, control, logs=None, **kwargs):
        events.append(("on_log", args.name, state.global_step, dict(logs)))


class Setfit(SentenceTransformerTrainer):
    def __init__(self, model, callbacks):
        self.logs_prefix = "embedding"
        super().__init__(model=model, args=SentenceTransformerTrainingArguments(output_dir=out, seed=12))
        self.args.per_device_train_batch_size = 4
        self.args.num_train_epochs = 2
        self.args.max_steps = -1
        self.args.learning_rate = 1e-4
        self.args.warmup_steps = 0.1  # a share of the run, as transformers 5 reads it
        self.args.logging_strategy = "steps"
        self.args.logging_first_step = True
        self.args.logging_steps = 2
        self.args.eval_strategy = "no"
        self.args.save_strategy = "no"
        self.args.load_best_model_at_end = False
        self.args.metric_for_best_model = "embedding_loss"  # with no evaluation: never looked up
        self.args.disable_tqdm = True

        def call_event(handler, event, args, state, control, **kwargs):
            for callback in handler.callbacks:
                result = getattr(callback, event)(
                    handler.setfit_args, state, control, model="setfit-model", st_model=handler.model,
                    optimizer=handler.optimizer, lr_scheduler=handler.lr_scheduler,
                    processing_class=handler.processing_class, train_dataloader=handler.train_dataloader,
                    eval_dataloader=handler.eval_dataloader, **kwargs,
                )
                if result is not None:
                    control = result
            return control

        handler = self.callback_handler
        handler.call_event = lambda *a, **k: call_event(handler, *a, **k)
        handler.setfit_args = copy.copy(self.args)  # setfit's arguments have Hugging Face's names too
        handler.setfit_args.name = "setfit-args"
        for callback in callbacks:
            self.add_callback(callback)
        handler.on_init_end(self.args, self.state, self.control)

    def add_model_card_callback(self, *args, **kwargs):  # setfit writes its own card
        pass

    def log(self, logs, *args, **kwargs):
        logs = {{f"{{self.logs_prefix}}_{{k}}" if k == "loss" else k: v for k, v in logs.items()}}
        return super().log(logs, *args, **kwargs)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        return super().evaluate(eval_dataset=eval_dataset, ignore_keys=ignore_keys,
            metric_key_prefix=f"{{metric_key_prefix}}_{{self.logs_prefix}}")


events = []
model = SentenceTransformer(path)
trainer = Setfit(model, [Seen()])
names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
pairs = Dataset.from_dict({{"sentence_1": words[:10], "sentence_2": words[2:12], "label": [1.0, 0.0] * 5}})
trainer.train_dataset = pairs
trainer.eval_dataset = None
trainer.loss = losses.CosineSimilarityLoss(model)
output = trainer.train()
evaluation = trainer.evaluate(pairs, ignore_keys=["x"])
embeddings = model.encode(words, convert_to_numpy=True)
"""
ST_IMPORTS = """
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer import losses
from sentence_transformers import SentenceTransformerTrainingArguments
"""
SBERT_IMPORTS = """
from sbert import SentenceTransformer
from sbert.sentence_transformer import SentenceTransformerTrainer, losses
from sbert.sentence_transformer import SentenceTransformerTrainingArguments
"""


def run_script(imports: str, path, out) -> dict:
    namespace = {"path": str(path), "out": str(out), "words": WORDS}
    exec(SCRIPT.format(imports=imports), namespace)
    return namespace


@pytest.fixture(scope="module")
def runs(dropout_free_st, tmp_path_factory) -> tuple[dict, dict]:
    out = tmp_path_factory.mktemp("setfit-pattern")
    return run_script(SBERT_IMPORTS, dropout_free_st, out / "ours"), run_script(
        ST_IMPORTS, dropout_free_st, out / "st"
    )


def test_values_set_after_the_trainer_is_made_are_trained_with(runs):
    """Hugging Face's names set on ``trainer.args``, and the data and loss set as attributes, once the
    trainer is made: the run is sentence-transformers' (steps, epochs, the logged losses and learning rates,
    the trained weights)."""
    ours, theirs = runs
    assert ours["trainer"].args is ours["trainer"].st_args  # trainer.args: the arguments given, as there
    assert ours["output"].global_step == theirs["output"].global_step == 6  # 2 epochs of 3 batches of 4
    assert ours["trainer"].state.epoch == pytest.approx(theirs["trainer"].state.epoch) == 2.0
    records = [[r for r in run["trainer"].state.log_history if "embedding_loss" in r] for run in runs]
    assert [r["step"] for r in records[0]] == [r["step"] for r in records[1]] == [1, 2, 4, 6]
    for key in ("embedding_loss", "learning_rate"):
        np.testing.assert_allclose([r[key] for r in records[0]], [r[key] for r in records[1]], rtol=1e-4)
    np.testing.assert_allclose(ours["embeddings"], theirs["embeddings"], atol=1e-5)


def test_a_replaced_call_event_sends_the_events(runs):
    """``callback_handler.call_event`` replaced (with attributes set on the handler): the run's events go
    through it, so callbacks get what it passes; the handler lists Hugging Face's default callbacks first."""
    ours, theirs = runs
    public = [name for name in theirs["names"] if not name.startswith("_")]  # (transformers' private one)
    assert ours["names"] == public == ["DefaultFlowCallback", "ProgressCallback", "Seen"]
    for run in runs:
        begin = [e for e in run["events"] if e[0] == "on_train_begin"]
        assert begin == [("on_train_begin", "setfit-args", "setfit-model", True)]
    # the run's records (trainer.evaluate()'s own on_log afterwards is left out: sbert's evaluate logs none)
    logged = [
        [
            (e[2], sorted(e[3]))
            for e in run["events"]
            if e[0] == "on_log" and "eval_embedding_loss" not in e[3]
        ]
        for run in runs
    ]
    assert logged[0] == logged[1]


def test_evaluate_override_with_ignore_keys(runs):
    ours, theirs = runs
    assert sorted(ours["evaluation"]) == sorted(theirs["evaluation"])
    assert ours["evaluation"]["eval_embedding_loss"] == pytest.approx(
        theirs["evaluation"]["eval_embedding_loss"], rel=1e-4
    )


def test_callbacks_added_and_removed_through_the_trainer(dropout_free_st, tmp_path):
    """``add_callback`` / ``pop_callback`` / ``remove_callback`` show in ``callback_handler.callbacks`` as
    the callback itself (as there); ``trainer.control`` is there before any run."""
    from transformers import TrainerCallback, TrainerControl

    import sbert
    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    class Mine(TrainerCallback):
        pass

    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    trainer = SentenceTransformerTrainer(
        model=model, args=SentenceTransformerTrainingArguments(str(tmp_path))
    )
    assert isinstance(trainer.control, TrainerControl)
    count, mine = len(trainer.callback_handler.callbacks), Mine()
    trainer.add_callback(mine)
    assert len(trainer.callback_handler.callbacks) == count + 1
    assert trainer.callback_handler.callbacks[-1] is mine
    assert trainer.pop_callback(mine) is mine and mine not in trainer.callback_handler.callbacks
    trainer.add_callback(mine)
    trainer.remove_callback(Mine)
    assert len(trainer.callback_handler.callbacks) == count
