"""Torch-free ONNX graphs of whole pipelines, built from ``config.json`` and ``model.safetensors``.

The graph is the one ``sbert._backends.onnx_export.export_graph`` traces with torch (same inputs, outputs,
dynamic axes and opset), written directly with ONNX Runtime's fused CPU kernels for the encoder families
in :data:`ENCODER_BUILDERS`, then the pipeline's Pooling, Dense and Normalize modules; for a cross-encoder
(``classifier=True``: a sequence-classification model), the encoder and its task head
(:mod:`.classifier`), giving ``logits`` as the traced classifier export does. Pipelines it cannot
write (another input module or module type, another architecture, a config value it does not handle)
are left to the torch export: :func:`build_pipeline_graph` returns False for them and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._errors import InvalidModelFileError, ModelLoadError, TokenIdOutOfRangeError, warn_at_caller
from ..._format.layout import (
    PipelineInfo,
    describe_pipeline,
    is_own_folder,
    label_count,
    normalize_features,
    pooling_config,
    pooling_width_note,
    read_json,
    read_modules,
)
from ..._format.weights import safetensors_names
from . import head
from .bert import ROBERTA_TYPES, bert_shape, build_bert
from .calibration import calibrate, calibration_batch
from .checkpoint import Checkpoint, field, weight_files
from .classifier import Head, classifier_head, classify
from .distilbert import build_distilbert, distilbert_shape
from .mpnet import PADDING_IDX, build_mpnet
from .ops import PROMPT_INPUT, Calibration, Graph, NotBuildable
from .pooling import pool
from .writer import write_model

EMBEDDINGS_ANCHOR = "embeddings.word_embeddings.weight"
POSITION_TABLE = "position_embeddings.weight"  # a learned absolute position table (BERT, ELECTRA, XLM)
HANDLED_MODULES = frozenset({"Transformer", "Pooling", "Dense", "Normalize"})


@dataclass(frozen=True)
class EncoderFamily:
    """How to build one encoder family: ``shape(config, path)`` checks config.json (ModelLoadError for a
    missing field, NotBuildable for a value not handled) without reading weights; ``build(graph, config,
    path, checkpoint)`` writes the encoder and returns its token embeddings and their width."""

    shape: Callable[[dict[str, Any], Path], Any]
    build: Callable[[Graph, dict[str, Any], Path, Checkpoint], tuple[str, int]]
    token_types: bool  # the graph takes token_type_ids (the transformers model's forward does)


_BERT = EncoderFamily(bert_shape, build_bert, token_types=True)
# The one registry of encoder families, by config.json's model_type.
ENCODER_BUILDERS: dict[str, EncoderFamily] = {
    "bert": _BERT,
    "roberta": _BERT,
    "xlm-roberta": _BERT,
    "camembert": _BERT,
    "distilbert": EncoderFamily(distilbert_shape, build_distilbert, token_types=False),
    "mpnet": EncoderFamily(bert_shape, build_mpnet, token_types=False),
}


def can_build(folder: Path, *, classifier: bool = False) -> bool:
    """Whether :func:`build_pipeline_graph` can build ``folder``'s model (reads its configs only)."""
    try:
        graph_inputs(Path(folder), classifier=classifier)
    except (NotBuildable, ModelLoadError):
        return False
    return True


def graph_inputs(folder: Path, *, classifier: bool = False, modules: int | None = None) -> list[str]:
    """The input names of the graph :func:`build_pipeline_graph` writes for ``folder`` (configs only; for
    the export metadata), as ``onnx_export`` gives them for the traced graph."""
    if classifier:
        family, prompt = _classifier_plan(Path(folder))[2], False
    else:
        info, _, family = _plan(Path(folder), modules)
        prompt = not info.includes_prompt
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if family.token_types else [])
    return names + ([PROMPT_INPUT] if prompt else [])


def build_pipeline_graph(
    folder: Path,
    destination: Path,
    *,
    classifier: bool = False,
    precision: str = "fp32",
    weight_bits: int | None = None,
    modules: int | None = None,
) -> bool:
    """Write the ONNX graph of the pipeline in ``folder`` (with ``classifier``: of the cross-encoder; with
    ``modules``: of its first that many modules, a CSR sparse encoder's dense part) to ``destination``
    (atomically) and return True; False, writing nothing, when the model is not one this builder handles.
    ``precision="int8"``: the fast graph (:meth:`Graph.quantized_linear`), calibrated by the fp32 graph run
    on a few texts (:mod:`.calibration`), its weights in ``weight_bits`` (8, or 7 for CPUs whose int8
    kernels saturate; None: this CPU's, :func:`sbert._backends.cpu.int8_weight_bits`). A corrupt config or
    weight file raises ModelLoadError naming the file and the field or tensor."""
    if precision not in ("fp32", "int8"):
        raise ValueError(f"precision must be 'fp32' or 'int8', got {precision!r}")
    folder = Path(folder)

    def build(**int8: Any) -> Graph:
        if classifier:
            return classifier_graph(folder, **int8)
        return pipeline_graph(folder, modules=modules, **int8)

    try:
        graph = build()
        if precision == "int8":
            calibration = _calibrate(folder, graph, classifier, modules)
            graph = build(int8=True, calibration=calibration, weight_bits=weight_bits)
    except NotBuildable:
        return False
    write_model(graph, Path(destination))
    return True


def classifier_graph(
    folder: Path,
    *,
    int8: bool = False,
    calibration: Calibration | None = None,
    weight_bits: int | None = None,
) -> Graph:
    """The graph of the cross-encoder in ``folder``: token inputs to ``logits`` ``(batch, num_labels)``.
    ``calibration``: the int8 graph's (:mod:`.calibration`)."""
    encoder, config, family, task_head = _classifier_plan(folder)
    path = encoder / "config.json"
    graph = Graph(int8=int8, calibration=calibration, weight_bits=weight_bits)
    checkpoint = Checkpoint(weight_files(encoder), EMBEDDINGS_ANCHOR)
    tokens, width = family.build(graph, config, path, checkpoint)
    labels = label_count(config, path)
    logits = classify(graph, tokens, width, task_head, labels, checkpoint)
    graph.output(logits, "logits", ["batch", labels])
    return graph


def pipeline_graph(
    folder: Path,
    *,
    int8: bool = False,
    calibration: Calibration | None = None,
    weight_bits: int | None = None,
    modules: int | None = None,
) -> Graph:
    """The graph of the pipeline in ``folder`` (of its first ``modules``; NotBuildable when not handled).
    ``calibration``: the int8 graph's (:mod:`.calibration`)."""
    info, config, family = _plan(folder, modules)
    path = info.transformer_path / "config.json"
    graph = Graph(int8=int8, calibration=calibration, weight_bits=weight_bits)
    checkpoint = Checkpoint(weight_files(info.transformer_path), EMBEDDINGS_ANCHOR)
    tokens, width = family.build(graph, config, path, checkpoint)
    sentence, sentence_width, source = None, width, 0  # source: the module that gave the width
    for index, entry in enumerate(info.entries[1:], start=1):
        module = folder / entry.path if entry.path else None
        if entry.kind == "Pooling":
            expected, modes, include_prompt = pooling_config(module, width, config)
            if expected != sentence_width:  # it pools what it gets, as the torch Pooling does
                given = f"module {source} ({info.entries[source].kind})"
                warn_at_caller(
                    pooling_width_note(f"{folder}: ", index, expected, given, sentence_width, entry.path)
                )
            sentence, sentence_width = (
                pool(graph, tokens, modes, include_prompt=include_prompt),
                width * len(modes),
            )
        elif sentence is None or module is None and entry.kind == "Dense":
            raise NotBuildable(f"{entry.kind} before any Pooling")
        elif entry.kind == "Dense":
            expected = field(read_json(module / "config.json"), module / "config.json", "in_features")
            _check_width(folder, info, index, expected, sentence_width, source)
            sentence, sentence_width = head.dense(graph, sentence, module, index)
        else:  # Normalize (_plan let no other kind through)
            features = normalize_features(module)
            if features != ("sentence_embedding", "sentence_embedding"):
                raise NotBuildable(f"{entry.kind} of {features}")
            sentence = head.normalize(graph, sentence)
        source = index if entry.kind != "Normalize" else source
    if sentence is None:
        raise NotBuildable("a pipeline without Pooling")
    graph.output(sentence, "sentence_embedding", ["batch", sentence_width])
    graph.output(tokens, "token_embeddings", ["batch", "sequence", width])
    return graph


def _calibrate(
    folder: Path, fp32_graph: Graph, classifier: bool, modules: int | None = None
) -> Calibration | None:
    """The int8 graph's calibration, from the model's fp32 graph run on the calibration texts; None when
    its tokenizer cannot be read here or gives ids outside the encoder's tables."""
    encoder = _classifier_plan(folder)[0] if classifier else _plan(folder, modules)[0].transformer_path
    # a cross-encoder may keep its tokenizer beside modules.json rather than in its encoder's folder
    batch = calibration_batch([encoder, folder], pairs=classifier)
    try:
        return None if batch is None else calibrate(fp32_graph, batch)
    except TokenIdOutOfRangeError:  # the tokenizer gives ids the encoder has no row for (a pair's
        # token type 1 with type_vocab_size 1): left uncalibrated, the model loads as on torch, and the
        # batches that hold such ids raise there, as the fp32 graph's do
        return None


def _plan(folder: Path, modules: int | None = None) -> tuple[PipelineInfo, dict[str, Any], EncoderFamily]:
    """The pipeline description (of its first ``modules``), the encoder's config.json and its family, or
    NotBuildable saying what this builder does not handle. Reads configs only."""
    info = describe_pipeline(folder, modules=modules)
    kinds = [entry.kind for entry in info.entries]
    if info.input_kind != "Transformer" or not HANDLED_MODULES.issuperset(kinds):
        raise NotBuildable(f"modules {kinds}")
    config, family = encoder_plan(info.transformer_path)
    for entry in info.entries:
        if entry.kind == "Dense" and entry.path:
            head.dense_activation(folder / entry.path)
    return info, config, family


def _classifier_plan(folder: Path) -> tuple[Path, dict[str, Any], EncoderFamily, Head]:
    """The cross-encoder's encoder folder (its first module in sentence-transformers' layout), config.json,
    encoder family and head, or NotBuildable. Reads configs only."""
    # another class's folder is converted on its root, its modules.json unread (``_cross_encoder.config``)
    encoder = folder / read_modules(folder)[0].path if is_own_folder(folder, "CrossEncoder") else folder
    config, family = encoder_plan(encoder)
    return encoder, config, family, classifier_head(config)


def encoder_plan(encoder: Path) -> tuple[dict[str, Any], EncoderFamily]:
    """The encoder's config.json and family, its shape checked and its weight files found."""
    config = read_json(encoder / "config.json")
    family = ENCODER_BUILDERS.get(config.get("model_type"))  # type: ignore[arg-type]
    if family is None:
        raise NotBuildable(f"model_type {config.get('model_type')!r}")
    for switch in ("is_decoder", "add_cross_attention"):  # causal or cross attention: not what is built
        if config.get(switch):
            raise NotBuildable(f"{switch}: true")
    shape = family.shape(config, encoder / "config.json")
    if shape.hidden % shape.heads:  # onnxruntime would refuse the graph in its own words
        raise InvalidModelFileError(  # a ValueError, as transformers refuses the config
            f"{encoder / 'config.json'}: the hidden size ({shape.hidden}) is not a multiple of the number "
            f"of attention heads ({shape.heads}). Fix the config or download the model again."
        )
    weight_files(encoder)
    return config, family


def encoder_inputs(encoder: Path) -> list[str] | None:
    """The input names of a graph of the encoder in ``encoder`` and what follows its tokens (a SPLADE or a
    multi-vector graph), or ``None`` when this builder does not write its family (configs only)."""
    try:
        _, family = encoder_plan(encoder)
    except NotBuildable:
        return None
    return ["input_ids", "attention_mask"] + (["token_type_ids"] if family.token_types else [])


def _check_width(
    folder: Path, info: PipelineInfo, index: int, expected: int, width: int, source: int
) -> None:
    """Module ``index`` must take the ``width`` module ``source`` gives, as the torch loader checks (with the
    same message), or the graph would be built wrong."""
    if expected != width:
        entries = info.entries
        raise ModelLoadError(
            f"{folder}: module {index} ({entries[index].kind}) expects {expected}-dim inputs but module "
            f"{source} ({entries[source].kind}) outputs {width}-dim vectors; its config in "
            f"{entries[index].path or '.'} is wrong."
        )


# Traced families whose positions count from the padding id, as RoBERTa's (transformers'
# create_position_ids_from_input_ids): the table's first pad_token_id + 1 rows are never a text's.
TRACED_PADDED_POSITIONS = frozenset(
    {"data2vec-text", "esm", "ibert", "luke", "markuplm", "roberta-prelayernorm", "xlm-roberta-xl", "xmod"}
)


def position_limit(encoder: Path) -> int | None:
    """The most tokens a text may have for the encoder in ``encoder`` (a folder with its config.json): the
    rows of its learned position table, less the RoBERTa-family and MPNet padding offset; for a family this
    builder does not write (its graph traced from torch), ``max_position_embeddings`` where it adds learned
    absolute positions, less that offset for :data:`TRACED_PADDED_POSITIONS`. ``None`` for rotary and
    relative families, which run past that, or without a config.json."""
    try:
        config = read_json(encoder / "config.json")
    except (ModelLoadError, OSError):
        return None
    model_type, rows = config.get("model_type"), config.get("max_position_embeddings")
    if not isinstance(rows, int) or isinstance(rows, bool):
        return None
    if model_type not in ENCODER_BUILDERS and not _absolute_positions(encoder, config):
        return None
    if model_type in ROBERTA_TYPES or model_type in TRACED_PADDED_POSITIONS:
        pad = config.get("pad_token_id", 1)
        return rows - (pad if isinstance(pad, int) else 1) - 1
    return rows - PADDING_IDX - 1 if model_type == "mpnet" else rows


def _absolute_positions(encoder: Path, config: dict[str, Any]) -> bool:
    """Whether an encoder adds a learned table of absolute positions (ELECTRA, ConvBERT, ...): config.json's
    ``position_embedding_type`` says so where it is written (transformers 5 no longer writes it), else its
    weights hold such a table, which rotary and relative families (ModernBERT, DeBERTa-v2) lack."""
    kind = config.get("position_embedding_type")
    if kind is not None:
        return kind == "absolute"
    try:
        files = weight_files(encoder)
        return any(n.endswith(POSITION_TABLE) for path in files for n in safetensors_names(path))
    except (NotBuildable, ModelLoadError, OSError):  # no safetensors weights, or unreadable ones
        return False
