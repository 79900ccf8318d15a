"""What a model class that holds its torch modules as ``self._network`` (an ``nn.Sequential``) shows of them,
as sentence-transformers' models (``nn.Sequential`` subclasses) do: indexing, iteration, ``repr``, the device,
and the ``torch.nn.Module`` methods that user and training code call on a model. SparseEncoder and
MultiVectorEncoder share it. Importing it does not import torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._adapters import PeftAdapterMixin
from ._backends.devices import DeviceName, check_device
from ._checks import is_single_input
from ._errors import InputError

if TYPE_CHECKING:
    import torch


def default_device() -> str:
    """A GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class PipelineModel(PeftAdapterMixin):
    """The mixin; the class sets ``self._network`` (and ``self._device`` through :meth:`to`)."""

    _network: Any
    _device: str

    def __getitem__(self, index: int) -> Any:
        return self._network[index]

    def __setitem__(self, index: int, module: Any) -> None:
        """Replace a module of the pipeline (``model[1] = Router(...)``), as on an ``nn.Sequential``."""
        self._network[index] = module

    def __len__(self) -> int:
        return len(self._network)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._network)

    def __repr__(self) -> str:
        inner = "\n".join(
            f"  ({i}): " + repr(module).replace("\n", "\n  ") for i, module in enumerate(self._network)
        )
        return f"{type(self).__name__}(\n{inner}\n)"

    @property
    def device(self) -> DeviceName:
        """The device's name, equal to its ``torch.device`` (``tensor.device == model.device``)."""
        return DeviceName(self._device)

    def to(self, device: str | torch.device) -> Any:
        self._device = check_device(device) or "cpu"
        self._network.to(self._device)
        return self

    def eval(self) -> Any:
        self._network.eval()
        return self

    def train(self, mode: bool = True) -> Any:
        self._network.train(mode)
        return self

    @property
    def training(self) -> bool:
        return bool(self._network.training)

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        return self._network.parameters()

    def named_parameters(self) -> Iterator[tuple[str, torch.nn.Parameter]]:
        return self._network.named_parameters()

    def state_dict(self) -> dict[str, Any]:
        return self._network.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> Any:
        return self._network.load_state_dict(state)

    def modules(self) -> Iterator[Any]:
        """Every torch module of the pipeline, nested ones (a Router's routes) included."""
        return self._network.modules()

    def named_modules(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        return self._network.named_modules(*args, **kwargs)

    def children(self) -> Iterator[Any]:
        return self._network.children()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._network.zero_grad(set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        self._network.requires_grad_(requires_grad)
        return self

    def get_backend(self) -> str:
        return "torch"

    @property
    def transformers_model(self) -> Any:
        """The first ``transformers`` model of the pipeline (e.g. ``BertModel``), or ``None``."""
        return next((m.auto_model for m in self._network.modules() if hasattr(m, "auto_model")), None)

    @property
    def tokenizer(self) -> Any:
        return self._network[0].tokenizer

    @property
    def max_seq_length(self) -> int:
        return self._network[0].max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self._network[0].max_seq_length = value

    def get_max_seq_length(self) -> int | None:
        """sentence-transformers' older spelling of :attr:`max_seq_length` (mteb's metadata reads it)."""
        return self.max_seq_length

    @property
    def processor(self) -> Any:
        """sentence-transformers 6's name for :attr:`tokenizer`."""
        return self.tokenizer

    @property
    def modalities(self) -> list[str]:
        """What the model reads: ``["text"]``."""
        return ["text"]

    def supports(self, modality: Any) -> bool:
        """Whether the model reads ``modality``: ``"text"`` only."""
        return modality in self.modalities

    def is_singular_input(self, inputs: Any) -> bool:
        """Whether ``inputs`` is one input rather than a batch, by sentence-transformers' rule."""
        return is_single_input(inputs)

    @property
    def dtype(self) -> Any:
        """The torch dtype of the model's parameters (``None`` on ``backend="onnx"``: it has none)."""
        return next((p.dtype for p in self.parameters()), None)

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Recompute the encoder's activations in the backward pass (less memory when training)."""
        from ._training.trainer import enable_gradient_checkpointing

        enable_gradient_checkpointing(self._network, gradient_checkpointing_kwargs)

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """sentence-transformers 6's name of :meth:`gradient_checkpointing_enable`."""
        self.gradient_checkpointing_enable(activation_checkpointing_kwargs, **kwargs)


class OnnxModules:
    """A model's pipeline on ``backend="onnx"``: its modules' stand-ins in order (the graph holds the
    weights), with what a model asks of its ``nn.Sequential``: no parameters, CPU only, inference only.
    Subclasses name their model class in ``model_class`` for the errors."""

    training = False
    model_class = "model"

    def __init__(self, *items: Any) -> None:
        self.items = list(items)

    def __getitem__(self, index: int) -> Any:
        return self.items[index]

    def __setitem__(self, index: int, module: Any) -> None:
        raise InputError(
            f"A {self.model_class} on backend='onnx' runs its graph; load it with backend='torch' to change "
            "modules."
        )

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def to(self, device: Any) -> Any:
        if str(device) != "cpu":
            raise InputError(
                f"A {self.model_class} on backend='onnx' runs on the CPU (ONNX Runtime's CPU provider), not "
                f"on {device!r}; use device='cpu', or backend='torch' for {device!r}."
            )
        return self

    def eval(self) -> Any:
        return self

    def train(self, mode: bool = True) -> Any:
        if mode:
            raise InputError(
                f"A {self.model_class} on backend='onnx' only encodes; train it with backend='torch'."
            )
        return self

    def parameters(self) -> Iterator[Any]:
        return iter(())

    def named_parameters(self) -> Iterator[Any]:
        return iter(())

    def state_dict(self) -> dict[str, Any]:
        return {}

    def modules(self) -> Iterator[Any]:
        return iter(self.items)

    def named_modules(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        return iter((str(i), m) for i, m in enumerate(self.items))

    def children(self) -> Iterator[Any]:
        return self.modules()

    def zero_grad(self, set_to_none: bool = True) -> None:
        return None

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        return self


class TokenizerLength:
    """``max_seq_length`` of a pipeline's input module that keeps it on its ``tokenizer`` (the ONNX input
    modules of SparseEncoder and MultiVectorEncoder), checked as the torch modules check it."""

    tokenizer: Any

    @property
    def max_seq_length(self) -> int:
        return self.tokenizer.max_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 2:
            raise InputError(f"max_seq_length must be an int >= 2, got {value!r}")
        self.tokenizer.max_length = value
