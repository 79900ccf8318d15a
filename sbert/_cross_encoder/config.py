"""What a cross-encoder folder says about its model, read from its files alone (no torch, no transformers).

A cross-encoder is a Hugging Face sequence-classification model. Three folder kinds load as one: a
sentence-transformers CrossEncoder folder (6.x: ``config_sentence_transformers.json`` with
``model_type: CrossEncoder``; 4.x/5.x: a ``sentence_transformers`` key in ``config.json``), a plain
``*ForSequenceClassification`` folder, and an encoder that gets a fresh classification head, as
sentence-transformers does: a plain one, or another model class's folder (a SentenceTransformer's, a
SparseEncoder's, ...), converted as sentence-transformers 6 converts it (its encoder only; its prompts and
saved length dropped). A CrossEncoder folder may hold a PEFT adapter instead of its weights
(``adapter_config.json`` names the base model); it runs on torch.

A causal language model (``*ForCausalLM``) is a reranker as in sentence-transformers 6.3: its Transformer runs
the "text-generation" task and a ``LogitScore`` module scores each pair by the next-token logits of "yes" and
"no" (``1_LogitScore/config.json`` in a saved folder), its pairs rendered by the tokenizer's chat template
where it has one (``chat_pairs.py``). It runs on torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._backends.onnx_export import folder_export_meta
from .._checks import check_positive_int
from .._errors import HeadSizeError, InputError, ModelLoadError, UnrecognizedModelError
from .._format import layout
from .._format.chat_template import has_chat_template
from .._format.conversion import converted_from

# What sentence-transformers 6 writes into sentence_bert_config.json for a CrossEncoder's Transformer.
TRANSFORMER_CONFIG = {
    "transformer_task": "sequence-classification",
    "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
    "module_output_name": "scores",
}
TRANSFORMER_TYPE = "sentence_transformers.base.modules.transformer.Transformer"
TEXT_GENERATION = "text-generation"
# What each task's Transformer adds to the features (sentence-transformers' module_output_name).
TRANSFORMER_TASK_OUTPUTS = {"sequence-classification": "scores", TEXT_GENERATION: "causal_logits"}
CAUSAL_TRANSFORMER_CONFIG = {
    "transformer_task": TEXT_GENERATION,
    "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
    "module_output_name": "causal_logits",
}


def transformer_config(causal: bool, chat_format: str | None = None) -> dict[str, Any]:
    """The Transformer module's settings as sentence-transformers 6.3 writes them (its ``get_config_dict``): a
    classifier's "sequence-classification" task or a causal reranker's "text-generation", with a "message"
    modality in the chat template's ``format`` where one renders the pairs."""
    config = CAUSAL_TRANSFORMER_CONFIG if causal else TRANSFORMER_CONFIG
    if chat_format is None:
        return config
    message = {"method": "forward", "method_output_name": "logits", "format": chat_format}
    return {**config, "modality_config": {**config["modality_config"], "message": message}}


LOGIT_SCORE_TYPE = "sentence_transformers.cross_encoder.modules.logit_score.LogitScore"
LOGIT_SCORE_DIR = "1_LogitScore"
LOGIT_SCORE_KEYS = ("true_token_id", "false_token_id", "module_input_name")
# The tokens whose logits score a pair when the folder names none (sentence-transformers' defaults).
DEFAULT_SCORE_TOKENS = ("yes", "no")


@dataclass(frozen=True)
class CrossEncoderFolder:
    """A cross-encoder's folder as its files describe it."""

    folder: Path  # the model's folder
    encoder_path: Path  # config.json, weights and tokenizer (a subfolder in some SentenceTransformer folders)
    adapter_base: Path | None  # a PEFT adapter folder's base model (its config.json and weights), else None
    converted: bool  # another model class's folder: its prompts are not this model's
    # its own saved settings are read (config_sentence_transformers.json, sentence_bert_config.json): a
    # CrossEncoder's folder; a plain Hugging Face one and another class's are loaded without them, as there
    own_settings: bool
    fresh_head: bool  # an encoder without a trained classification head: one is created (random)
    num_labels: int
    activation_path: str | None  # the saved activation function (a dotted path), None: the default
    max_seq_length: int | None  # sentence_bert_config.json's, if any
    max_position_embeddings: int | None
    architecture: str
    export_meta: dict[str, Any]  # an export-only folder's onnx/ metadata ({} for other folders)
    model_type: str | None = None  # config.json's (the chat template renders by it)
    causal: bool = False  # a causal LM scored by LogitScore (see the module docstring)
    logit_score: dict[str, Any] | None = None  # a saved LogitScore's config (None: the tokenizer's yes/no)
    # how the chat template gets pairs: "flat", "structured", "auto" (by the template), or None: no
    # template, pairs are tokenized as text
    chat_format: str | None = None
    # its modules' names in modules.json ("name"), shown and saved as sentence-transformers' nn.Sequential
    # names them; () where the folder names none (positions)
    module_names: tuple[str, ...] = ()

    @property
    def config_path(self) -> Path:
        """The encoder's Hugging Face config.json (an adapter's base model's)."""
        return (self.adapter_base or self.encoder_path) / "config.json"

    @property
    def export_only(self) -> bool:
        return bool(self.export_meta.get("export_only"))


def read_folder(
    folder: Path, num_labels: int | None, name: str, tokenizer_options: dict[str, Any] | None = None
) -> CrossEncoderFolder:
    """Describe ``folder`` (``name``: as the caller named it) for a CrossEncoder that asked for ``num_labels``
    (``None``: the folder's); ``tokenizer_options``: those given at load (a ``chat_template`` there counts
    as the folder's)."""
    check_positive_int("num_labels", num_labels, optional=True)
    reason = layout.cross_encoder_reason(folder)
    # sentence-transformers' load notice for every folder; a cross-encoder's own is never a conversion
    converted = converted_from(folder, "CrossEncoder", name) is not None and reason is None
    own_settings = layout.is_own_folder(folder, "CrossEncoder")
    encoder_path = _encoder_path(folder, own_folder=own_settings)
    logit_score = _saved_logit_score(folder) if own_settings else None
    adapter_base = layout.adapter_base_folder(encoder_path)
    if adapter_base is not None and not (folder / layout.MODULES_FILE).is_file():
        raise ModelLoadError(  # as sentence-transformers, which finds no model there
            f"{folder} is a PEFT adapter without a CrossEncoder's modules.json: load its base model with "
            "CrossEncoder(base) and call model.load_adapter(folder)."
        )
    if not (encoder_path / "config.json").is_file() and adapter_base is None:
        raise UnrecognizedModelError(  # sentence-transformers: transformers' "Unrecognized model in ..."
            f"{folder} is not a model folder: a cross-encoder needs config.json (a Hugging Face "
            "sequence-classification model, or an encoder to put a new head on)."
        )
    if converted and adapter_base is not None:
        raise ModelLoadError(
            f"{folder} holds a PEFT adapter of another model class, which a CrossEncoder does not convert "
            "(nor does sentence-transformers'): load it with its own class, merge the adapter "
            "(model.transformers_model.merge_and_unload()), save, and load that folder."
        )
    config = layout.read_json(layout.encoder_config_file(encoder_path))
    architecture = (config.get("architectures") or ["AutoModelForSequenceClassification"])[0]
    # sentence-transformers: a LogitScore module in modules.json, or a plain folder of a *ForCausalLM
    causal = logit_score is not None or (
        not (folder / layout.MODULES_FILE).is_file() and str(architecture).endswith("ForCausalLM")
    )
    if causal and (converted or adapter_base is not None):
        raise ModelLoadError(
            f"{folder}: sbert scores with a causal language model (LogitScore) from its own folder only, "
            "not from another model class's folder or a PEFT adapter."
        )
    trained = 1 if causal else _trained_labels(config)  # a converted folder's saved head loads too, as there
    if trained is not None and num_labels not in (None, trained):
        raise HeadSizeError(
            f"{folder} has a trained head with {trained} labels; num_labels={num_labels} does not fit it. "
            "Leave num_labels out, or start from the encoder folder for a new head."
        )
    # a plain or converted folder's Transformer is built anew, as sentence-transformers does: length unread
    saved_options = layout.read_transformer_options(encoder_path) if own_settings else {}
    return CrossEncoderFolder(
        folder=folder,
        encoder_path=encoder_path,
        adapter_base=adapter_base,
        converted=converted,
        own_settings=own_settings,
        fresh_head=trained is None,
        num_labels=trained or num_labels or 1,  # sentence-transformers: one label for a new head
        activation_path=saved_activation(folder, config, own_settings) if trained is not None else None,
        max_seq_length=saved_options.get("max_seq_length"),
        max_position_embeddings=config.get("max_position_embeddings"),
        architecture=architecture,
        model_type=config.get("model_type"),
        export_meta=folder_export_meta(folder),
        causal=causal,
        logit_score=logit_score,
        chat_format=_chat_format(encoder_path, tokenizer_options, own_settings),
        module_names=_module_names(folder) if own_settings else (),
    )


def is_module_stack(folder: Path) -> bool:
    """Whether ``folder`` is a sentence-transformers CrossEncoder built from other modules than its
    Transformer (and a causal reranker's LogitScore): e.g. StaticEmbedding and Dense (``module_stack.py``)."""
    if layout.saved_model_type(folder) != "CrossEncoder":
        return False
    kinds = [m.kind for m in layout.read_modules(folder)]
    return kinds not in (["Transformer"], ["Transformer", "LogitScore"])


def stack_folder(folder: Path | None, num_labels: int, architecture: str) -> CrossEncoderFolder:
    """What a cross-encoder built from modules (``module_stack.py``) shows of its files: ``folder`` (``None``:
    built in code), its saved activation, no Hugging Face encoder folder of its own."""
    saved = layout.read_model_config(folder) if folder is not None else {}
    return CrossEncoderFolder(
        folder=folder or Path(),
        encoder_path=folder or Path(),
        adapter_base=None,
        converted=False,
        own_settings=folder is not None,
        fresh_head=False,
        num_labels=num_labels,
        activation_path=saved.get("activation_fn"),
        max_seq_length=None,
        max_position_embeddings=None,
        architecture=architecture,
        export_meta={},
    )


def _encoder_path(folder: Path, *, own_folder: bool) -> Path:
    """The encoder of a CrossEncoder's own folder (its first module, usually at the root), else the folder (a
    plain one, or another class's, whose modules.json sentence-transformers does not read on conversion)."""
    if not own_folder:
        return folder
    modules = layout.read_modules(folder)
    if [m.kind for m in modules] == ["Transformer", "LogitScore"]:
        return folder / modules[0].path
    if len(modules) > 1:
        raise ModelLoadError(
            f"{folder}: this CrossEncoder has modules after its Transformer "
            f"({', '.join(m.kind for m in modules[1:])}); sbert loads sequence-classification cross-encoders."
        )
    first = modules[0]
    if first.kind != "Transformer":
        raise ModelLoadError(
            f"{folder} starts with a {first.kind} module, not a Transformer: a cross-encoder needs a "
            "transformer encoder."
        )
    return folder / first.path


def _module_names(folder: Path) -> tuple[str, ...]:
    """The names modules.json gives a cross-encoder's Transformer (and LogitScore); () without the file."""
    if not (folder / layout.MODULES_FILE).is_file():
        return ()
    return tuple(entry.name for entry in layout.read_modules(folder))


def _chat_format(
    encoder_path: Path, tokenizer_options: dict[str, Any] | None, own_settings: bool
) -> str | None:
    """A cross-encoder's message format: a saved Transformer's ``modality_config["message"]`` decides
    (as sentence-transformers reads it back, in its own folder: ``own_settings``), else the tokenizer's chat
    template, as it infers on a plain folder."""
    saved = encoder_path / layout.TRANSFORMER_CONFIG_FILES[0]
    modalities = layout.read_json(saved).get("modality_config") if own_settings and saved.is_file() else None
    if isinstance(modalities, dict):
        message = modalities.get("message")
        return str(message.get("format", "auto")) if isinstance(message, dict) else None
    return "auto" if has_chat_template(encoder_path, tokenizer_options) else None


def _saved_logit_score(folder: Path) -> dict[str, Any] | None:
    """The config of a LogitScore module in ``folder``'s modules.json (``None``: it has none)."""
    if not (folder / layout.MODULES_FILE).is_file():
        return None
    entry = next((m for m in layout.read_modules(folder) if m.kind == "LogitScore"), None)
    if entry is None:
        return None
    saved = layout.read_json(folder / entry.path / "config.json")
    if not isinstance(saved.get("true_token_id"), int):
        raise ModelLoadError(f"{folder / entry.path / 'config.json'} must give true_token_id, a token id.")
    return {key: saved[key] for key in LOGIT_SCORE_KEYS if key in saved}


def _trained_labels(config: dict[str, Any]) -> int | None:
    """How many labels the saved head has (``id2label``'s size, else ``num_labels``; transformers' rule)."""
    architectures = config.get("architectures") or ()
    if not any(str(a).endswith("ForSequenceClassification") for a in architectures):
        return None
    return layout.label_count(config)


def saved_activation(folder: Path, config: dict[str, Any], own_settings: bool) -> str | None:
    """The activation a sentence-transformers CrossEncoder saved: 6.x in config_sentence_transformers.json
    (read in its own folder only, ``own_settings``), 4.x/5.x in config.json's ``sentence_transformers``
    key, older ones as ``sbert_ce_default_activation_function``."""
    model_config = layout.read_model_config(folder) if own_settings else {}
    if model_config.get("activation_fn"):
        return str(model_config["activation_fn"])
    return config_activation(config)


def config_activation(config: dict[str, Any]) -> str | None:
    """The activation config.json names (4.x/5.x, and older ones' key)."""
    settings = config.get("sentence_transformers")
    if isinstance(settings, dict) and settings.get("activation_fn"):
        return str(settings["activation_fn"])
    old = config.get("sbert_ce_default_activation_function")
    return str(old) if old else None


def fp32_layer_names(module_names: Any, where: str = "keep_in_fp32_modules") -> list[str]:
    """The module paths of a ``keep_in_fp32_modules`` selection (``fp32_layers.py``), each once, in order;
    ``None``: none. Not a list of strings: an ``InputError`` naming ``where``."""
    if module_names is None:
        return []
    if not isinstance(module_names, (list, tuple)) or not all(isinstance(n, str) for n in module_names):
        raise InputError(
            f"{where} must be a list of module paths such as ['0.model.classifier'] (as "
            f"model.named_modules() names them), not {module_names!r}."
        )
    return list(dict.fromkeys(module_names))


def saved_fp32_layer_names(model_config: dict[str, Any], folder: Path | None) -> list[str]:
    """The ``keep_in_fp32_modules`` selection config_sentence_transformers.json saved (``[]``: none)."""
    try:
        return fp32_layer_names(model_config.get("keep_in_fp32_modules"))
    except InputError as error:
        raise ModelLoadError(
            f"{folder}/config_sentence_transformers.json: keep_in_fp32_modules is not a list of module "
            f"paths ({model_config['keep_in_fp32_modules']!r}); fix or remove that field."
        ) from error
