"""Saving again what was loaded, on both libraries (session 42).

Tokenizers: a T5 (Unigram, no position limit) or XLM-RoBERTa folder whose tokenizer_config.json is in
transformers 4's form (``added_tokens_decoder``, ``additional_special_tokens``, special_tokens_map.json), as
most hub models ship it, loaded and saved by sentence-transformers (transformers 5 writes the tokenizer anew)
and by sbert (the folder's files, updated): each saved folder reloads with the same token ids in
sentence-transformers, sbert and transformers' AutoTokenizer, also after ``tokenizer.add_tokens``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCES, WORDS, build_tiny_bert

TEXTS = [
    *SENTENCES[:3],
    "a <mask> b<mask>c  <mask>",
    "newtok and <spec1>x, newtokens",
    "<pad> <unk> <s> </s> <extra_id_3>",
    "café naïve RÉSUMÉ  spaced   out ",
]


def _unigram_vocab(special: list[str]) -> list[tuple[str, float]]:
    """A small Unigram vocabulary trained by the tokenizers library (no sentencepiece), ``special`` first."""
    from tokenizers import SentencePieceUnigramTokenizer

    trainer = SentencePieceUnigramTokenizer()
    corpus = [*SENTENCES, *WORDS, *TEXTS[:3]] * 3
    trainer.train_from_iterator(corpus, vocab_size=200, special_tokens=special, unk_token="<unk>")
    return [tuple(piece) for piece in json.loads(trainer.to_str())["model"]["vocab"]]


def _as_transformers_4_saved(folder: Path, special_tokens_map: dict) -> None:
    """tokenizer_config.json as transformers 4.3x wrote it: every added token in ``added_tokens_decoder``,
    the unnamed special tokens under ``additional_special_tokens``, and a special_tokens_map.json."""
    config = json.loads((folder / "tokenizer_config.json").read_text())
    added = json.loads((folder / "tokenizer.json").read_text())["added_tokens"]
    fields = ("content", "lstrip", "normalized", "rstrip", "single_word", "special")
    config["added_tokens_decoder"] = {str(t["id"]): {k: t[k] for k in fields} for t in added}
    if "extra_special_tokens" in config:
        config["additional_special_tokens"] = config.pop("extra_special_tokens")
    for key in ("backend", "is_local", "local_files_only"):
        config.pop(key, None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(special_tokens_map, indent=2))


def _t5(folder: Path) -> Path:
    import torch
    import transformers

    vocab = _unigram_vocab(["<pad>", "</s>", "<unk>"])
    config = transformers.T5Config(
        vocab_size=len(vocab) + 20, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2, dropout_rate=0.0
    )
    torch.manual_seed(0)
    transformers.T5EncoderModel(config).eval().save_pretrained(folder)
    transformers.T5Tokenizer(vocab=vocab, extra_ids=10).save_pretrained(folder)
    extra = [f"<extra_id_{i}>" for i in range(10)]
    named = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    _as_transformers_4_saved(folder, {**named, "additional_special_tokens": extra})
    return folder


def _xlm_roberta(folder: Path) -> Path:
    import torch
    import transformers

    vocab = _unigram_vocab(["<s>", "<pad>", "</s>", "<unk>"])
    config = transformers.XLMRobertaConfig(
        vocab_size=len(vocab) + 20, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=72, pad_token_id=1,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.XLMRobertaModel(config).eval().save_pretrained(folder)
    transformers.XLMRobertaTokenizer(vocab=vocab, model_max_length=64).save_pretrained(folder)
    mask = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False}
    named = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>"}
    _as_transformers_4_saved(folder, {**named, "cls_token": "<s>", "pad_token": "<pad>", "mask_token": mask})
    return folder


def _bert(folder: Path) -> Path:
    build_tiny_bert(folder)
    config = json.loads((folder / "config.json").read_text())
    config["vocab_size"] += 20  # room for added tokens
    (folder / "config.json").write_text(json.dumps(config))
    import torch
    import transformers

    torch.manual_seed(0)
    model = transformers.BertModel(transformers.BertConfig(**config)).eval()
    model.save_pretrained(folder)
    _as_transformers_4_saved(
        folder, {k: f"[{k[:-6].upper()}]" for k in ("unk_token", "sep_token", "pad_token", "cls_token")}
    )
    return folder


FAMILIES = {"t5": _t5, "xlm-roberta": _xlm_roberta, "bert": _bert}


@pytest.fixture(scope="module", params=list(FAMILIES))
def transformers_4_folder(request, tmp_path_factory) -> Path:
    return FAMILIES[request.param](tmp_path_factory.mktemp(f"tok4-{request.param}") / "model")


def _add_tokens(model) -> None:
    """What a fine-tuning script does before training: new words and a new special token."""
    model.tokenizer.add_tokens(["newtok", "newtokens"])
    model.tokenizer.add_tokens(["<spec1>"], special_tokens=True)


def _ids(folder: Path) -> dict[str, list[list[int]]]:
    """The token ids of :data:`TEXTS` as each library reloads ``folder``."""
    from sentence_transformers import SentenceTransformer as Reference
    from transformers import AutoTokenizer

    from sbert import SentenceTransformer

    reference = Reference(str(folder), device="cpu")
    ours = SentenceTransformer(folder, device="cpu")
    return {
        "transformers": [AutoTokenizer.from_pretrained(str(folder))(text)["input_ids"] for text in TEXTS],
        "sentence-transformers": [reference.preprocess([t])["input_ids"][0].tolist() for t in TEXTS],
        "sbert": [np.asarray(ours.tokenize([t])["input_ids"][0]).tolist() for t in TEXTS],
    }


@pytest.mark.parametrize("backend", [None, "torch"])
@pytest.mark.parametrize("edit", [None, _add_tokens], ids=["as-loaded", "tokens-added"])
def test_a_resaved_tokenizer_reloads_as_sentence_transformers_saves_it(
    transformers_4_folder, edit, backend, tmp_path
):
    """sbert kept tokenizer_config.json's ``added_tokens_decoder`` as the folder had it after tokens were
    added: transformers, sentence-transformers and sbert read the added tokens from it, so the saved folder
    tokenized ``newtok`` and ``<spec1>`` as pieces again (embeddings 0.6 apart on the T5)."""
    from sentence_transformers import SentenceTransformer as Reference

    from sbert import SentenceTransformer

    reference = Reference(str(transformers_4_folder), device="cpu")
    options = {"backend": backend} if backend else {}
    ours = SentenceTransformer(transformers_4_folder, device="cpu", **options)
    for model in (reference, ours):
        if edit is not None:
            edit(model)
    reference.save(str(tmp_path / "st"))
    ours.save(str(tmp_path / "sbert"))
    theirs = _ids(tmp_path / "st")
    assert theirs["transformers"] == theirs["sentence-transformers"] == theirs["sbert"]
    mine = _ids(tmp_path / "sbert")
    for reader, ids in mine.items():
        assert ids == theirs["transformers"], reader
    if edit is not None:  # the reloaded model still knows the added tokens
        added = reference.tokenizer.convert_tokens_to_ids(["newtok", "newtokens", "<spec1>"])
        assert set(added) <= {i for ids in theirs["sentence-transformers"] for i in ids}


# ---------------------------------------------------------------------------------------------------------
# Resuming a finished run from its last checkpoint: Hugging Face's loop checks max_steps after each step only,
# so a train() resumed from the last checkpoint of a run that ended inside an epoch takes one more step (and
# logs and saves it as the run's last); one that ended with an epoch takes none.

RESUME_SETTINGS = {
    "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1, "disable_tqdm": True,
    "seed": 7, "report_to": "none", "save_strategy": "steps",
}  # fmt: skip


def _resume_trainer(name, folder, out, **options):
    from datasets import Dataset
    from trainer_subclass_probe import WORDS, library

    module, losses = library(name)
    model = module.SentenceTransformer(str(folder), device="cpu")
    return module.SentenceTransformerTrainer(
        model=model,
        args=module.SentenceTransformerTrainingArguments(str(out), **{**RESUME_SETTINGS, **options}),
        train_dataset=Dataset.from_dict({"anchor": WORDS[:10], "positive": WORDS[2:12]}),  # 3 batches
        loss=losses.MultipleNegativesRankingLoss(model),
    )


def _resumed_from_the_last_checkpoint(name, folder, out, last, **options) -> dict:
    import os

    _resume_trainer(name, folder, out, **options).train()
    trainer = _resume_trainer(name, folder, out, **options)
    output = trainer.train(resume_from_checkpoint=str(out / f"checkpoint-{last}"))
    # clock readings (and flos) compared by name only
    history = trainer.state.log_history
    volatile = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos")
    return {
        "history": [{k: None if k in volatile else v for k, v in r.items()} for r in history],
        "state": (trainer.state.global_step, trainer.state.epoch, trainer.state.max_steps),
        "output": (output.global_step, output.training_loss, output.metrics["train_loss"]),
        "weights": {n: p.detach().clone() for n, p in trainer.model[0].auto_model.named_parameters()},
        "checkpoints": sorted(p for p in os.listdir(out) if p.startswith("checkpoint-")),
    }


@pytest.mark.parametrize(
    ("last", "options"),
    [
        (4, {"max_steps": 4, "save_steps": 2, "lr_scheduler_type": "constant"}),  # inside epoch 2: one step
        (4, {"max_steps": 4, "save_steps": 2, "optim": "sgd"}),  # linear: the extra step's rate is 0
        (5, {"num_train_epochs": 1.5, "save_steps": 5, "lr_scheduler_type": "constant"}),
        (6, {"max_steps": 6, "save_steps": 3}),  # at an epoch's end: no step
    ],
    ids=["max-steps-constant", "max-steps-sgd", "epochs-fraction", "epoch-end"],
)
def test_resuming_the_last_checkpoint_steps_as_sentence_transformers(
    last, options, dropout_free_st, tmp_path
):
    """sbert's loop asked for the run's end before each step: resumed at max_steps it took none, where
    sentence-transformers (Hugging Face) takes step max_steps + 1 (its record, train_loss, checkpoint)."""
    import torch

    theirs = _resumed_from_the_last_checkpoint("st", dropout_free_st, tmp_path / "st", last, **options)
    ours = _resumed_from_the_last_checkpoint("sbert", dropout_free_st, tmp_path / "ours", last, **options)
    assert [set(r) for r in ours["history"]] == [set(r) for r in theirs["history"]]
    for mine, their in zip(ours["history"], theirs["history"]):
        assert mine == pytest.approx(their, rel=1e-5, abs=1e-5)
    assert ours["state"] == pytest.approx(theirs["state"], abs=1e-9)
    assert ours["output"] == pytest.approx(theirs["output"], abs=1e-5)
    for name, value in ours["weights"].items():
        torch.testing.assert_close(value, theirs["weights"][name], atol=1e-5, rtol=0, msg=name)
    assert ours["checkpoints"] == theirs["checkpoints"]
