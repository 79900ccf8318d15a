"""A model folder whose first module is the model's own code, as jina-embeddings-v3 ships it: modules.json's
first entry is ``"custom_st.Transformer"`` with ``"kwargs": ["task"]``, a class in a ``custom_st.py`` of the
folder (a plain ``nn.Module`` around an encoder with one adapter per task, its own ``tokenize``, ``forward``,
``save`` and one-argument ``load``), and per-task prompts in config_sentence_transformers.json. Loaded with
``trust_remote_code=True`` only, on torch, by sbert as by sentence-transformers 6.3: the same embeddings
per task and prompt, saved and loaded back by either library. Also a subclass of the library's Transformer
whose ``forward`` reads ``features["modality"]`` and a task keyword, and a model class overriding
``_load_module_class_from_ref``."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sbert

TEXTS = ["a man plays guitar", "the weather is lovely today", "cats sit", "he drove to the big stadium"]
TASKS = ["retrieval.query", "retrieval.passage", "text-matching"]
PROMPTS = {
    "retrieval.query": "Represent the query for retrieving evidence documents: ",
    "retrieval.passage": "Represent the document for retrieval: ",
    "text-matching": "",
}

# jina-embeddings-v3's custom_st.py in miniature: its constructor, tokenize, forward, save and load, with a
# per-task scale of the token embeddings in place of its LoRA adapters.
CUSTOM_ST = """
import json
import os

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer


class Transformer(nn.Module):
    save_in_root = True

    def __init__(self, model_name_or_path, max_seq_length=None, model_args=None, tokenizer_args=None,
                 config_args=None, cache_dir=None, do_lower_case=False, tokenizer_name_or_path=None,
                 **kwargs):
        super().__init__()
        self.config_keys = ["max_seq_length", "do_lower_case"]
        self.do_lower_case = do_lower_case
        model_args, tokenizer_args = dict(model_args or {}), dict(tokenizer_args or {})
        config_args = {"cache_dir": cache_dir, **(config_args or {})}
        self.config = AutoConfig.from_pretrained(model_name_or_path, **config_args)
        self._lora_adaptations = self.config.lora_adaptations
        self._adaptation_map = {name: i for i, name in enumerate(self._lora_adaptations)}
        self.default_task = model_args.pop("default_task", None)
        model_args.setdefault("cache_dir", cache_dir)
        self.auto_model = AutoModel.from_pretrained(model_name_or_path, config=self.config, **model_args)
        tokenizer_args.setdefault("cache_dir", cache_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_name_or_path or model_name_or_path,
                                                       **tokenizer_args)
        self.max_seq_length = max_seq_length

    def forward(self, features, task=None):
        if task and task not in self._adaptation_map:
            tasks = ", ".join(self._lora_adaptations)
            raise ValueError(f"Unsupported task '{task}'. Supported tasks are: {tasks}.")
        task = task or self.default_task
        output_states = self.auto_model.forward(**features, return_dict=False)
        tokens = output_states[0]
        if task:
            tokens = tokens * (1.25 + 0.25 * self._adaptation_map[task])
        features.update({"token_embeddings": tokens, "attention_mask": features["attention_mask"]})
        return features

    def get_word_embedding_dimension(self):
        return self.auto_model.config.hidden_size

    def tokenize(self, texts, padding=True):
        if isinstance(texts[0], str):
            columns = [texts]
        else:
            columns = [[pair[0] for pair in texts], [pair[1] for pair in texts]]
        columns = [[str(s).strip() for s in column] for column in columns]
        if self.do_lower_case:
            columns = [[s.lower() for s in column] for column in columns]
        return dict(self.tokenizer(*columns, padding=padding, truncation="longest_first", return_tensors="pt",
                                   max_length=self.max_seq_length))

    def get_config_dict(self):
        return {key: self.__dict__[key] for key in self.config_keys}

    def save(self, output_path, safe_serialization=True):
        self.auto_model.save_pretrained(output_path, safe_serialization=safe_serialization)
        self.tokenizer.save_pretrained(output_path)
        with open(os.path.join(output_path, "sentence_bert_config.json"), "w") as fOut:
            json.dump(self.get_config_dict(), fOut, indent=2)

    @classmethod
    def load(cls, input_path):
        with open(os.path.join(input_path, "sentence_bert_config.json")) as fIn:
            config = json.load(fIn)
        return cls(model_name_or_path=input_path, **config)
"""


def _reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer


def _forget_folder_code():
    """Each load imports the folder's own file afresh (as a new process would)."""
    for name in [n for n in sys.modules if n.split(".")[-1] == "custom_st"]:
        sys.modules.pop(name, None)


@pytest.fixture
def jina_like(tiny_bert, tmp_path) -> Path:
    folder = tmp_path / "jina-like"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "lora_adaptations": TASKS}))
    (folder / "custom_st.py").write_text(textwrap.dedent(CUSTOM_ST))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 48, "do_lower_case": False})
    )
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "2_Normalize").mkdir()
    entries = [
        {"idx": 0, "name": "transformer", "path": "", "type": "custom_st.Transformer", "kwargs": ["task"]},
        {"idx": 1, "name": "pooler", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {
            "idx": 2,
            "name": "normalizer",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(entries))
    settings = {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"}
    (folder / "config_sentence_transformers.json").write_text(json.dumps(settings))
    _forget_folder_code()
    yield folder
    _forget_folder_code()


CALLS = [
    {},
    {"task": "retrieval.query", "prompt_name": "retrieval.query"},
    {"task": "retrieval.passage", "prompt_name": "retrieval.passage"},
    {"task": "text-matching"},
    {"prompt": "query: "},
]


def _embeddings(model, **extra) -> list[np.ndarray]:
    return [np.asarray(model.encode(TEXTS, batch_size=3, **call, **extra)) for call in CALLS]


def _assert_same(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=0)


def test_a_custom_first_module_loads_and_encodes_per_task_as_in_sentence_transformers(jina_like):
    with pytest.raises(sbert.ModelLoadError, match=r"custom_st.Transformer.*trust_remote_code=True"):
        sbert.SentenceTransformer(str(jina_like))
    theirs = _reference()(str(jina_like), device="cpu", trust_remote_code=True)
    expected = _embeddings(theirs)
    assert not np.allclose(expected[0], expected[1], atol=1e-3)  # the task's adapter takes effect
    ours = sbert.SentenceTransformer(str(jina_like), device="cpu", trust_remote_code=True)
    assert ours.backend == "torch" and type(ours[0]).__name__ == "Transformer"
    _assert_same(_embeddings(ours), expected)
    assert ours.get_model_kwargs() == theirs.get_model_kwargs() == ["task"]
    assert ours.max_seq_length == theirs.max_seq_length == 48
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension() == 32
    tokens = ours.encode(TEXTS[:2], output_value="token_embeddings", task="text-matching")
    reference = theirs.encode(TEXTS[:2], output_value="token_embeddings", task="text-matching")
    for mine, their in zip(tokens, reference):
        np.testing.assert_allclose(mine.numpy(), their.numpy(), atol=1e-5, rtol=0)
    assert sorted(ours.preprocess(TEXTS[:2])) == sorted(theirs.preprocess(TEXTS[:2]))
    with pytest.raises(ValueError, match="Unsupported task 'nope'"):
        theirs.encode(TEXTS, task="nope")
    with pytest.raises(ValueError, match="Unsupported task 'nope'"):
        ours.encode(TEXTS, task="nope")


def test_model_kwargs_reach_the_custom_modules_constructor_as_there(jina_like):
    """jina-embeddings-v3's ``model_kwargs={"default_task": ...}``: sentence-transformers builds a module
    whose ``__init__`` takes ``model_args`` with them, as it builds its Transformer."""
    options = {
        "device": "cpu",
        "trust_remote_code": True,
        "model_kwargs": {"default_task": "retrieval.passage"},
    }
    theirs = _reference()(str(jina_like), **options)
    ours = sbert.SentenceTransformer(str(jina_like), **options)
    assert ours[0].default_task == theirs[0].default_task == "retrieval.passage"
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)


def test_a_custom_first_module_saves_and_loads_back_in_both_libraries(jina_like, tmp_path):
    expected = _embeddings(_reference()(str(jina_like), device="cpu", trust_remote_code=True))
    ours = sbert.SentenceTransformer(str(jina_like), device="cpu", trust_remote_code=True)
    ours.save(tmp_path / "ours")
    _reference()(str(jina_like), device="cpu", trust_remote_code=True).save(str(tmp_path / "theirs"))
    saved = json.loads((tmp_path / "ours" / "modules.json").read_text())
    assert saved[0]["type"] == "custom_st.Transformer" and saved[0]["kwargs"] == ["task"]
    assert (tmp_path / "ours" / "custom_st.py").is_file()  # the code travels with the model, as there
    for folder in ("ours", "theirs"):
        _forget_folder_code()
        again = sbert.SentenceTransformer(str(tmp_path / folder), device="cpu", trust_remote_code=True)
        _assert_same(_embeddings(again), expected)
        _forget_folder_code()
        reference = _reference()(str(tmp_path / folder), device="cpu", trust_remote_code=True)
        _assert_same(_embeddings(reference), expected)


# A subclass of the library's Transformer (the import line differs) whose forward reads the features'
# modality and a task keyword, as sentence-transformers 6 modules do.
TASK_TRANSFORMER = """
from {package}.models import Transformer


class TaskTransformer(Transformer):
    forward_kwargs = {{"task"}}

    def forward(self, features, task=None, **kwargs):
        assert features["modality"] == "text", features.get("modality")
        features = super().forward(features, **kwargs)
        if task == "query":
            features["token_embeddings"] = features["token_embeddings"] * 3.0
        return features
"""


@pytest.fixture
def task_transformers(tmp_path, monkeypatch):
    for package, name in (("sbert", "ours_task"), ("sentence_transformers", "theirs_task")):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(TASK_TRANSFORMER.format(package=package)))
        sys.modules.pop(name, None)
    monkeypatch.syspath_prepend(str(tmp_path))
    import ours_task
    import theirs_task

    yield ours_task.TaskTransformer, theirs_task.TaskTransformer
    for name in ("ours_task", "theirs_task"):
        sys.modules.pop(name, None)


def test_a_transformer_subclass_reads_modality_and_task_as_in_sentence_transformers(
    tiny_bert, task_transformers
):
    from sentence_transformers.sentence_transformer import modules as st_modules

    ours_class, theirs_class = task_transformers
    theirs = _reference()(
        modules=[theirs_class(str(tiny_bert)), st_modules.Pooling(32, "mean")], device="cpu"
    )
    ours = sbert.SentenceTransformer(modules=[ours_class(str(tiny_bert)), sbert.models.Pooling(32, "mean")])
    for call in ({}, {"task": "query"}, {"prompt": "query: "}):
        np.testing.assert_allclose(
            ours.encode(TEXTS, **call), theirs.encode(TEXTS, **call), atol=1e-5, rtol=0
        )


def test_a_load_module_class_from_ref_override_picks_the_class_as_there(dropout_free_st):
    """A model class overriding ``_load_module_class_from_ref`` (a span-pooling model swapping a saved
    module's class): called with sentence-transformers' arguments for each modules.json entry, and the class
    it returns is what loads."""
    calls = {}
    for name, lib in {"st": __import__("sentence_transformers"), "sbert": sbert}.items():
        calls[name] = recorded = []
        base = lib.SentenceTransformer

        class Halving(lib.models.Pooling):
            def forward(self, features, **kwargs):
                features = super().forward(features, **kwargs)
                features["sentence_embedding"] = features["sentence_embedding"] / 2
                return features

        class Swapping(base):
            def _load_module_class_from_ref(
                self,
                class_ref,
                model_name_or_path,
                trust_remote_code,
                revision,
                model_kwargs,
                *args,
                recorded=recorded,
                Halving=Halving,
                **kwargs,
            ):
                recorded.append((class_ref.rsplit(".", 1)[-1], trust_remote_code, revision, model_kwargs))
                if class_ref.endswith("Pooling"):
                    return Halving
                return super()._load_module_class_from_ref(
                    class_ref, model_name_or_path, trust_remote_code, revision, model_kwargs, *args, **kwargs
                )

        model = Swapping(str(dropout_free_st), device="cpu")
        calls[name].append(model.encode(TEXTS))
        assert type(model[1]).__name__ == "Halving"
    assert calls["sbert"][:-1] == calls["st"][:-1]
    assert [call[0] for call in calls["st"][:-1]] == ["Transformer", "Pooling"]
    np.testing.assert_allclose(calls["sbert"][-1], calls["st"][-1], atol=1e-5, rtol=0)
    plain = sbert.SentenceTransformer(str(dropout_free_st)).encode(TEXTS)
    np.testing.assert_allclose(calls["sbert"][-1], plain / 2, atol=1e-6, rtol=0)
