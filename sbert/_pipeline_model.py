"""What a model class that holds its torch modules as ``self._network`` (an ``nn.Sequential``) shows of them,
as sentence-transformers' models (``nn.Sequential`` subclasses) do: indexing, iteration, ``repr``, the device,
the dtype and the multi-process pool; the ``torch.nn.Module`` methods that user and training code call on a
model come from :mod:`sbert._model_methods`, through the hooks defined here. SparseEncoder and
MultiVectorEncoder share it. Importing it does not import torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._backends.devices import DeviceName, check_device, device_name
from ._checks import check_sequence_length
from ._errors import InputError
from ._model_methods import PRECISION_DTYPES, ModelMethods, ModuleEditing

if TYPE_CHECKING:
    import torch

    from ._format.snapshot import FolderSnapshot


def default_device() -> str:
    """A GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class PipelineModel(ModelMethods, ModuleEditing):
    """The mixin; the class sets ``self._network`` (and ``self._device`` through :meth:`to`), its backend
    (``_backend``: ``"torch"`` or ``"onnx"``, with the graph's ``_precision``) and ``_use_modules`` (an
    edited list of modules as its pipeline)."""

    _network: Any
    _device: str
    _backend: str
    _precision: str | None
    _folder: Path | None
    _snapshot: FolderSnapshot | None = None  # an ONNX model's folder as loaded

    def __getitem__(self, index: int) -> Any:
        return self._network[index]

    def __len__(self) -> int:
        return len(self._network)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._network)

    def __repr__(self) -> str:
        return self._pipeline_repr([repr(module) for module in self._network])

    def _torch_module(self) -> Any:
        return self._network  # on backend="onnx" its stand-ins (OnnxModules), without parameters

    def get_backend(self) -> str:
        """``"torch"`` or ``"onnx"``: what encodes."""
        return self._backend

    @property
    def backend(self) -> str:
        """sentence-transformers' attribute: :meth:`get_backend`."""
        return self._backend

    @property
    def folder(self) -> Path | None:
        """On ``backend="onnx"``, the local folder its graph was built from (its pool's workers load it); on
        torch ``None`` (its modules may have changed since loading). Once that folder was changed or removed,
        a private copy of the files the model was loaded from."""
        if self._backend != "onnx":
            return None
        return self._snapshot.folder() if self._snapshot is not None else self._folder

    @property
    def device(self) -> DeviceName:
        """The device's name, equal to its ``torch.device`` (``tensor.device == model.device``)."""
        return device_name(self._device)

    def _to_device(self, device: str | torch.device) -> Any:
        self._device = check_device(device) or "cpu"
        self._network.to(self._device)
        return self

    def _set_precision(self, precision: str) -> Any:
        """The torch modules cast to ``precision``'s dtype, as ``nn.Module.half()`` and the like cast them."""
        if self._backend == "onnx":
            if precision == "fp32":  # the graph takes and gives float32
                return self
            raise InputError(
                f"A {type(self).__name__} on backend='onnx' runs its graph in the precision it was built "
                "with; load it with backend='torch' to cast it."
            )
        import torch

        self._network.to(getattr(torch, PRECISION_DTYPES[precision]))
        return self

    @property
    def dtype(self) -> Any:
        """The dtype of the first parameter, as sentence-transformers'; ``None`` without parameters (on
        ``backend="onnx"``: the graph holds the weights)."""
        return next((p.dtype for p in self._network.parameters()), None)

    def _modules_to_edit(self, what: str) -> list[Any]:
        if self._backend == "onnx":
            raise InputError(
                f"A {type(self).__name__} on backend='onnx' runs its graph; load it with backend='torch' to "
                f"{what}."
            )
        return list(self._network)

    @property
    def transformers_model(self) -> Any:
        """The first ``transformers`` model of the pipeline (e.g. ``BertModel``), or ``None``."""
        return next((m.auto_model for m in self._network.modules() if hasattr(m, "auto_model")), None)

    @property
    def config(self) -> Any:
        """The transformers config of :attr:`transformers_model` (``None`` without one, e.g. on
        backend="onnx"); setting it sets the transformers model's."""
        return getattr(self.transformers_model, "config", None)

    @config.setter
    def config(self, value: Any) -> None:
        model = self.transformers_model
        if model is not None:
            model.config = value

    @property
    def tokenizer(self) -> Any:
        return self._network[0].tokenizer

    @property
    def max_seq_length(self) -> int:
        return self._network[0].max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self._network[0].max_seq_length = value

    def start_multi_process_pool(self, target_devices: Sequence[str] | None = None) -> dict[str, Any]:
        """Worker processes that ``encode`` uses when given ``pool=``: one per device (default: every GPU,
        else 4 CPU workers sharing the cores), as in sentence-transformers. On torch they load a copy of the
        model saved now; on ``backend="onnx"`` its folder."""
        from ._multiprocess import start_model_pool

        onnx_precision = (self._precision or "fp32") if self._backend == "onnx" else ""
        return start_model_pool(self, target_devices, onnx_precision, self._pool_settings())

    def _pool_settings(self) -> tuple[Any, Any] | None:
        """The pool workers' ``after_load`` (:func:`sbert._multiprocess.start_pool`): the settings the saved
        copy or the ONNX folder does not hold."""
        return None


class OnnxModules:
    """A model's pipeline on ``backend="onnx"``: its modules' stand-ins in order (the graph holds the
    weights), with what a model asks of its ``nn.Sequential``: no parameters, CPU only, inference only.
    Subclasses name their model class in ``model_class`` for the errors."""

    model_class = "model"

    def __init__(self, *items: Any) -> None:
        self.items = list(items)
        self.training = True  # as the model's nn.Sequential is made, until eval() (encode calls it)

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
        self.training = False
        return self

    def train(self, mode: bool = True) -> Any:
        if mode:
            raise InputError(
                f"A {self.model_class} on backend='onnx' only encodes; train it with backend='torch'."
            )
        return self.eval()

    def parameters(self, recurse: bool = True) -> Iterator[Any]:
        return iter(())

    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return iter(())

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    def modules(self) -> Iterator[Any]:
        return iter(self.items)

    def named_modules(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        return iter((str(i), m) for i, m in enumerate(self.items))

    def children(self) -> Iterator[Any]:
        return self.modules()

    def named_children(self) -> Iterator[tuple[str, Any]]:
        return self.named_modules()

    def get_submodule(self, target: str) -> Any:
        return self if target == "" else self.items[int(target)]

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        return iter(())

    def named_buffers(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return iter(())

    def apply(self, fn: Any) -> Any:
        for item in self.items:
            fn(item)
        fn(self)  # the model's, as nn.Module.apply ends with the module itself
        return self

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
        check_sequence_length("max_seq_length", value)
        self.tokenizer.max_length = value
