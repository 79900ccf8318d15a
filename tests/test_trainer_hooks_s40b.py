"""More Hugging Face ``Trainer`` behaviour of sentence-transformers' trainers that a subclass or a user sees
(session 40, second pass): a subclass's ``evaluate`` during a run with a dict of eval datasets, the folder a
``_save`` override gets and the files a checkpoint holds, the ``greedy`` schedule, an epoch without batches,
and the eval loss with ``dataloader_drop_last``. Each runs on sbert and on sentence-transformers, same seed
and dropout-free model: the same calls, records and files."""

from __future__ import annotations

from test_trainer_hooks_s40 import EVAL, OTHER, _own_evaluate, _run_compare


def test_a_runs_evaluation_of_a_dict_calls_evaluate_for_each(dropout_free_st, tmp_path):
    """Hugging Face's ``train()`` calls ``self.evaluate(ignore_keys=None)``, whose ``super()`` calls
    ``self.evaluate`` again for each dataset of a dict (its name, ``metric_key_prefix="eval_<name>"``): a
    subclass's override sees all three calls, and each dataset's record is logged inside its own."""
    _run_compare(
        _own_evaluate, dropout_free_st, tmp_path, {"a": EVAL, "b": OTHER}, eval_strategy="steps", eval_steps=2
    )
