"""Cases a differential fuzzer of sentence-transformers' SentenceTransformerTrainer found (session 39): the
same dropout-free tiny model trained with the same arguments by sentence-transformers 6.3 and by sbert logs
the same records (losses, gradient norms, learning rates, eval losses) and ends with the same weights."""

from __future__ import annotations

import pytest
import torch
from trainer_subclass_probe import WORDS, library

PAIRS = {"anchor": WORDS[:8], "positive": WORDS[4:12]}
SCORES = {"sentence1": WORDS[:8], "sentence2": WORDS[4:12], "score": [i / 7 for i in range(8)]}
SETTINGS = {
    "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1, "save_strategy": "no",
}  # fmt: skip


def run(name, folder, out, *, data=PAIRS, evaluation=None, **options) -> dict:
    """A run of the library ``name`` on ``data`` (CoSENT where it has scores, else MNRL): its log records
    (the timings left out) and its final weights."""
    from datasets import Dataset

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    args = module.SentenceTransformerTrainingArguments(
        str(out), disable_tqdm=True, report_to="none", seed=7, **{**SETTINGS, **options}
    )
    loss = losses.CoSENTLoss(model) if "score" in data else losses.MultipleNegativesRankingLoss(model)
    trainer = module.SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict(data),
        eval_dataset=None if evaluation is None else Dataset.from_dict(evaluation),
        loss=loss,
    )
    trainer.train()
    timing = ("runtime", "per_second")
    records = [{k: v for k, v in r.items() if not k.endswith(timing)} for r in trainer.state.log_history]
    return {"records": records, "weights": {n: p.detach().clone() for n, p in model.named_parameters()}}


def assert_same(ours: dict, theirs: dict) -> None:
    assert [sorted(r) for r in ours["records"]] == [sorted(r) for r in theirs["records"]]
    for mine, reference in zip(ours["records"], theirs["records"]):
        # relative for large values: sbert's trainer runs a dropout-free model's rows in length groups, not
        # in sentence-transformers' padded batches, so kernels sum in another order (AVX2: grad_norm ~18 off
        # by 5.7e-5, 3.2e-6 of it); a real difference (a rate, a clipped norm, a loss) is far above that
        assert mine == pytest.approx(reference, rel=1e-5, abs=1e-5)
    for name, value in theirs["weights"].items():
        torch.testing.assert_close(ours["weights"][name], value, atol=1e-5, rtol=0, msg=name)


def both(folder, tmp_path, **run_options) -> tuple[dict, dict]:
    ours = run("sbert", folder, tmp_path / "ours", **run_options)
    return ours, run("st", folder, tmp_path / "st", **run_options)


def test_grad_norm_logged_without_clipping(dropout_free_st, tmp_path):
    """max_grad_norm=0 turns clipping off; transformers 5's trainer still logs each step's gradient norm."""
    ours, theirs = both(dropout_free_st, tmp_path, max_steps=3, max_grad_norm=0.0)
    assert all("grad_norm" in r for r in theirs["records"] if "loss" in r)
    assert_same(ours, theirs)


@pytest.mark.parametrize("data", [PAIRS, SCORES], ids=["mnrl", "cosent"])
def test_eval_on_start_without_eval_strategy(dropout_free_st, tmp_path, data):
    """eval_on_start evaluates before the first step even with eval_strategy="no", as Hugging Face's
    trainer does."""
    evaluation = {k: v[:4] for k, v in data.items()}
    ours, theirs = both(
        dropout_free_st, tmp_path, data=data, evaluation=evaluation, max_steps=2, eval_on_start=True
    )
    assert "eval_loss" in theirs["records"][0]
    assert_same(ours, theirs)
