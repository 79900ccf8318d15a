"""sentence-transformers' ``SentenceTransformer`` methods that sbert's own API has no use for.

User code written for sentence-transformers calls them (``model.evaluate(evaluator)``, ``push_to_hub``,
``truncate_sentence_embeddings``, ...), so :class:`sbert.SentenceTransformer` inherits them from here, kept
apart from the model's own loading, encoding and saving.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._backends import BACKENDS
from ._backends.torch_runner import precision_dtype
from ._errors import InputError
from ._numeric import SIMILARITY_FUNCTIONS


class SentenceTransformersMethods:
    """Mixed into :class:`sbert.SentenceTransformer`: sentence-transformers' names for what sbert does."""

    SUPPORTED_SIMILARITY_FN_NAMES = SIMILARITY_FUNCTIONS

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
        for module in self._network_to_change().modules():
            model = getattr(module, "auto_model", None)
            if model is not None:
                return model
        return None

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Recompute the encoder's activations in the backward pass (less memory when training)."""
        from ._training.trainer import enable_gradient_checkpointing

        enable_gradient_checkpointing(self._network_to_change(), gradient_checkpointing_kwargs)

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

    def push_to_hub(
        self,
        repo_id: str,
        token: str | None = None,
        private: bool | None = None,
        safe_serialization: bool = True,
        commit_message: str | None = None,
        local_model_path: str | os.PathLike | None = None,
        exist_ok: bool = False,
        replace_model_card: bool = False,
        train_datasets: Sequence[str] | None = None,
        revision: str | None = None,
        create_pr: bool = False,
    ) -> str:
        """Save the model (with its card) into a new or existing hub repository ``repo_id``; the commit's URL
        (the pull request's with ``create_pr``). ``local_model_path`` uploads that folder instead. Needs a
        hub token (``token``, ``HF_TOKEN`` or ``hf auth login``) and the network."""
        from ._format.hub import push_to_hub

        if not safe_serialization:
            raise InputError("sbert writes weights as model.safetensors only (safe_serialization=True).")
        backend = self.get_backend()
        default_message = f"Add new {type(self).__name__} model" + (
            "" if backend == "torch" else f" with an {backend} backend"
        )
        return push_to_hub(
            lambda folder, name: self.save(folder, model_name=name, train_datasets=train_datasets),
            repo_id,
            token=token,
            private=private,
            commit_message=commit_message or default_message,
            local_model_path=local_model_path,
            exist_ok=exist_ok,
            revision=revision,
            create_pr=create_pr,
        )
