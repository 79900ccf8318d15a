"""sentence-transformers' ``SentenceTransformer`` methods that sbert's own API has no use for.

User code written for sentence-transformers calls them (``model.evaluate(evaluator)``, ``push_to_hub``,
``truncate_sentence_embeddings``, ...), so :class:`sbert.SentenceTransformer` inherits them from here, kept
apart from the model's own loading, encoding and saving.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._adapters import PeftAdapterMixin
from ._backends import BACKENDS
from ._backends.torch_runner import precision_dtype
from ._checks import is_single_input
from ._errors import InputError, require_torch
from ._format.card_data import SentenceTransformerModelCardData
from ._format.hub import push_model_to_hub, save_model_to_hub
from ._numeric import SIMILARITY_FUNCTIONS


class SentenceTransformersMethods(PeftAdapterMixin):
    """Mixed into :class:`sbert.SentenceTransformer`: sentence-transformers' names for what sbert does."""

    SUPPORTED_SIMILARITY_FN_NAMES = SIMILARITY_FUNCTIONS
    model_type = "SentenceTransformer"  # what config_sentence_transformers.json says the folder holds
    model_card_data_class = SentenceTransformerModelCardData
    default_huggingface_organization: str | None = "sentence-transformers"  # the owner of bare hub names
    push_to_hub = push_model_to_hub  # as CrossEncoder's (sbert._format.hub)
    save_to_hub = save_model_to_hub

    @classmethod
    def load(cls, input_path: str | os.PathLike) -> Any:
        """The model at ``input_path`` (sentence-transformers' old spelling of the constructor)."""
        return cls(input_path)

    def get_max_seq_length(self) -> int:
        return self.max_seq_length

    def _first_module(self) -> Any:
        return self[0]

    def _last_module(self) -> Any:
        return self[len(self) - 1]

    # torch.nn.Module's methods that sentence-transformers' users call on the model (it is one there); they
    # act on the torch modules, which a model that backend="auto" put on ONNX moves to (they may change).

    def modules(self) -> Iterator[Any]:
        return self._network_to_change().modules()

    def named_modules(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        return self._network_to_change().named_modules(*args, **kwargs)

    def children(self) -> Iterator[Any]:
        return self._network_to_change().children()

    @property
    def _modules(self) -> dict[str, Any]:  # nn.Module's table of children, which setfit's ONNX export reads
        return dict(self._network_to_change().named_children())

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        return self._network_to_change().buffers(recurse)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._network_to_change().zero_grad(set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        self._network_to_change().requires_grad_(requires_grad)
        return self

    def apply(self, fn: Any) -> Any:
        self._network_to_change().apply(fn)
        return self

    def cpu(self) -> Any:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Any:
        return self.to(device if isinstance(device, str) else "cuda" if device is None else f"cuda:{device}")

    def half(self) -> Any:
        """The encoder in float16 from now on (sbert's ``precision="fp16"``, on torch)."""
        return self._set_precision("fp16")

    def bfloat16(self) -> Any:
        """The encoder in bfloat16 from now on (``precision="bf16"``, on torch)."""
        return self._set_precision("bf16")

    def float(self) -> Any:
        """The encoder in float32 again (``precision="fp32"``)."""
        return self._set_precision("fp32")

    def _set_precision(self, precision: str) -> Any:
        if precision == self.precision:
            return self
        self._network_to_change()
        if self.backend != "torch":
            raise InputError(
                f"The {self.backend} backend runs the precision it was loaded with ({self.precision}); load "
                f"the model with backend='torch' (or 'auto') to change it, or pass precision={precision!r}."
            )
        self.precision = precision
        self._runner = BACKENDS["torch"].start(self._backend_context())
        return self

    @property
    def processor(self) -> Any:
        """sentence-transformers 6's name for :attr:`tokenizer`."""
        return self.tokenizer

    def get_backend(self) -> str:
        """What runs the model: ``"torch"``, ``"onnx"`` (ONNX Runtime) or ``"static"`` (a token table)."""
        return self.backend

    def get_model_kwargs(self) -> list[str]:
        """What :meth:`encode` takes for this model beyond every model's options: ``["task", "modality"]``
        with a Router (what picks the route, as sentence-transformers lists them; sbert reads texts only, so
        the modality is "text"), else ``[]``."""
        if self._network is not None:
            kinds = [type(module).__name__ for module in self._network]
        else:
            kinds = [entry.kind for entry in self._pipeline.entries]
        return ["task", "modality"] if "Router" in kinds else []

    @property
    def modalities(self) -> list[str]:
        """What the model reads: ``["text"]`` (sbert's models are text models)."""
        return ["text"]

    def supports(self, modality: Any) -> bool:
        """Whether the model reads ``modality``: ``"text"`` only (no tuple of modalities: that needs chat
        messages, which sbert does not read)."""
        return modality in self.modalities

    def is_singular_input(self, inputs: Any) -> bool:
        """Whether ``inputs`` is one input rather than a batch, by sentence-transformers' rule: a list, tuple,
        ``datasets`` Column or text array is a batch, except a list of chat messages (one conversation)."""
        return is_single_input(inputs)

    @contextmanager
    def truncate_sentence_embeddings(self, truncate_dim: int | None) -> Iterator[None]:
        """sentence-transformers' name for :meth:`truncate_embeddings`."""
        with self.truncate_embeddings(truncate_dim):
            yield

    def evaluate(self, evaluator: Any, output_path: str | os.PathLike | None = None) -> Any:
        """``evaluator(model, output_path)``: its results dict (the folder is made first)."""
        if output_path is not None:
            Path(output_path).mkdir(parents=True, exist_ok=True)
        return evaluator(self, output_path)

    @property
    def dtype(self) -> Any:
        """The torch dtype the model computes in: its parameters' on the torch backend, else the
        precision's (a numpy dtype where torch is not installed)."""
        if self._network is not None and self.backend == "torch":
            return next((p.dtype for p in self._network.parameters()), None)
        return precision_dtype(self.precision)

    @property
    def transformers_model(self) -> Any:
        """The first module's transformers model (``None`` for a static or word-embedding model); asking for
        it moves a model running on ONNX to its torch modules, since the caller may change the weights."""
        return _transformers_model(self._network_to_change())

    @property
    def config(self) -> Any:
        """The transformers config of :attr:`transformers_model` (``None`` without one), which integrations
        read (``model.config.hidden_size``). Needs torch: it loads the torch modules, but a model on ONNX
        stays there; setting it sets the transformers model's."""
        require_torch("model.config (the transformers config)")
        return getattr(_transformers_model(self._torch_network()), "config", None)

    @config.setter
    def config(self, value: Any) -> None:
        model = self.transformers_model
        if model is not None:
            model.config = value

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """sentence-transformers 6's name of :meth:`gradient_checkpointing_enable`."""
        self.gradient_checkpointing_enable(activation_checkpointing_kwargs, **kwargs)

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Recompute the encoder's activations in the backward pass (less memory when training)."""
        from ._training.trainer import enable_gradient_checkpointing

        enable_gradient_checkpointing(self._network_to_change(), gradient_checkpointing_kwargs)

    # nn.Sequential's editing methods: sentence-transformers' model is one

    def __setitem__(self, index: int, module: Any) -> None:
        modules = self._modules_to_edit("replace a module")
        modules[index] = module
        self._use_modules(modules)

    def append(self, module: Any) -> Any:
        """Add ``module`` at the end of the pipeline (e.g. a ``Normalize``); returns the model."""
        return self.extend([module])

    def extend(self, modules: Any) -> Any:
        edited = self._modules_to_edit("add modules")
        edited.extend(modules)
        self._use_modules(edited)
        return self

    def insert(self, index: int, module: Any) -> Any:
        modules = self._modules_to_edit("insert a module")
        modules.insert(index, module)
        self._use_modules(modules)
        return self

    def pop(self, index: int = -1) -> Any:
        """Remove and return the module at ``index`` (default: the last)."""
        modules = self._modules_to_edit("remove a module")
        module = modules.pop(index)
        self._use_modules(modules)
        return module

    def _modules_to_edit(self, what: str) -> list[Any]:
        """The pipeline's modules as a list to change; a model loaded with an explicit ONNX (or other
        graph) backend cannot change (its graph is built from the saved modules)."""
        if self.backend != "torch" and not self._auto:
            raise InputError(
                f"backend={self.backend!r} runs a graph built from the saved modules; load the model with "
                f"backend='auto' or 'torch' to {what}."
            )
        return list(self._network_to_change())

    def set_pooling_include_prompt(self, include_prompt: bool) -> None:
        """Whether the first Pooling module averages a prompt's tokens too (``False``: instruction models
        such as INSTRUCTOR leave them out); a model without a Pooling module is left as it is. A model that
        ``backend="auto"`` put on ONNX moves to its torch modules for a change (the graph is built from the
        saved Pooling); one loaded with ``backend="onnx"`` cannot change."""
        if not isinstance(include_prompt, bool):
            raise InputError(f"include_prompt must be True or False, got {include_prompt!r}.")
        if self.backend != "torch":
            pipeline = self._pipeline
            pooled = any(entry.kind == "Pooling" for entry in pipeline.entries)
            if not pooled or pipeline.includes_prompt == include_prompt:
                return
            if not self._auto:
                raise InputError(
                    f"backend={self.backend!r} runs a graph built for the saved Pooling (include_prompt="
                    f"{pipeline.includes_prompt}); load the model with backend='auto' or 'torch' to change "
                    "it, or save it with the Pooling changed."
                )
        network = self._network_to_change()
        pooling = next((m for m in network.modules() if type(m).__name__ == "Pooling"), None)
        if pooling is not None:
            pooling.include_prompt = include_prompt


def _transformers_model(network: Any) -> Any:
    """The first transformers model among ``network``'s modules (a Transformer's), else ``None``."""
    return next((m.auto_model for m in network.modules() if getattr(m, "auto_model", None) is not None), None)
