"""Small differences against sentence-transformers 6.3, each checked on tiny offline models: a model folder's
own module code that imports a sibling file of the folder (``from .helpers import ...``) loads, and a save
copies both files so the saved folder loads again in either library."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_custom_first_module_s39 import CUSTOM_ST, TASKS

import sbert

TEXTS = ["a man plays guitar", "the weather is lovely today", "cats sit"]

# custom_st.py whose per-task scale comes from a sibling file of the model folder, imported relatively (the
# only form transformers' dynamic modules, and so sentence-transformers, resolve).
SCALE_LINE = "tokens = tokens * (1.25 + 0.25 * self._adaptation_map[task])"
CUSTOM_ST_WITH_HELPER = "from .scale_helpers import task_scale\n" + textwrap.dedent(CUSTOM_ST).replace(
    SCALE_LINE, "tokens = tokens * task_scale(self._adaptation_map[task])"
)
HELPERS = "def task_scale(index):\n    return 1.5 + 0.5 * index\n"


def _forget_folder_code():
    for name in [n for n in sys.modules if n.split(".")[-1] in ("custom_st", "scale_helpers")]:
        sys.modules.pop(name, None)
    for name in [n for n in sys.modules if "sbert_folder_code" in n]:
        sys.modules.pop(name, None)


@pytest.fixture
def helper_folder(tiny_bert, tmp_path) -> Path:
    folder = tmp_path / "with-helper"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "lora_adaptations": TASKS}))
    (folder / "custom_st.py").write_text(CUSTOM_ST_WITH_HELPER)
    (folder / "scale_helpers.py").write_text(HELPERS)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48}))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    entries = [
        {"idx": 0, "name": "transformer", "path": "", "type": "custom_st.Transformer", "kwargs": ["task"]},
        {"idx": 1, "name": "pooler", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (folder / "modules.json").write_text(json.dumps(entries))
    _forget_folder_code()
    yield folder
    _forget_folder_code()


def _encode(model) -> list[np.ndarray]:
    return [np.asarray(model.encode(TEXTS, task=task)) for task in TASKS]


def test_folder_code_importing_a_sibling_file_loads_and_saves_as_in_sentence_transformers(
    helper_folder, tmp_path
):
    from sentence_transformers import SentenceTransformer as Reference

    theirs = Reference(str(helper_folder), device="cpu", trust_remote_code=True)
    expected = _encode(theirs)
    assert not np.allclose(expected[0], expected[1], atol=1e-3)  # the helper's scale takes effect
    ours = sbert.SentenceTransformer(str(helper_folder), device="cpu", trust_remote_code=True)
    for mine, reference in zip(_encode(ours), expected):
        np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=0)

    ours.save(str(tmp_path / "ours"))
    theirs.save(str(tmp_path / "theirs"))
    saved_code = [{p.name for p in (tmp_path / saved).glob("*.py")} for saved in ("ours", "theirs")]
    assert saved_code[0] == saved_code[1] == {"custom_st.py", "scale_helpers.py"}
    for saved in ("ours", "theirs"):
        for load in (Reference, sbert.SentenceTransformer):
            _forget_folder_code()
            again = load(str(tmp_path / saved), device="cpu", trust_remote_code=True)
            for mine, reference in zip(_encode(again), expected):
                np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("extra_ids", [None, 5])
def test_a_t5_tokenizers_extra_special_tokens_are_its_sentinels_as_in_transformers(tmp_path, extra_ids):
    """A T5 folder that lists no extra tokens: transformers 5's T5 class hands on ``<extra_id_0>`` ...
    (``extra_ids`` of them, 100 by default) as its unnamed special tokens."""
    import sentencepiece
    from conftest import SENTENCES, WORDS
    from transformers import AutoTokenizer, T5Tokenizer

    from sbert._tokens.tokenizer import TextTokenizer

    (tmp_path / "corpus.txt").write_text("\n".join(SENTENCES * 3 + WORDS))
    sentencepiece.SentencePieceTrainer.train(
        input=str(tmp_path / "corpus.txt"), model_prefix=str(tmp_path / "sp"), vocab_size=100,
        character_coverage=1.0, minloglevel=2, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
    )  # fmt: skip
    options = {} if extra_ids is None else {"extra_ids": extra_ids}
    folder = tmp_path / "t5"
    T5Tokenizer(vocab_file=str(tmp_path / "sp.model"), **options).save_pretrained(folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("extra_special_tokens", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "special_tokens_map.json").unlink(missing_ok=True)

    theirs = AutoTokenizer.from_pretrained(str(folder))
    ours = TextTokenizer.from_folder(folder)
    assert len(theirs.extra_special_tokens) == (100 if extra_ids is None else extra_ids)
    assert ours.extra_special_tokens == list(theirs.extra_special_tokens)
    assert ours.additional_special_tokens == list(theirs.extra_special_tokens)
    text = "a man <extra_id_1> plays"
    assert ours.encode_texts([text])[0].ids == theirs(text)["input_ids"]
