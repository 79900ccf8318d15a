"""``merge``: the four model classes' weights merged through mergekit's in-memory API, as
sentence-transformers 6.3's ``BaseModel.merge`` merges them (the same checks, errors and result).

mergekit (``sbert[merge]``) does the merging; this module loads and checks the inputs, hands mergekit one
state dict per model (each tied weight once) and builds the result: a copy of the first model holding the
merged tensors, its inputs left as they were. Torch only; imported when ``merge`` is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch
from packaging.version import Version

from ._errors import BackendUnavailableError, InputError
from ._format.card_data import card_data_dict

_DTYPES = (None, torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _mergekit() -> tuple[Any, Any, Any]:
    """mergekit's ``BasePolicy``, ``merge_state_dicts`` and method lookup; the missing-extra error without
    mergekit 0.1.5 or newer (the first with the in-memory API)."""
    try:
        if Version(version("mergekit")) < Version("0.1.5"):
            raise ImportError("mergekit is too old")
        from mergekit.merge_methods import BasePolicy, merge_state_dicts
        from mergekit.merge_methods import get as get_merge_method
    except (ImportError, PackageNotFoundError) as exc:
        raise BackendUnavailableError(
            "Model merging requires mergekit>=0.1.5 with merge_state_dicts. "
            "Install it with: pip install 'sbert[merge]'"
        ) from exc
    return BasePolicy, merge_state_dicts, get_merge_method


def _checked_dtypes(dtype: Any, out_dtype: Any) -> dict[str, Any]:
    """``dtype`` and ``out_dtype`` as torch dtypes (a name such as ``"bfloat16"`` too), or ``None``."""
    dtypes = {"dtype": dtype, "out_dtype": out_dtype}
    for name, value in dtypes.items():
        if isinstance(value, str):
            value = getattr(torch, value, value)
        if value not in _DTYPES:
            raise InputError(f"{name} must be None, float16, bfloat16, float32, or float64.")
        dtypes[name] = value
    return dtypes


def _with_base(models: list[Any], base_model: Any) -> tuple[list[Any], int | None]:
    """The inputs and the base's index among them: an input that is the base (the same object or path) keeps
    its index, so it is not merged twice and per-input parameters stay in the caller's order; another base
    comes last."""
    if base_model is None:
        return models, None

    def same(model: Any) -> bool:
        paths = isinstance(model, (str, Path)) and isinstance(base_model, (str, Path))
        return model is base_model or (paths and str(model) == str(base_model))

    index = next((i for i, model in enumerate(models) if same(model)), len(models))
    return (models if index < len(models) else [*models, base_model]), index


def _loaded(cls: type, inputs: list[Any], device: torch.device, load_kwargs: dict[str, Any]) -> list[Any]:
    """The inputs as ``cls`` models: paths and hub names loaded on ``device`` (on torch,
    sentence-transformers' default backend, unless ``load_kwargs`` names another)."""
    options = {"backend": "torch", **load_kwargs}
    loaded = []
    for model in inputs:
        if isinstance(model, (str, Path)):
            model = cls(str(model), device=str(device), **options)
        if not isinstance(model, cls):
            raise TypeError(f"Expected a {cls.__name__} instance or model path, got {type(model).__name__}.")
        loaded.append(model)
    return loaded


def _config_diff(reference: dict[str, Any], config: dict[str, Any], index: int) -> str:
    lines = []
    for key in sorted(reference.keys() | config.keys()):
        if key not in reference or key not in config or reference[key] != config[key]:
            expected = repr(reference[key]) if key in reference else "<missing>"
            actual = repr(config[key]) if key in config else "<missing>"
            lines.append(f"  {key}: model 0={expected}, model {index}={actual}")
    return "\n".join(lines)


def _kind(module: Any) -> type:
    """The module's class; sentence-transformers' older ``MLMTransformer`` counts as the fill-mask
    Transformer it is another name of."""
    kind = type(module)
    return kind.__mro__[1] if kind.__name__ == "MLMTransformer" else kind


def _module_config(module: Any) -> dict[str, Any]:
    """An sbert module's saved config; a SpladePooling's width is derived from the encoder, so left out."""
    config = dict(module.get_config_dict())
    if type(module).__name__ == "SpladePooling":
        config.pop("word_embedding_dimension", None)  # sentence-transformers 6's "embedding_dimension"
        config.pop("embedding_dimension", None)
    return config


def _encoder_config(module: Any) -> dict[str, Any]:
    """A transformers model's config without what may differ between merge inputs: provenance, dtype and
    private fields."""
    ignored = {"architectures", "transformers_version", "torch_dtype", "dtype"}
    return {
        key: value
        for key, value in module.config.to_dict().items()
        if key not in ignored and not key.startswith("_")
    }


def _check_module(name: str, module: Any, other: Any, index: int) -> None:
    """Module ``name`` of model ``index`` against the same module of model 0."""
    from transformers import PreTrainedModel

    if _kind(module) is not _kind(other):
        raise InputError(f"Module {name!r} has a different type in model {index}.")
    if getattr(module, "is_quantized", False):
        raise InputError("Merging quantized models is not supported. Load unquantized models first.")
    if module.extra_repr() != other.extra_repr():
        raise InputError(
            f"Module {name!r} has a different configuration in model {index}:\n"
            f"  model 0: {other.extra_repr()}\n  model {index}: {module.extra_repr()}"
        )
    pairs = []
    if callable(getattr(module, "get_config_dict", None)):
        pairs.append((f"Module {name!r}", _module_config(other), _module_config(module)))
    if isinstance(module, PreTrainedModel):
        pairs.append((f"Transformer {name!r}", _encoder_config(other), _encoder_config(module)))
    for what, reference, config in pairs:
        if config != reference:
            diff = _config_diff(reference, config, index)
            raise InputError(f"{what} has a different configuration in model {index}:\n{diff}")
    _check_tokenizer(name, getattr(module, "tokenizer", None), getattr(other, "tokenizer", None), index)


def _check_tokenizer(name: str, tokenizer: Any, other_tokenizer: Any, index: int) -> None:
    if tokenizer is not None and hasattr(tokenizer, "get_vocab"):
        if (
            other_tokenizer is None
            or tokenizer.get_vocab() != other_tokenizer.get_vocab()
            or getattr(tokenizer, "special_tokens_map", None)
            != getattr(other_tokenizer, "special_tokens_map", None)
        ):
            raise InputError(
                f"Tokenizer vocabulary or special tokens differ in model {index}, module {name!r}."
            )


def _validate(models: list[Any]) -> None:
    """Each model against model 0: on torch, no PEFT adapter or quantized module, the same module tree with
    the same types, configs and tokenizer vocabularies (state keys and tied weights are compared with the
    state dicts). Transformer provenance, dtypes and model-level prompts may differ."""
    reference = dict(models[0].named_modules())
    for index, model in enumerate(models):
        modules = dict(model.named_modules())  # "auto" moves a model it put on ONNX to its torch modules
        if model.get_backend() != "torch":
            raise InputError("Model merging requires the torch backend.")
        if any(getattr(module, "peft_config", None) for module in modules.values()):
            raise InputError(
                "Merging models with PEFT adapters is not supported. "
                "Merge the adapters into the base weights and unload them first."
            )
        if modules.keys() != reference.keys():
            raise InputError(f"Model {index} has a different module structure from model 0.")
        for name, module in modules.items():
            _check_module(name, module, reference[name], index)
            if name == "":  # sentence-transformers' model is its root module, and has the tokenizer
                _check_tokenizer(name, model.tokenizer, models[0].tokenizer, index)


def _unique_state_dict(model: Any, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """One entry per tensor object (a tied weight once, so stochastic methods merge it once) and every key's
    representative. The tensors may share the input's storage: never changed in place."""
    state, aliases, names = {}, {}, {}
    # parameters as objects until aliases are known: detaching first would hide their identity
    for name, tensor in model.state_dict(keep_vars=True).items():
        if not isinstance(tensor, torch.Tensor) or tensor.is_meta:
            raise InputError(f"State entry {name!r} must be a materialized tensor.")
        canonical = names.setdefault(id(tensor), name)
        aliases[name] = canonical
        if canonical == name:
            state[name] = tensor.detach().to(device)
    return state, aliases


def _merged_copy(first: Any, merged: dict[str, torch.Tensor], aliases: dict[str, str], device: Any) -> Any:
    """A copy of ``first`` holding the merged tensors (its prompts, settings and tokenizer), in eval mode."""
    memo: dict[int, Any] = {}
    # the merged tensors stand in for the first model's during the copy, which so never copies its weights
    for name, tensor in first.state_dict(keep_vars=True).items():
        if id(tensor) not in memo:
            # popped one at a time; the clone parts it from inputs a method may hand back as they are
            value = merged.pop(aliases[name]).clone().requires_grad_(tensor.requires_grad)
            if isinstance(tensor, torch.nn.Parameter):
                value = torch.nn.Parameter(value, requires_grad=tensor.requires_grad)
            memo[id(tensor)] = value
    model = deepcopy(first, memo).to(device)
    dtypes = {tensor.dtype for tensor in model.parameters() if tensor.is_floating_point()}
    if len(dtypes) == 1 and dtypes <= {torch.float32, torch.float16, torch.bfloat16}:
        model.to(dtypes.pop())  # the precision sbert runs it in follows the merged weights (out_dtype)
    # the first model's training runs and evaluation scores do not describe the merged one
    model.model_card_data = card_data_dict(None, model.model_card_data_class, model)
    model.train(False)
    return model


@torch.no_grad()
def merge_models(
    cls: type,
    models: Sequence[str | Path | Any],
    method: str = "linear",
    *,
    base_model: str | Path | Any | None = None,
    parameters: dict[str, Any] | None = None,
    dtype: str | torch.dtype | None = torch.float32,
    out_dtype: str | torch.dtype | None = None,
    device: str | torch.device = "cpu",
    batch_options: Any = None,
    **load_kwargs: Any,
) -> Any:
    """``cls.merge`` (see :meth:`sbert._model_methods.ModelMethods.merge`)."""
    base_policy, merge_state_dicts, get_merge_method = _mergekit()
    if isinstance(models, (str, Path)) or len(models) < 2:
        raise InputError("At least two models are required for merging.")
    dtypes = _checked_dtypes(dtype, out_dtype)
    device = torch.device(device)
    merge_method = get_merge_method(method)
    if base_model is not None and merge_method.spec.contract.base == base_policy.IGNORED:
        raise InputError(f"Method {method!r} does not use a base_model.")
    inputs, base_index = _with_base(list(models), base_model)
    if base_index is None and method == "slerp":
        base_index = 0
    merge_method.validate_inputs(list(range(len(inputs))), base_index)

    parameters = dict(parameters or {})
    if any(parameter.name == "weight" for parameter in merge_method.spec.parameters):
        parameters.setdefault("weight", 1.0)
    if method == "slerp":
        parameters.setdefault("t", 0.5)

    loaded = _loaded(cls, inputs, device, load_kwargs)
    _validate(loaded)
    states, aliases = {}, None
    for index, model in enumerate(loaded):
        states[index], model_aliases = _unique_state_dict(model, device)
        if aliases is not None and model_aliases != aliases:
            raise InputError(f"Model {index} has different state keys or tied weights from model 0.")
        aliases = model_aliases
    merged = merge_state_dicts(
        states,
        merge_method,
        base=base_index,
        parameters=parameters,
        batch_options=batch_options,
        **dtypes,
    )
    return _merged_copy(loaded[0], merged, aliases, device)
