"""Which ``transformers`` class a Transformer module's folder loads into.

An embedding model of an encoder-decoder family (sentence-t5, gtr-t5, mT5, ...) uses only the encoder:
sentence-transformers loads it as the family's encoder class, so the saved weights hold no decoder and a
full encoder-decoder checkpoint loads with its decoder left out. Every other folder loads through the task's
``AutoModel`` class.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .layout import read_json

AUTO_CLASSES = {
    "feature-extraction": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "fill-mask": "AutoModelForMaskedLM",
}

# where transformers keeps its own model classes
LIBRARY_MODULES = "transformers.models."
# what a tokenizer gives an encoder, and sentence-transformers hands its forward
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# (config class, module, encoder class), matched with isinstance as sentence-transformers 6.3 matches them;
# names are resolved lazily, and a name this transformers version lacks is skipped.
_ENCODER_ONLY = (
    ("T5Config", "transformers", "T5EncoderModel"),
    ("MT5Config", "transformers", "MT5EncoderModel"),
    ("UMT5Config", "transformers", "UMT5EncoderModel"),
    ("UdopConfig", "transformers", "UdopEncoderModel"),
    ("LongT5Config", "transformers", "LongT5EncoderModel"),
    ("ProphetNetConfig", "transformers", "ProphetNetEncoder"),
    ("SwitchTransformersConfig", "transformers", "SwitchTransformersEncoderModel"),
    ("BlenderbotConfig", "transformers.models.blenderbot.modeling_blenderbot", "BlenderbotEncoder"),
    (
        "BlenderbotSmallConfig",
        "transformers.models.blenderbot_small.modeling_blenderbot_small",
        "BlenderbotSmallEncoder",
    ),
    ("M2M100Config", "transformers.models.m2m_100.modeling_m2m_100", "M2M100Encoder"),
    ("PegasusConfig", "transformers.models.pegasus.modeling_pegasus", "PegasusEncoder"),
    ("PegasusXConfig", "transformers.models.pegasus_x.modeling_pegasus_x", "PegasusXEncoder"),
    ("MoonshineConfig", "transformers.models.moonshine.modeling_moonshine", "MoonshineEncoder"),
    ("WhisperConfig", "transformers.models.whisper.modeling_whisper", "WhisperEncoder"),
    ("MarianConfig", "transformers.models.marian.modeling_marian", "MarianEncoder"),
    ("T5Gemma2TextConfig", "transformers.models.t5gemma2.modeling_t5gemma2", "T5Gemma2Encoder"),
)


# What a plain-transformers user imports to load such an encoder (the model card's usage): classes at
# transformers' top level; AutoModel would build the whole encoder-decoder.
PLAIN_ENCODER_CLASSES = frozenset(name for _, module, name in _ENCODER_ONLY if module == "transformers")


def runs_folder_code(encoder: Path | None, task: str, *, trust_remote_code: bool) -> bool:
    """Whether transformers loads the model in ``encoder`` (a folder with its config.json) for ``task`` from
    code in the folder: its ``auto_map`` names the config class or the task's class, and the caller trusts
    it. Untrusted, a model_type transformers knows loads transformers' own class (jina-embeddings-v2's
    "bert"), and an unknown one is refused."""
    config_file = encoder / "config.json" if encoder is not None else None
    if not trust_remote_code or config_file is None or not config_file.is_file():
        return False
    auto_map = read_json(config_file).get("auto_map")
    names = ("AutoConfig", AUTO_CLASSES.get(task, "AutoModel"))
    return isinstance(auto_map, dict) and any(name in auto_map for name in names)


def forward_inputs(model: Any) -> set[str]:
    """The argument names of a transformers model's ``forward``. A model folder's class whose forward takes
    ``**kwargs`` (wrapping its base's) takes every token input, as sentence-transformers hands it all;
    transformers' own classes take their ``**kwargs`` for attention options, not token inputs."""
    parameters = inspect.signature(model.forward).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    return set(parameters) | (set(TOKEN_INPUTS) if takes_any and not is_library_class(model) else set())


def is_library_class(model: Any) -> bool:
    """Whether ``model`` is an instance of transformers' own class: not a model folder's code
    (``trust_remote_code``, loaded as ``transformers_modules.*``) nor a user's subclass, whose forward may
    change what the layers compute (jina-bert's config says "bert")."""
    return type(model).__module__.startswith(LIBRARY_MODULES)


def plain_transformers_class(encoder: Any) -> str:
    """The class the model card's plain-transformers usage loads ``encoder`` (a loaded transformers model)
    with: its encoder-only class where transformers exports one, else ``AutoModel``."""
    name = type(encoder).__name__
    return name if name in PLAIN_ENCODER_CLASSES else "AutoModel"


def load_transformers_model(transformers: Any, path: Any, task: str, config: Any, **options: Any) -> Any:
    """``from_pretrained`` of the class ``config`` loads into for ``task`` (see the module docstring); returns
    what it returns (with ``output_loading_info=True`` in ``options``: the model and its loading info)."""
    if task == "feature-extraction":
        encoder = _encoder_only_class(transformers, config)
        if encoder is not None:
            encoder_class, load_config, class_overrides = encoder
            # a full checkpoint's decoder weights are not the encoder's: left out, not reported as unexpected
            overrides = {"_keys_to_ignore_on_load_unexpected": ["decoder.*"], **class_overrides}
            with _class_attributes(encoder_class, overrides):
                return encoder_class.from_pretrained(path, config=load_config, **options)
    return getattr(transformers, AUTO_CLASSES[task]).from_pretrained(path, config=config, **options)


def _encoder_only_class(transformers: Any, config: Any) -> tuple[Any, Any, dict[str, Any]] | None:
    """(encoder class, the config it loads with, class attributes set while it loads), or None."""
    t5gemma = getattr(transformers, "T5GemmaConfig", None)
    if t5gemma is not None and isinstance(config, t5gemma):
        config.is_encoder_decoder = False
        return transformers.T5GemmaEncoderModel, config, {}
    t5gemma2 = getattr(transformers, "T5Gemma2Config", None)
    if t5gemma2 is not None and isinstance(config, t5gemma2):
        encoder = _resolve("transformers.models.t5gemma2.modeling_t5gemma2", "T5Gemma2Encoder")
        return encoder, config.encoder, {"base_model_prefix": "model.encoder"}
    for config_name, module, class_name in _ENCODER_ONLY:
        config_class = getattr(transformers, config_name, None)
        if config_class is not None and isinstance(config, config_class):
            encoder = _resolve(module, class_name)
            if encoder is not None:
                return encoder, config, {}
    return None


def _resolve(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


@contextlib.contextmanager
def _class_attributes(cls: Any, overrides: dict[str, Any]) -> Iterator[None]:
    """Class attributes set for one ``from_pretrained`` call, then restored, as sentence-transformers does."""
    originals = {name: cls.__dict__[name] for name in overrides if name in cls.__dict__}
    for name, value in overrides.items():
        setattr(cls, name, value)
    try:
        yield
    finally:
        for name in overrides:
            if name in originals:
                setattr(cls, name, originals[name])
            else:
                delattr(cls, name)
