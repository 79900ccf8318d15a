"""ONNX exports: trace the whole pipeline (or a cross-encoder) into one graph, quantize it, and cache it
beside the model (``<model>/onnx/sbert/``, :func:`export_location`).

Exporting needs torch (imported inside ``export_graph``); finding and reading a cached export does not.
The graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the encoder uses them) with
dynamic batch and sequence axes, and returns ``sentence_embedding`` (pooling, Dense and Normalize included)
and ``token_embeddings``. A pipeline whose Pooling leaves the prompt out (``include_prompt: false``) takes one
more input, ``prompt_length`` (an int64 scalar, 0 without a prompt), so one graph serves every prompt; other
pipelines' graphs stay as they were. A cross-encoder's graph (``classifier=True``) takes the same token
inputs and returns ``logits`` ``(batch, num_labels)``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .._errors import missing_extra
from .._format.encoder_class import forward_inputs
from .._format.graph_cache_place import CACHE_DIR, EXPORT_DIR
from .._format.layout import MODULES_FILE
from .._io.atomic import atomic_write_bytes
from .cpu import int8_weight_bits
from .onnx_fusion import fuse_graph, quiet_logger, tracing_attention
from .trace_check import check_trace, end_token, refuse_untraceable, untraceable

GRAPH_FILES = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
META_FILE = "sbert_export.json"
# The graph builder's version, recorded in an export's metadata ("builder"): a cache written by an older
# builder (none: its int8 graph was quantized from a trace or from the fp32 graph; 2: its int8 graph kept the
# down-projections fp32, before calibration split their outlier channels out; 3: its layer norms were ONNX
# Runtime's LayerNormalization kernels; 4: its int8 graph kept the value projections fp32 and smoothed no
# input; 5: its int8 graph's GELU was the tanh approximation, adding the up-projection's bias itself; 6: its
# layer norms were elementwise ops; 7: its fp32 GELU added the up-projection's bias; 8: it built decoder
# configs (is_decoder) with bidirectional attention, and mean-pooled plain causal-LM folders; 9: a Dense
# config without activation_function had none, not tanh; 10: its int8 graph masked the down-projections'
# outlier channels after the activation) is built again.
BUILDER_VERSION = 11
OPSET = 17
PROMPT_INPUT = "prompt_length"
# The metadata's record of the int8 graph's weight bits (sbert._backends.cpu.int8_weight_bits); exports
# without it have 8-bit weights.
INT8_BITS = "int8_weight_bits"
# Files whose change must trigger a new export: weights and every module config.
_FINGERPRINT_GLOBS = (
    "*.safetensors",
    "*.bin",
    "config.json",
    "sentence_bert_config.json",
    "modules.json",
    "*/config.json",
    "*/*.safetensors",
    "*.py",  # an architecture's own code (config.json's auto_map)
)
# The fingerprint's suffix for a graph traced from the model folder's own code (``trust_remote_code``).
FOLDER_CODE_MARK = "+folder-code"


def marked_fingerprint(fingerprint: str, folder_code: bool) -> str:
    """A cache's weights ``fingerprint``, marked where the load runs the model folder's code
    (``folder_code``): a trusted load's trace and an untrusted load's graph of the same weights differ."""
    return fingerprint + (FOLDER_CODE_MARK if folder_code else "")


def weights_fingerprint(folder: Path) -> str:
    """A cheap content fingerprint of a model folder: small files whole, big ones by size, head and tail."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in _FINGERPRINT_GLOBS for p in folder.glob(pattern) if p.is_file()})
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}:{size}:".encode())
        with open(path, "rb") as f:
            if size <= 1 << 20:
                digest.update(f.read())
            else:
                digest.update(f.read(1 << 18))
                f.seek(size // 2)
                digest.update(f.read(1 << 18))
                f.seek(-(1 << 18), os.SEEK_END)
                digest.update(f.read())
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheLook:
    """What one look at a folder's export cache read: where the cache is, the folder's weights fingerprint
    and the cache's metadata. A load looks once (``backend="auto"``'s readiness check) and hands the look to
    the backend's start, so the folder's files and the metadata are read once per load."""

    export_dir: Path
    fingerprint: str
    meta: dict[str, Any]
    folder_code: bool = False  # the encoder runs the model folder's code: only a trace of it is its graph


def look_at_cache(folder: Path, *, folder_code: bool = False) -> CacheLook:
    """Read ``folder``'s export cache and weights fingerprint now. ``folder_code``: this load runs the
    encoder from the folder's own code (``trust_remote_code``), not transformers' class of its model_type,
    so the graphs of the other kind of load (traced, or built from config.json) are not its graphs."""
    export_dir = export_location(folder)
    fingerprint = marked_fingerprint(weights_fingerprint(folder), folder_code)
    return CacheLook(export_dir, fingerprint, read_export_meta(export_dir), folder_code)


def export_location(folder: Path) -> Path:
    """``<model>/onnx/sbert`` for the user's own writable folders, else a per-user cache folder
    (``$SBERT_CACHE``, default ``~/.cache/sbert``). An earlier sbert's cache in ``<model>/onnx`` is removed
    then (:func:`retire_legacy_cache`)."""
    inside = folder / EXPORT_DIR / CACHE_DIR
    probe = next((path for path in (inside, inside.parent) if path.is_dir()), folder)
    if os.access(probe, os.W_OK) and not _is_shared_install(folder):
        retire_legacy_cache(folder)
        if inside.is_dir():  # a cache an earlier sbert made without its .gitignore gets one
            _ignore_in_git(inside)
        return inside
    cache = cache_root()
    location = Path("onnx") / hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    if (cache / location).is_dir():  # exported before: read there, even from a read-only cache
        return cache / location
    return writable_cache(cache) / location


def cache_root() -> Path:
    """The per-user cache of graphs: ``$SBERT_CACHE``, default ``~/.cache/sbert``."""
    return Path(os.environ.get("SBERT_CACHE", Path.home() / ".cache" / "sbert"))


def write_error(folder: Path) -> OSError | None:
    """None when a file can be made in the existing ``folder``, else the error that says why: a real write,
    not permission bits (root ignores them; a read-only mount or an ACL does not)."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
    except OSError as error:
        return error
    os.close(handle)
    os.unlink(probe)
    return None


@functools.cache  # one probe per cache folder and process
def writable_cache(cache: Path) -> Path:
    """``cache``, or where this process keeps its graphs when ``cache`` cannot be written (a read-only file
    system or home, as in containers and serverless functions): a private temporary folder, removed at exit,
    so the ONNX path still runs (torch is not needed to build a BERT-family graph)."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        problem: OSError | None = error
    else:
        problem = write_error(cache)
    if problem is None:
        return cache
    try:
        private = Path(tempfile.mkdtemp(prefix="sbert-cache-"))
    except OSError:
        return cache  # nowhere to write: the export's own error says so
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    logging.getLogger(__name__).warning(
        "The sbert cache %s cannot be written (%s); this process builds its ONNX graphs in %s, and the "
        "next one builds them again. Set SBERT_CACHE to a writable folder to keep them.",
        cache,
        problem,
        private,
    )
    return private


def writable_export_dir(export_dir: Path) -> Path:
    """Where a graph missing from ``export_dir`` is written: ``export_dir`` itself, or, for a folder of a
    cache that cannot be written (a pre-baked read-only cache holding some graphs, not the one needed now),
    the same folder in this process's writable cache (:func:`writable_cache`)."""
    cache = cache_root()
    if not export_dir.is_relative_to(cache):
        return export_dir
    existing = next(path for path in (export_dir, *export_dir.parents) if path.exists())
    if write_error(existing) is None:
        return export_dir
    return writable_cache(cache) / export_dir.relative_to(cache)


def writing_look(look: CacheLook) -> CacheLook:
    """``look``, or the look at its writable place (:func:`writable_export_dir`) when its folder cannot be
    written, so a graph it lacks is made, and found again, there."""
    target = writable_export_dir(look.export_dir)
    if target == look.export_dir:
        return look
    return CacheLook(target, look.fingerprint, read_export_meta(target), look.folder_code)


def _is_shared_install(folder: Path) -> bool:
    """Installed packages (the embedded default model) and Hugging Face cache snapshots: an export written
    there would change what ``backend="auto"`` picks for every other user of that install, even when root
    (or a writable venv) makes the folder writable."""
    parts = Path(os.path.abspath(folder)).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return "snapshots" in parts and any(part.startswith("models--") for part in parts)


def retire_legacy_cache(folder: Path) -> None:
    """Remove the cache earlier sbert versions wrote in ``<model>/onnx`` (whose ``model.onnx`` other tools
    read as theirs): only when its metadata proves it sbert's cache (a weights fingerprint, not an
    export-only folder), and only the graphs the metadata lists under sbert's graph names, their side files
    (``<graph>.<8 hex digits>.data``, the graph writer's names) and the metadata itself. Nothing else in the
    folder is touched."""
    legacy = folder / EXPORT_DIR
    meta = read_export_meta(legacy)
    if meta.get("export_only") or not isinstance(meta.get("fingerprint"), str):
        return
    graphs = meta.get("graphs") if isinstance(meta.get("graphs"), dict) else {}
    listed = [name for name in graphs.values() if name in GRAPH_FILES.values()]
    sides = [re.compile(re.escape(name) + r"\.[0-9a-f]{8}\.data") for name in listed]
    doomed = [legacy / name for name in listed]
    doomed += [path for path in legacy.iterdir() if any(side.fullmatch(path.name) for side in sides)]
    stuck = [path for path in doomed if not _unlink(path)]
    if not stuck:  # the metadata last: a graph that stays is retried next time
        _unlink(legacy / META_FILE)


def _unlink(path: Path) -> bool:
    """Remove ``path``; False when it is there and cannot be removed (a read-only folder, a file in use)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        return False
    return True


def folder_export_meta(folder: Path) -> dict[str, Any]:
    """The metadata of ``folder``'s own export (``sbert export``: ``onnx/`` holds its graphs, no weights);
    ``{}`` for any other folder, an earlier sbert's cache in ``onnx/`` included."""
    meta = read_export_meta(folder / EXPORT_DIR)
    return meta if meta.get("export_only") else {}


def read_export_meta(export_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((export_dir / META_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def find_current_graph(
    export_dir: Path,
    precision: str,
    fingerprint: str | None,
    *,
    prompt_input: bool = False,
    meta: dict[str, Any] | None = None,
) -> Path | None:
    """The cached graph for ``precision`` if it exists and is up to date: made from the files with
    ``fingerprint`` (when one is given) and, when ``prompt_input``, taking the prompt length. ``meta``: the
    export metadata when the caller has read it.

    A cached int8 graph (``fingerprint`` given) must also have the weight bits this CPU needs: a cache
    shared with a CPU of the other kind is rebuilt, an export-only folder's graph is what it is."""
    graph = export_dir / GRAPH_FILES[precision]
    meta = read_export_meta(export_dir) if meta is None else meta
    if not graph.is_file() or precision not in meta.get("graphs", {}):
        return None
    suits = precision != "int8" or fingerprint is None or precision not in _unsuited_graphs(meta)
    return graph if suits and _is_current(meta, fingerprint, prompt_input) else None


def int8_graph_bits(meta: dict[str, Any]) -> int:
    """The weight bits of the int8 graph that ``meta`` describes."""
    return meta.get(INT8_BITS, 8)


def _unsuited_graphs(meta: dict[str, Any]) -> set[str]:
    """The graphs of ``meta`` not for this CPU: an int8 graph whose weights have other bits than
    :func:`~sbert._backends.cpu.int8_weight_bits` gives (8-bit weights saturate where there is no VNNI)."""
    suited = "int8" not in meta.get("graphs", {}) or int8_graph_bits(meta) == int8_weight_bits()
    return set() if suited else {"int8"}


def _is_current(meta: dict[str, Any], fingerprint: str | None, prompt_input: bool) -> bool:
    if fingerprint is not None and meta.get("fingerprint") != fingerprint:
        return False
    # A cache an older graph builder wrote is stale: rebuilt where this builder handles the pipeline, else
    # left for torch (an older builder built some it got wrong: decoder configs). An export-only folder
    # (no fingerprint) is what it is.
    if fingerprint is not None and meta.get("built") and meta.get("builder") != BUILDER_VERSION:
        return False
    # Exports made before graphs took the prompt length pool the prompt's tokens: stale for such models.
    return not prompt_input or PROMPT_INPUT in meta.get("inputs", ())


def pools_without_prompt(network: Any) -> bool:
    """Whether a module of the torch pipeline leaves the prompt's tokens out of its pooling."""
    return any(getattr(module, "include_prompt", True) is False for module in network)


def require_exporter(precisions: Iterable[str]) -> None:
    """Fail now, before any model loads, unless the packages that export ``precisions`` are installed:
    onnx for tracing (torch's exporter needs it), onnxruntime too for int8 quantization."""
    needed = ("onnx", "onnxruntime") if "int8" in precisions else ("onnx",)
    for package in needed:
        if importlib.util.find_spec(package) is None:
            raise missing_extra(package, "onnx")


def graph_inputs(network: Any) -> list[str]:
    """The exported graph's input names, in the order its forward takes them."""
    names = ["input_ids", "attention_mask"]
    names += ["token_type_ids"] if getattr(network[0], "takes_token_type_ids", False) else []
    return names + ([PROMPT_INPUT] if pools_without_prompt(network) else [])


def export_graph(network: Any, destination: Path) -> None:
    """Trace the torch pipeline ``network`` into an ONNX graph at ``destination`` (written atomically)."""
    import torch

    names = graph_inputs(network)

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, *inputs):  # type: ignore[no-untyped-def]
            features = dict(zip(names, inputs))
            prompt_length = features.pop(PROMPT_INPUT, None)
            for module in self.network:
                if prompt_length is not None and getattr(module, "include_prompt", True) is False:
                    features = _traced_pooling(module, features, prompt_length)
                else:
                    features = module(features)
            return features["sentence_embedding"], features["token_embeddings"]

    sample = tuple(sample_input(name) for name in names if name != PROMPT_INPUT)
    sample += (torch.tensor(1, dtype=torch.int64),) if PROMPT_INPUT in names else ()
    axes = {name: {0: "batch", 1: "sequence"} for name in names if name != PROMPT_INPUT}
    axes |= {"sentence_embedding": {0: "batch"}, "token_embeddings": {0: "batch", 1: "sequence"}}
    outputs = ["sentence_embedding", "token_embeddings"]
    encoder = getattr(network[0], "auto_model", None)
    with tracing_attention(encoder) if encoder is not None else contextlib.nullcontext():
        trace_to_onnx(Pipeline(), network, sample, destination, inputs=names, outputs=outputs, axes=axes)


# The dynamic axes of the outputs a token-level graph may give (:func:`export_token_graph`).
OUTPUT_AXES = {
    "sentence_embedding": {0: "batch"},
    "token_embeddings": {0: "batch", 1: "sequence"},
}


def export_token_graph(modules: list[Any], destination: Path, output: str) -> None:
    """Trace torch ``modules`` (an input module with its ``auto_model`` first, then modules that map the
    features dict on) into an ONNX graph at ``destination`` from the token inputs to the feature ``output``
    (:data:`OUTPUT_AXES`): the graph of a SparseEncoder's masked-LM and SpladePooling, or of a
    MultiVectorEncoder's encoder and token modules, for an encoder family the graph builder does not write."""
    import torch

    names = ["input_ids", "attention_mask"]
    names += ["token_type_ids"] if getattr(modules[0], "takes_token_type_ids", False) else []

    class Tokens(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = torch.nn.ModuleList(modules)

        def forward(self, *inputs):  # type: ignore[no-untyped-def]
            features = dict(zip(names, inputs))
            for module in self.network:
                features = module(features)
            return features[output]

    wrapper = Tokens()
    sample = tuple(sample_input(name) for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {output: OUTPUT_AXES[output]}
    with tracing_attention(modules[0].auto_model):
        trace_to_onnx(wrapper, wrapper, sample, destination, inputs=names, outputs=[output], axes=axes)


def write_traced_graph(trace: Callable[[Path], None], graph: Path, precision: str) -> None:
    """The ``precision`` graph at ``graph`` from ``trace`` (which writes an fp32 trace to the path it is
    given): the trace itself, or the int8 graph quantized from it (:func:`quantize_int8`), as the traced
    pipelines' int8 graphs are."""
    require_exporter([precision])
    if precision == "fp32":
        trace(graph)
        return
    graph.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=graph.parent) as tmp:
        source = Path(tmp) / "fp32.onnx"
        trace(source)
        quantize_int8(source, graph)


def sample_input(name: str) -> Any:
    """A ``(2, 8)`` tracing input: ones, and token type 0 (XLM-R's type vocabulary has one entry)."""
    import torch

    make = torch.zeros if name == "token_type_ids" else torch.ones
    return make((2, 8), dtype=torch.int64)


def trace_to_onnx(
    wrapper: Any,
    model: Any,
    sample: tuple[Any, ...],
    destination: Path,
    *,
    inputs: list[str],
    outputs: list[str],
    axes: dict[str, dict[int, str]],
) -> None:
    """Trace ``wrapper`` (a torch module around ``model``, run in eval mode meanwhile) on ``sample`` into an
    ONNX graph at ``destination``, written atomically."""
    import torch

    sample = on_device_of(model, sample)
    config = _encoder_config(model)
    refuse_untraceable(config)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent) as tmp:
        path = Path(tmp) / "graph.onnx"
        was_training = model.training
        model.eval()
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # tracer warnings about Python control flow are expected
                torch.onnx.export(
                    wrapper,
                    sample,
                    str(path),
                    input_names=inputs,
                    output_names=outputs,
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
            # the exporter hands the wrapper back in its own (training) mode: eval again, then check that
            # the trace holds at other shapes
            check_trace(wrapper.eval(), sample, path, inputs, config)
        except torch.onnx.errors.OnnxExporterError as e:  # an operator ONNX has no counterpart for
            raise untraceable(getattr(config, "model_type", None), str(e).splitlines()[0]) from e
        finally:
            model.train(was_training)
        os.replace(path, destination)


def _encoder_config(model: Any) -> Any:
    """The transformers config of the encoder inside ``model`` (a pipeline or a transformers model)."""
    return next(
        (m.config for m in model.modules() if hasattr(getattr(m, "config", None), "model_type")), None
    )


def on_device_of(model: Any, sample: tuple[Any, ...]) -> tuple[Any, ...]:
    """``sample`` moved to the device of ``model``'s weights: a model on a GPU traces on GPU inputs."""
    weight = next(model.parameters(), None)
    return sample if weight is None else tuple(tensor.to(weight.device) for tensor in sample)


def classifier_inputs(model: Any, token_types: bool = True) -> list[str]:
    """The inputs of a sequence-classification model's graph: ``token_type_ids`` when it takes them and
    ``token_types`` (its tokenizer makes them, ``hf_methods.makes_token_types``): GPT-2's forward takes them
    but its tokenizer gives none, and there zeros are not the same as none (they add a token embedding)."""
    takes_types = token_types and "token_type_ids" in forward_inputs(model)
    return ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])


def export_classifier_graph(model: Any, destination: Path, token_types: bool = True) -> None:
    """Trace a ``transformers`` sequence-classification model (a cross-encoder) into an ONNX graph that maps
    ``input_ids``, ``attention_mask`` (and ``token_type_ids``: :func:`classifier_inputs`) to ``logits``
    ``(batch, num_labels)``."""
    import torch

    names = classifier_inputs(model, token_types)

    class Scores(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):  # type: ignore[no-untyped-def]
            return self.model(**dict(zip(names, inputs)), return_dict=True).logits

    sample = tuple(sample_input(name) for name in names)
    eos = end_token(model.config)
    if eos is not None:  # each text ends in it, as its tokenizer makes them: BART's head reads it
        sample[0][:, -1] = eos
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"logits": {0: "batch"}}
    with tracing_attention(model):  # the attention ops that fuse_graph recognises, masks the tracer follows
        trace_to_onnx(Scores(), model, sample, destination, inputs=names, outputs=["logits"], axes=axes)


def _traced_pooling(pooling: Any, features: dict[str, Any], prompt_length: Any) -> dict[str, Any]:
    """Pooling's forward with the prompt length as a graph input (0: no prompt). Pooling itself reads the
    length as a Python int, which the tracer would freeze into the graph as a constant."""
    import torch

    from .._modules.pooling import POOLING_FUNCTIONS, exclude_prompt, weightedmean_pooling

    tokens, mask = features["token_embeddings"], features["attention_mask"]  # (B, T, D), (B, T)
    text_only = exclude_prompt(mask, prompt_length)
    pooled = [
        weightedmean_pooling(tokens, text_only, full_mask=mask)  # weights count from the prompt's start
        if mode == "weightedmean"
        else POOLING_FUNCTIONS[mode](tokens, text_only)
        for mode in pooling.modes
    ]
    features["sentence_embedding"] = torch.cat(pooled, dim=-1)
    return features


def quantize_int8(source: Path, destination: Path) -> None:
    """Dynamic int8 quantization of the weight matmuls, per output channel.

    The attention value projections and the feed-forward down-projections stay fp32
    (:func:`sbert._backends.onnx_graph.int8_sensitive_matmuls` says why): with them the mean cosine to
    fp32 is about 0.997 and STSb Spearman within 0.1 point; quantizing them too gave 0.992.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .onnx_graph import int8_sensitive_matmuls

    keep_fp32 = int8_sensitive_matmuls(onnx.load(str(source)).graph)
    with (
        tempfile.TemporaryDirectory(dir=destination.parent) as tmp,
        warnings.catch_warnings(),
        quiet_logger(),
    ):
        warnings.simplefilter("ignore")
        path = Path(tmp) / "graph.onnx"
        quantize_dynamic(
            str(source),
            str(path),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=keep_fp32,
            reduce_range=int8_weight_bits() == 7,  # 7-bit weights where 8-bit ones saturate
        )
        os.replace(path, destination)


def write_export_meta(
    export_dir: Path, *, fingerprint: str | None, precisions: list[str], info: dict[str, Any]
) -> None:
    """The metadata of ``export_dir``'s ``precisions`` graphs; an int8 graph among them was written (or kept,
    :func:`_unsuited_graphs`) for this CPU's weight bits."""
    meta = {
        "fingerprint": fingerprint,
        "graphs": {p: GRAPH_FILES[p] for p in precisions},
        "opset": OPSET,
        **({INT8_BITS: int8_weight_bits()} if "int8" in precisions else {}),
        **info,
    }
    atomic_write_bytes(export_dir / META_FILE, json.dumps(meta, indent=2).encode())
    _ignore_in_git(export_dir)


# sbert's cache in a model folder is made again when missing: git leaves it out (as pytest's, ruff's caches).
_GITIGNORE = b"# sbert's graph cache (made again from the weights when missing)\n*\n"


def _ignore_in_git(export_dir: Path) -> None:
    """A ``.gitignore`` of everything in the ``<model>/onnx/sbert`` cache that holds ``export_dir``, so a
    model folder under git (or ``git add .``) leaves out the cache."""
    cache = next((p for p in (export_dir, *export_dir.parents) if p.name == CACHE_DIR), None)
    if cache is None or cache.parent.name != EXPORT_DIR or (cache / ".gitignore").exists():
        return
    with contextlib.suppress(OSError):  # a convenience: never the reason a graph is not cached or run
        atomic_write_bytes(cache / ".gitignore", _GITIGNORE)


def write_graphs(
    network: Any,
    export_dir: Path,
    precisions: list[str],
    *,
    fingerprint: str | None,
    info: dict[str, Any],
    current: tuple[str, ...] = (),
    classifier: bool = False,
    token_types: bool = True,
) -> None:
    """The one export sequence: the fp32 graph, the int8 graph quantized from it, then the metadata.

    ``network`` is a pipeline (``nn.Sequential`` of sbert modules) or, with ``classifier``, a cross-encoder's
    ``transformers`` sequence-classification model (its graph outputs ``logits``; ``token_types``: its
    tokenizer makes ``token_type_ids``, :func:`classifier_inputs`).
    Graphs in ``current`` are up to date and kept. An fp32 graph made only to quantize from is removed.
    """
    fp32 = export_dir / GRAPH_FILES["fp32"]
    trace = partial(export_classifier_graph, token_types=token_types) if classifier else export_graph
    encoder = network if classifier else getattr(network[0], "auto_model", None)
    if "fp32" not in current:
        trace(network, fp32)
    if "int8" in precisions and "int8" not in current:
        with tempfile.TemporaryDirectory(dir=export_dir) as tmp:
            source = fp32 if "fp32" not in current else Path(tmp) / "unfused.onnx"
            if source != fp32:  # the kept fp32 graph is fused: quantize from a plain trace
                trace(network, source)
            quantize_int8(source, export_dir / GRAPH_FILES["int8"])
    fresh_fp32 = "fp32" in precisions and "fp32" not in current
    fused = fresh_fp32 and fuse_graph(fp32, getattr(encoder, "config", None))
    if "fp32" not in precisions:
        fp32.unlink()
    info = {**info, "fused": fused} if fused else info
    if classifier:
        inputs = classifier_inputs(network, token_types)
        shape = {"architecture": type(network).__name__, "inputs": inputs}
        info = {**shape, "outputs": ["logits"], **info}
    else:
        info = {"architecture": type(network[0].model).__name__, "inputs": graph_inputs(network), **info}
    write_export_meta(export_dir, fingerprint=fingerprint, precisions=precisions, info=info)


def ensure_graph(
    folder: Path,
    precision: str,
    torch_network: Callable[[], Any],
    *,
    prompt_input: bool = False,
    classifier: bool = False,
    token_types: bool = True,
    look: CacheLook | None = None,
) -> Path:
    """The cached graph of ``folder``'s model for ``precision``, exported now if missing or stale.

    ``prompt_input``: the model's Pooling leaves the prompt out, so the graph must take its length.
    ``classifier``: ``torch_network()`` gives a cross-encoder's sequence-classification model, whose
    tokenizer makes ``token_type_ids`` or not (``token_types``, :func:`classifier_inputs`).
    ``look``: this load's look at the cache (:func:`look_at_cache`), else it is read now.
    """
    look = look or look_at_cache(folder)
    export_dir, fingerprint, meta = look.export_dir, look.fingerprint, look.meta
    graph = find_current_graph(export_dir, precision, fingerprint, prompt_input=prompt_input, meta=meta)
    outdated = not look.folder_code and _builder_replaces(folder, meta, classifier)
    # an older sbert traced such a classifier with token types its tokenizer never makes (fed as zeros)
    outdated = outdated or _traces_unmade_types(meta, classifier and not token_types)
    if graph is not None and not outdated:
        return graph
    writable = writing_look(look)
    if writable is not look:  # a read-only cache lacks it: made (or found) in its writable place
        arguments = {"prompt_input": prompt_input, "classifier": classifier, "token_types": token_types}
        return ensure_graph(folder, precision, torch_network, **arguments, look=writable)
    fresh = _is_current(meta, fingerprint, prompt_input) and not outdated
    unsuited = _unsuited_graphs(meta)
    current = [p for p in meta.get("graphs", {}) if fresh and p not in unsuited]
    # the graph builder writes transformers' class of the model_type, not the folder's code: traced
    if not look.folder_code and _build_graphs(
        folder, export_dir, precision, current, fingerprint, classifier
    ):
        return export_dir / GRAPH_FILES[precision]
    if "fp32" not in current:  # a trace: everything is made anew from a fresh fp32 graph
        current = []
    precisions = current + [p for p in dict.fromkeys(("fp32", precision)) if p not in current]
    require_exporter(precisions)
    write_graphs(
        torch_network(),
        export_dir,
        precisions,
        fingerprint=fingerprint,
        info={},
        current=tuple(current),
        classifier=classifier,
        token_types=token_types,
    )
    return export_dir / GRAPH_FILES[precision]


def _traces_unmade_types(meta: dict[str, Any], no_types: bool) -> bool:
    """Whether ``meta`` describes a traced graph taking ``token_type_ids`` where the tokenizer makes none
    (``no_types``). Built graphs stay: the builder's families read zeros as no types."""
    return no_types and not meta.get("built") and "token_type_ids" in meta.get("inputs", ())


def _builder_replaces(folder: Path, meta: dict[str, Any], classifier: bool) -> bool:
    """Whether the cached graphs are a torch trace (an older sbert's export) or an older builder's graphs
    of a pipeline the graph builder handles: its graphs replace them (the fp32 graph 1.35x faster than an
    unfused trace on 140-token texts, AVX2 EPYC; the int8 graph as fast as a trace's and, unlike an older
    builder's, with the query and key projections quantized), so which graph ``backend="auto"`` runs does
    not depend on what was cached before."""
    if meta.get("builder") == BUILDER_VERSION or not meta.get("graphs"):
        return False
    from .graph_builder import can_build

    return can_build(folder, classifier=classifier)


def build_graph(folder: Path, *, classifier: bool = False, look: CacheLook | None = None) -> bool:
    """Write the fp32 graph of ``folder``'s pipeline (``classifier``: cross-encoder) with the graph builder
    (no torch) into its export location, with the metadata that makes it current; False, writing nothing,
    for a model the builder does not handle. ``look``: this load's look at the cache, else read now."""
    look = writing_look(look or look_at_cache(folder))
    location, fingerprint, meta = look.export_dir, look.fingerprint, look.meta
    fresh = meta.get("builder") == BUILDER_VERSION and meta.get("fingerprint") == fingerprint
    rebuilt = {"fp32", *_unsuited_graphs(meta)}
    current = [p for p in meta.get("graphs", {}) if fresh and p not in rebuilt]  # an int8 graph is kept
    return _build_graphs(folder, location, "fp32", current, fingerprint, classifier)


def _build_graphs(
    folder: Path,
    export_dir: Path,
    precision: str,
    current: list[str],
    fingerprint: str,
    classifier: bool = False,
) -> bool:
    """The export without torch: the ``precision`` graph written from the folder's configs and safetensors
    by :mod:`sbert._backends.graph_builder`, beside the ``current`` graphs (this builder's, up to date);
    False, writing nothing, for pipelines it cannot write."""
    from .graph_builder import build_pipeline_graph

    destination = export_dir / GRAPH_FILES[precision]
    if not build_pipeline_graph(
        folder, destination, classifier=classifier, precision=precision, weight_bits=int8_weight_bits()
    ):
        return False
    precisions = [*current, *([precision] if precision not in current else [])]
    info = _built_info(folder, classifier)
    write_export_meta(export_dir, fingerprint=fingerprint, precisions=precisions, info=info)
    return True


def export_built_graph(folder: Path, export_dir: Path, precision: str, *, classifier: bool = False) -> bool:
    """The graph of an export-only folder (``sbert export``) written by the graph builder, without torch or
    onnx (fp32 or int8); False, writing nothing, for a model the builder does not handle."""
    from .graph_builder import build_pipeline_graph

    export_dir.mkdir(parents=True, exist_ok=True)
    graph = export_dir / GRAPH_FILES[precision]
    if not build_pipeline_graph(
        folder, graph, classifier=classifier, precision=precision, weight_bits=int8_weight_bits()
    ):
        return False
    info = {"export_only": True, **_built_info(folder, classifier)}
    write_export_meta(export_dir, fingerprint=None, precisions=[precision], info=info)
    return True


def exports_without_torch(folder: Path, precision: str, *, classifier: bool = False) -> bool:
    """Whether :func:`export_built_graph` writes ``folder``'s export for ``precision``: the graph builder
    handles the model. An embedding model's folder must name its modules (modules.json), which the export
    copies; a plain encoder folder's are written by its torch modules."""
    from .graph_builder import can_build

    if precision not in GRAPH_FILES:
        return False
    if not classifier and not (Path(folder) / MODULES_FILE).is_file():
        return False
    return can_build(folder, classifier=classifier)


def _built_info(folder: Path, classifier: bool) -> dict[str, Any]:
    """The export metadata of a built graph: what a traced export records, and ``built``."""
    from .graph_builder import graph_inputs

    info = {"architecture": _architecture(folder), "inputs": graph_inputs(folder, classifier=classifier)}
    info |= {"built": True, "builder": BUILDER_VERSION}
    return info | ({"outputs": ["logits"]} if classifier else {})


def _architecture(folder: Path) -> str | None:
    """The transformers class config.json names (what a traced export records), if it names one."""
    config = folder / "config.json"
    names = json.loads(config.read_text(encoding="utf-8")).get("architectures") if config.is_file() else None
    return names[0] if names else None
