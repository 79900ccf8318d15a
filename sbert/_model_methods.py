"""The methods every sbert model class shows as sentence-transformers' models do: ``torch.nn.Module``'s (its
models are ``nn.Sequential`` subclasses) and those of its ``BaseModel`` that do not depend on the kind.

sbert's models are not torch modules (``import sbert`` and ONNX inference need no torch): each holds its
torch modules and says where they are (:meth:`ModelMethods._torch_module`: handing them out may move a model
that "auto" put on ONNX to them, since the caller may change the weights), how it moves (``_to_device``) and
how it changes precision (``_set_precision``). SentenceTransformer (``_st_methods``), SparseEncoder and
MultiVectorEncoder (``_pipeline_model``) and CrossEncoder (``_cross_encoder.st_methods``) inherit the rest
from here, and the pipelines' ``append`` / ``insert`` / ``pop`` from :class:`ModuleEditing`. Importing this
module does not import torch.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ._adapters import PeftAdapterMixin
from ._backends.devices import process_device_name
from ._backends.torch_runner import TORCH_DTYPES
from ._checks import is_single_input
from ._compat import to_arguments
from ._errors import InputError, torch_installed
from ._format.card_data import card_data_for
from ._format.hub import push_model_to_hub, save_model_to_hub
from ._format.layout import saved_model_type, st_module_kwargs
from ._st_loggers import ST_MODEL
from ._tokens.batching import input_length

_LOGGER = logging.getLogger(ST_MODEL)  # its notices of older names, as there

# sbert's precision names as torch dtypes; fp64 (``double()``) runs on the pipelines' own torch modules only
PRECISION_DTYPES = {**TORCH_DTYPES, "fp64": "float64"}


def _device_name(kind: str, device: Any) -> str:
    """``nn.Module.cuda``-style arguments (none, an index or a name) as a device name."""
    if device is None:
        return kind
    return f"{kind}:{device}" if isinstance(device, int) else str(device)


def _hook_method(name: str, *, observed: bool = False) -> Callable[..., Any]:
    """``nn.Module``'s ``name`` (a hook registration) on the model's torch modules; the hook is called with
    the model as its module, as sentence-transformers' model (the ``nn.Sequential``) is. ``observed``: a
    forward hook, which inference must then fire (:meth:`ModelMethods._observed_network`)."""

    def register(self: ModelMethods, hook: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        network = self._observed_network(name) if observed else self._torch_modules(name)

        @functools.wraps(hook)
        def on_model(module: Any, *rest: Any) -> Any:
            return hook(self, *rest)

        return getattr(network, name)(on_model, *args, **kwargs)

    register.__name__ = register.__qualname__ = name
    register.__doc__ = f"torch's ``{name}`` on the model's modules; the hook gets the model as its module."
    return register


class ModelMethods(PeftAdapterMixin):
    """Mixed into the four model classes; each provides the hooks at the top. sentence-transformers' PEFT
    adapter methods come with it (:mod:`sbert._adapters`)."""

    push_to_hub = push_model_to_hub  # sbert._format.hub: saves the model and uploads the folder
    save_to_hub = save_model_to_hub
    # sentence-transformers' attributes: the constructor's trust_remote_code (each class sets it) and its
    # HPU-graph flag (sbert never wraps a model in HPU graphs)
    trust_remote_code = False
    is_hpu_graph_enabled = False
    # sentence-transformers' sort key of its batches, which subclasses and client code call
    _input_length = staticmethod(input_length)

    def _first_module(self) -> Any:
        """The first module (sentence-transformers' helper, which client libraries call)."""
        return self[0]

    def _last_module(self) -> Any:
        return self[len(self) - 1]

    @property
    def module_kwargs(self) -> dict[str, list[str]] | None:
        """sentence-transformers' ``module_kwargs``: the ``forward`` keywords each module's modules.json
        entry names, by module name (``{}``: a plain Hugging Face folder; ``None``: built from modules);
        read from the folder once."""
        if "_module_kwargs" not in self.__dict__:
            self.__dict__["_module_kwargs"] = st_module_kwargs(getattr(self, "_folder", None))
        return self.__dict__["_module_kwargs"]

    def save_pretrained(
        self,
        path: str | os.PathLike | None,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: Sequence[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """sentence-transformers' ``save_pretrained``: :meth:`save` with these keywords, so a subclass's own
        ``save`` (one that writes more files) is what it runs."""
        self.save(
            path,
            model_name=model_name,
            create_model_card=create_model_card,
            train_datasets=train_datasets,
            safe_serialization=safe_serialization,
        )

    # ------------------------------------------------------------------ what each class provides

    tokenizer: Any
    max_seq_length: Any
    save: Callable[..., None]  # the model in its class's layout (each class's own)

    def _torch_module(self) -> Any:
        """The ``torch.nn.Module`` the methods below act on (loaded now on a model that runs on ONNX)."""
        raise NotImplementedError

    def _to_device(self, device: Any) -> Any:
        raise NotImplementedError

    def _start_torch(self) -> Any:
        """A torch runner for the current precision (the classes whose runner holds the precision)."""
        raise NotImplementedError

    precision: str  # sbert's precision of the encoder (SentenceTransformer, CrossEncoder)
    _runner: Any

    def _set_precision(self, precision: str) -> Any:
        """Run the encoder in ``precision`` from now on (the torch runner restarted); a backend that runs a
        graph keeps the precision it was loaded with."""
        if precision == self.precision:
            return self
        if precision not in TORCH_DTYPES:
            raise InputError(
                f"sbert's {type(self).__name__} runs float32, bfloat16 or float16 (model.float(), "
                f".bfloat16(), .half()), not {PRECISION_DTYPES.get(precision, precision)}."
            )
        self._torch_module()  # "auto" moves a model it put on ONNX to torch, which runs every precision
        backend = self.get_backend()
        if backend != "torch":
            raise InputError(
                f"The {backend} backend runs the precision it was loaded with ({self.precision}); load the "
                f"model with backend='torch' (or 'auto') to change it, or pass precision={precision!r}."
            )
        self.precision = precision
        self._runner = self._start_torch()
        return self

    def get_backend(self) -> str:
        raise NotImplementedError

    def _backend_to_load(self) -> str:
        """The backend a push to the hub names (its commit message, its pull request's loading code): torch
        where sbert chose the backend itself (``backend="auto"``), as the saved folder is a torch model's and
        sentence-transformers loads it on torch by default."""
        return "torch" if getattr(self, "_auto", False) else self.get_backend()

    # ------------------------------------------------------------------ device and dtype

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """Move the model to a device and/or cast it to a dtype, as ``torch.nn.Module.to``: ``to("cuda")``,
        ``to(torch.float16)`` (``half()``), ``to("cuda", torch.bfloat16)``, ``to(tensor)``."""
        device, precision = to_arguments(args, kwargs)
        if precision is not None:
            self._set_precision(precision)
        return self if device is None else self._to_device(device)

    def cpu(self) -> Any:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Any:
        """The model on a GPU (``device``: its index or name; default the current one). Without one, the
        error torch gives for ``nn.Module.cuda()`` (no CUDA build, or no GPU visible)."""
        import torch

        if not torch.cuda.is_available():
            torch.empty(0).cuda(device)  # raises torch's own error, as sentence-transformers' model does
        if device is None:
            return self.to("cuda")
        return self.to(f"cuda:{device}" if isinstance(device, int) else device)

    def half(self) -> Any:
        """The model in float16 from now on."""
        return self._set_precision("fp16")

    def bfloat16(self) -> Any:
        """The model in bfloat16 from now on."""
        return self._set_precision("bf16")

    def float(self) -> Any:
        """The model in float32 (again)."""
        return self._set_precision("fp32")

    def double(self) -> Any:
        """The model in float64 (the pipelines' torch modules; a SentenceTransformer or CrossEncoder runs
        float32, bfloat16 or float16 and says so)."""
        return self._set_precision("fp64")

    def type(self, dst_type: Any) -> Any:
        """The model cast to ``dst_type`` (a dtype or a tensor type name such as ``"torch.HalfTensor"``)."""
        import torch

        dtype = dst_type if isinstance(dst_type, torch.dtype) else torch.empty(0).type(dst_type).dtype
        return self.to(dtype)

    @property
    def _target_device(self) -> Any:
        # sentence-transformers 2's name for `device`, still read by older clients (InstructorEmbedding's
        # encode); there a deprecated alias, logged on every use
        name = type(self).__name__
        _LOGGER.warning(f"`{name}._target_device` has been deprecated. Please use `{name}.device` instead.")
        return self.device

    @_target_device.setter
    def _target_device(self, device: Any) -> None:
        name = type(self).__name__
        _LOGGER.warning(f"`{name}._target_device` has been deprecated. Please use `to(device)` instead.")
        self.to(device)

    def get_device_name(self) -> str:
        """The device a new model or pool would use: ``"cuda:<LOCAL_RANK>"``, ``"mps"``, ``"xpu"`` or
        ``"cpu"``, as sentence-transformers names it."""
        return process_device_name()

    def clear_placement_cache(self) -> None:
        """Nothing to clear: sbert places no Accelerate hooks (sentence-transformers' device-map cache)."""

    def extra_repr(self) -> str:
        return ""

    # ------------------------------------------------------------------ the torch modules

    def parameters(self, recurse: bool = True) -> Iterator[Any]:
        return self._torch_module().parameters(recurse)

    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        return self._torch_module().named_parameters(*args, **kwargs)

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        return self._torch_module().buffers(recurse)

    def named_buffers(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        return self._torch_module().named_buffers(*args, **kwargs)

    def modules(self) -> Iterator[Any]:
        """The model itself, then every torch module in it, nested ones (a Router's routes, the encoder's
        layers) included."""
        network = self._torch_module()
        return (self if module is network else module for module in network.modules())

    def named_modules(
        self, memo: set[Any] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        """``nn.Module.named_modules``: the model itself at ``prefix``, as sentence-transformers' model (the
        ``nn.Sequential``) is there (a parent module's ``named_modules()`` asks it so), then its torch
        modules; the network holding them stands in ``memo`` for the model."""
        network = self._torch_module()
        pairs = network.named_modules(memo, prefix, remove_duplicate)
        return ((name, self if module is network else module) for name, module in pairs)

    def children(self) -> Iterator[Any]:
        return self._torch_module().children()

    def named_children(self) -> Iterator[tuple[str, Any]]:
        return self._torch_module().named_children()

    # nn.Module's table of children, which setfit's ONNX export reads and torch.ao.quantization's
    # quantize_dynamic sets its quantized layers through (cherche's utils.quantize of any of the four)
    @property
    def _modules(self) -> dict[str, Any]:
        if "_modules" in self.__dict__:
            return self.__dict__["_modules"]
        return dict(self._torch_module().named_children())

    @_modules.setter
    def _modules(self, value: dict[str, Any]) -> None:
        # test doubles that skip __init__ set nn.Module's table themselves (mteb's MockSentenceTransformer)
        self.__dict__["_modules"] = value

    # the torch modules' hook tables: torch.ao.quantization's quantize_dynamic clears its hooks from them
    @property
    def _forward_pre_hooks(self) -> Any:
        return self._torch_module()._forward_pre_hooks

    @property
    def _forward_hooks(self) -> Any:
        return self._torch_module()._forward_hooks

    def get_submodule(self, target: str) -> Any:
        """The module at the dotted path ``target`` (as :meth:`named_modules` names it)."""
        return self._torch_module().get_submodule(target)

    def get_parameter(self, target: str) -> Any:
        return self._torch_module().get_parameter(target)

    def get_buffer(self, target: str) -> Any:
        return self._torch_module().get_buffer(target)

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._torch_module().state_dict(*args, **kwargs)  # its tensors are the weights: writable

    def load_state_dict(self, state: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return self._torch_module().load_state_dict(state, *args, **kwargs)

    def train(self, mode: bool = True) -> Any:
        if not mode:  # nn.Module's eval(): no torch modules loaded for it
            return self.eval()
        if self.__dict__.get("_network") is None and not torch_installed():
            self.__dict__["_training"] = True  # no torch modules to load (the base install): the flag alone
            return self
        self._torch_module().train(mode)
        return self

    def eval(self) -> Any:
        """The torch modules in eval mode (no dropout); a model whose modules are not loaded (a graph runs
        it) remembers it for when they are (:meth:`_in_model_mode`). Returns the model."""
        network = self.__dict__.get("_network")
        if network is not None:
            network.eval()
        else:
            self.__dict__["_training"] = False
        return self

    @property
    def training(self) -> bool:
        """Whether the model is in training mode (its torch modules' dropout on). A model is made in training
        mode, as sentence-transformers' ``nn.Sequential`` is, until :meth:`eval` (which encode and predict
        call): so reports one whose torch modules are not loaded, torch not imported for it."""
        network = self.__dict__.get("_network")
        if network is None:
            return self.__dict__.get("_training", True)
        return bool(network.training)

    def _in_model_mode(self, network: Any, *, edited: bool = False) -> Any:
        """``network``, a torch pipeline the model is to hold from now on, in the model's mode, as
        sentence-transformers' model holds its modules: loaded in training mode (the modules as they were
        made, a Hugging Face model inside in eval, as ``from_pretrained`` leaves it), all in eval where the
        model is (it ran on a graph, then was asked for its modules). An ``edited`` pipeline (``append``,
        ``del model[i]``, ...) takes the model's flag alone, its modules keeping their own, as
        ``nn.Sequential``'s edits keep them."""
        if self.training:
            network.training = True
        elif edited:
            network.training = False
        else:
            network.eval()
        return network

    @training.setter
    def training(self, mode: bool) -> None:
        """``model.training = mode``, as torch code sets a module's own flag (``torch.compile``'s wrapper on
        the model it wraps, an ``apply(fn)``): the flag of the network holding the torch modules, which
        :attr:`training` reads, the modules' own left as they are (:meth:`train` sets all)."""
        if bool(mode) != self.training:
            self._torch_module().training = bool(mode)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._torch_module().zero_grad(set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        self._torch_module().requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Any], None]) -> Any:
        """``fn`` on every torch module (children first), then on the model itself, as ``nn.Module.apply``;
        returns the model."""
        network = self._torch_module()
        network.apply(lambda module: fn(self if module is network else module))
        return self

    def xpu(self, device: Any = None) -> Any:
        return self.to(_device_name("xpu", device))

    def mtia(self, device: Any = None) -> Any:
        return self.to(_device_name("mtia", device))

    def ipu(self, device: Any = None) -> Any:
        return self.to(_device_name("ipu", device))

    def to_empty(self, *, device: Any, recurse: bool = True) -> Any:
        """``nn.Module.to_empty``: the modules' tensors replaced by uninitialized ones on ``device``."""
        self._torch_modules("to_empty").to_empty(device=device, recurse=recurse)
        return self._to_device(device)

    def share_memory(self) -> Any:
        self._torch_modules("share_memory").share_memory()
        return self

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        self._torch_modules("register_buffer").register_buffer(name, tensor, persistent)

    def register_parameter(self, name: str, param: Any) -> None:
        self._torch_modules("register_parameter").register_parameter(name, param)

    def set_submodule(self, target: str, module: Any, strict: bool = False) -> None:
        """The module at the dotted path ``target`` replaced by ``module`` (``nn.Module.set_submodule``)."""
        self._torch_modules("set_submodule").set_submodule(target, module, strict)

    def get_extra_state(self) -> Any:
        return self._torch_modules("get_extra_state").get_extra_state()

    def set_extra_state(self, state: Any) -> None:
        self._torch_modules("set_extra_state").set_extra_state(state)

    def _torch_modules(self, what: str) -> Any:
        """The torch modules for ``what``; a model that runs a graph (backend="onnx", or "auto" in int8) has
        none that run, so it is refused by name rather than changed without effect."""
        network = self._torch_module()  # "auto" moves a model it put on ONNX to its torch modules
        backend = self.get_backend()
        if backend != "torch":
            raise InputError(
                f"{what}() acts on the torch modules, but this {type(self).__name__} runs on the {backend} "
                "backend: load it with backend='torch'."
            )
        return network

    # ------------------------------------------------------------------ hooks and torch.compile

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """torch's ``nn.Module.compile`` of the model's modules, which inference then calls, as
        sentence-transformers' ``encode`` / ``predict`` call the compiled model."""
        self._observed_network("compile").compile(*args, **kwargs)

    register_forward_hook = _hook_method("register_forward_hook", observed=True)
    register_forward_pre_hook = _hook_method("register_forward_pre_hook", observed=True)
    register_full_backward_hook = _hook_method("register_full_backward_hook")
    register_full_backward_pre_hook = _hook_method("register_full_backward_pre_hook")
    register_backward_hook = _hook_method("register_backward_hook")
    register_state_dict_pre_hook = _hook_method("register_state_dict_pre_hook")
    register_state_dict_post_hook = _hook_method("register_state_dict_post_hook")
    register_load_state_dict_pre_hook = _hook_method("register_load_state_dict_pre_hook")
    register_load_state_dict_post_hook = _hook_method("register_load_state_dict_post_hook")

    def _observed_network(self, what: str) -> Any:
        """The torch modules, run from now on through their ``__call__`` by inference, batch by batch as
        sentence-transformers runs them: a hook or ``compile`` then sees what it sees there. Their
        padding-free forward is turned off (it leaves padded positions uncomputed, which a hook would see,
        and torch.compile must see the padded forward)."""
        from ._modules.padding_free import run_padded

        network = self._torch_modules(what)
        run_padded(network)
        self._observe(network)
        return network

    def _observe(self, network: Any) -> None:
        """What the class changes for inference to call ``network`` (its modules) batch by batch: by default
        nothing, its inference already calls them."""

    # ------------------------------------------------------------------ sentence-transformers' BaseModel

    # the model id in the usage code of sentence-transformers' card, which a loaded card's save replaces
    _model_card_model_id_placeholder = "sentence_transformers_model_id"

    @property
    def _model_card_text(self) -> str | None:
        """sentence-transformers' ``_model_card_text``: the README.md of the folder the model was loaded from
        (read on first use) where that folder is the class's own (sentence-transformers reads none from a
        plain Hugging Face folder or one it converts from another class), None for a model built from
        modules or a folder without one."""
        if "_readme_text" not in self.__dict__:
            folder = getattr(self, "_folder", None)
            own = folder is not None and saved_model_type(Path(folder)) == getattr(self, "model_type", None)
            readme = Path(folder) / "README.md" if own else None
            text = readme.read_text(encoding="utf-8") if readme is not None and readme.is_file() else None
            self.__dict__["_readme_text"] = text
        return self.__dict__["_readme_text"]

    def _save_card(
        self, folder: Path, model_name: str | None, path: Any, generate: Callable[[str], str]
    ) -> None:
        """Write the README.md of a save into ``folder`` by sentence-transformers' ``_create_model_card``
        rule: ``model_name`` (a name, not an existing path) becomes the card data's ``model_id`` where it has
        none; a model holding the README.md it was loaded with (:attr:`_model_card_text`) that no trainer has
        trained (no ``generated_from_trainer`` tag) writes that text again, its usage code's placeholder id
        (or, in a card sbert wrote, the loaded folder's name) replaced by the model id; any other writes
        ``generate(name)``, ``name`` being ``model_name`` or the name of ``path`` (the folder the save was
        asked for); the card data then holds what sentence-transformers' save leaves there
        (``note_card_written``: ``save_dir``, and after a new card the usage example's inputs and scores)."""
        card = self.model_card_data = card_data_for(self)
        if model_name and not Path(model_name).exists() and not card.get("model_id"):
            card["model_id"] = model_name
        if not card.get("base_model") and getattr(self, "_folder", None) is None:
            self._base_model_of_modules(card)
        text = self._model_card_text
        generated = not text or "generated_from_trainer" in (card.get("tags") or [])
        card.note_card_written(path, generated)  # first, as there: the usage snippet runs the model
        if generated:
            text = generate(model_name or Path(path).name)
        elif card.get("model_id"):
            call = f'model = {type(self).__name__}("'
            placeholder = call + self._model_card_model_id_placeholder + '"'
            text = text.replace(placeholder, call + card["model_id"] + '"')
            loaded_from = getattr(self, "_folder", None)
            if loaded_from is not None:  # sbert's own card loads the model by its folder's name
                text = text.replace(f"('{Path(loaded_from).name}')", f"('{card['model_id']}')")
        (folder / "README.md").write_text(text, encoding="utf-8")

    @_model_card_text.setter
    def _model_card_text(self, value: str | None) -> None:
        self.__dict__["_readme_text"] = value

    def forget_loaded_card(self) -> None:
        """Drop the README.md the model was loaded with: it no longer describes the model (trained by
        ``old_fit``), so a save writes a new card, as sentence-transformers' ``old_fit`` makes it."""
        self._model_card_text = None

    def _base_model_of_modules(self, card: Any) -> None:
        """sentence-transformers' ``try_to_set_base_model`` on a save, for a model built from modules (one
        loaded by name has its base model from the load): the hub model its transformers model was loaded
        from, else the one a first StaticEmbedding was made from (hub ids only, see ``set_base_model``)."""
        transformers_model = self.transformers_model
        config = getattr(transformers_model, "config", None)
        if card.set_base_model(getattr(config, "name_or_path", None)):
            return
        first = next(iter(self), None)
        dense = getattr(self, "model_type", None) == "SentenceTransformer"
        if dense and type(first).__name__ == "StaticEmbedding":
            card.set_base_model(getattr(first, "base_model", None))

    @property
    def modalities(self) -> list[str]:
        """What the model reads: ``["text"]`` (sbert's models are text models)."""
        return ["text"]

    def supports(self, modality: Any) -> bool:
        """Whether the model reads ``modality``, by sentence-transformers' rule: one of :attr:`modalities`, or
        a tuple of them where ``"message"`` is one too (chat messages combine them). sbert's models read
        ``"text"`` only; the rule matters to a subclass that declares more."""
        supported = self.modalities
        if modality in supported:
            return True
        return (
            isinstance(modality, tuple)
            and "message" in supported
            and all(part in supported for part in modality)
        )

    def is_singular_input(self, inputs: Any) -> bool:
        """Whether ``inputs`` is one input rather than a batch, by sentence-transformers' rule: a list, tuple,
        ``datasets`` Column or text array is a batch, except a list of chat messages (one conversation)."""
        return is_single_input(inputs)

    @property
    def processor(self) -> Any:
        """sentence-transformers 6's name for :attr:`tokenizer`."""
        return self.tokenizer

    def get_max_seq_length(self) -> int | None:
        """sentence-transformers' older spelling of :attr:`max_seq_length` (mteb's metadata reads it)."""
        return self.max_seq_length

    def _resolve_prompt(self, prompt: str | None, prompt_name: str | None) -> str | None:
        """sentence-transformers' helper: ``prompt``, else the prompt named ``prompt_name``, else the default
        prompt name's (``None`` where none applies or the default names no prompt)."""
        prompts: dict[str, str] = self.prompts  # type: ignore[attr-defined]
        if prompt is not None:
            if prompt_name is not None:
                _LOGGER.warning(  # sentence-transformers' words
                    "Provide either a `prompt`, a `prompt_name`, or neither, but not both. "
                    "Ignoring the `prompt_name` in favor of `prompt`."
                )
            return prompt
        if prompt_name is not None:
            if prompt_name not in prompts:
                raise InputError(
                    f"Prompt name '{prompt_name}' not found in the configured prompts dictionary with keys "
                    f"{list(prompts)!r}."
                )
            return prompts[prompt_name]
        default = self.default_prompt_name  # type: ignore[attr-defined]
        return prompts.get(default) if default is not None else None

    def _get_model_config(self) -> dict[str, Any]:
        """sentence-transformers' name of what ``config_sentence_transformers.json`` holds (each class's
        ``_model_config``)."""
        return self._saved_model_config()  # type: ignore[attr-defined]

    # sentence-transformers' lists for model-parallel loading and saving: sbert's models split and skip none
    @property
    def _no_split_modules(self) -> list[str]:
        return []

    @property
    def _keys_to_ignore_on_save(self) -> list[str]:
        return []

    def evaluate(self, evaluator: Any, output_path: str | os.PathLike | None = None) -> Any:
        """``evaluator(model, output_path)``: its results (the folder is made first)."""
        if output_path is not None:
            Path(output_path).mkdir(parents=True, exist_ok=True)
        return evaluator(self, output_path)

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Recompute the encoders' activations in the backward pass (less memory when training)."""
        from ._training.trainer import enable_gradient_checkpointing

        enable_gradient_checkpointing(self, gradient_checkpointing_kwargs, **kwargs)

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """sentence-transformers 6's name of :meth:`gradient_checkpointing_enable`."""
        self.gradient_checkpointing_enable(activation_checkpointing_kwargs, **kwargs)

    @classmethod
    def merge(
        cls,
        models: Any,
        method: str = "linear",
        *,
        base_model: Any = None,
        parameters: dict[str, Any] | None = None,
        dtype: Any = "float32",
        out_dtype: Any = None,
        device: Any = "cpu",
        batch_options: Any = None,
        **load_kwargs: Any,
    ) -> Any:
        """A new model whose weights merge ``models``' (two or more models of this class, local paths or hub
        names) with mergekit's ``method`` (``"linear"``, ``"slerp"``, ``"task_arithmetic"``, ``"ties"``,
        ...), as sentence-transformers 6.3's ``merge``: needs ``pip install 'sbert[merge]'`` (mergekit).

        The models must have the same modules, configs, tokenizer vocabulary, state keys and tied weights
        (fine-tunes of one model); the result is a copy of the first (its prompts, settings and tokenizer)
        in eval mode, the inputs unchanged. ``base_model``: the reference of task-vector methods (one of
        ``models`` or another model; SLERP's is the first). ``parameters``: mergekit's, e.g.
        ``{"weight": [0.6, 0.4]}`` or ``{"t": 0.4}`` (weight defaults to 1, SLERP's t to 0.5). ``dtype``: what
        the method computes in; ``out_dtype``: what the merged tensors are cast to; ``device``: where to merge
        and put the result; ``batch_options``: mergekit's ``BatchOptions``; ``load_kwargs``: for loading
        paths (on torch unless they name a backend)."""
        from ._model_merge import merge_models

        return merge_models(
            cls,
            models,
            method,
            base_model=base_model,
            parameters=parameters,
            dtype=dtype,
            out_dtype=out_dtype,
            device=device,
            batch_options=batch_options,
            **load_kwargs,
        )

    @staticmethod
    def stop_multi_process_pool(pool: dict[str, Any]) -> None:
        """End the worker processes of :meth:`start_multi_process_pool`."""
        from ._multiprocess import stop_pool

        stop_pool(pool)


class ModuleEditing:
    """``nn.Sequential``'s editing methods, on a model whose torch modules are a pipeline (sentence-
    transformers' model is one): the class gives the modules as a list (``_modules_to_edit``, refused where a
    graph runs them) and takes the edited list back (``_use_modules``), a :class:`NamedModules` whose names
    its network keeps. Each edit is ``nn.Sequential``'s own, on a copy of the named pipeline, so the
    modules' names change as there: ``add_module("norm2", ...)`` names one, a replacement keeps its name,
    ``del`` and ``pop`` number them by position again. An edit that leaves a pipeline the class cannot run
    (no modules, a first module that reads no inputs: midway through edits, ``del model[0]`` before
    ``model.insert(0, ...)``) is held as ``nn.Sequential`` holds it, as sentence-transformers' model is;
    inference then raises why (:meth:`_check_runnable`), until an edit makes it one that runs."""

    def _modules_to_edit(self, what: str) -> list[Any]:
        raise NotImplementedError

    def _use_modules(self, modules: list[Any]) -> None:
        """Run ``modules`` from now on, checked first: an InputError says why they cannot run."""
        raise NotImplementedError

    def _hold_modules(self, modules: list[Any]) -> None:
        """Hold ``modules`` as the pipeline without running them (no runner): the class's torch network of
        them, in the model's mode, unchecked."""
        from collections import OrderedDict

        from ._modules import module_names

        network = type(self.__dict__["_network"])(OrderedDict(zip(module_names(modules), modules)))
        self._network = self._in_model_mode(network, edited=True)  # type: ignore[attr-defined]

    def _pipeline_repr(self, reprs: Sequence[str]) -> str:
        """``nn.Module``'s repr of the pipeline: each module's repr (``reprs``) under its name, one a line;
        ``Name()`` where it has no module (every one deleted)."""
        lines = [
            f"  ({name}): " + text.replace("\n", "\n  ") for name, text in zip(self._module_names(), reprs)
        ]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)" if lines else f"{type(self).__name__}()"

    def _check_runnable(self, what: str = "encode") -> None:
        """Raise why an edited pipeline cannot ``what`` (:meth:`_hold_modules`)."""
        problem = self.__dict__.get("_pipeline_problem")
        if problem is not None:
            raise InputError(f"The edited pipeline cannot {what}: {problem}")

    def _module_names(self) -> list[str]:
        """The modules' names (``nn.Sequential``'s child names) without loading any: the torch pipeline's,
        else those modules.json gives (a model running its files on another backend)."""
        from ._modules import child_names

        network = self.__dict__.get("_network")
        if network is not None:
            return child_names(network)
        entries = getattr(self.__dict__.get("_pipeline"), "entries", None) or []
        return [entry.name for entry in entries]

    def __getattr__(self, name: str) -> Any:
        """A module by its name (``model.norm2``, ``getattr(model, "0")``, ``model._extra``), as ``nn.Module``
        gives it; another name is a plain miss (``getattr(self, "_flag", False)``), Python's own ``__x__``
        probes (copy, pickle) without a look at the names."""
        if "_network" in self.__dict__ and not (name.startswith("__") and name.endswith("__")):
            names = self._module_names()
            if name in names:
                return self[names.index(name)]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _edit(self, what: str, edit: Callable[[Any], Any]) -> Any:
        """``edit`` (of an ``nn.Sequential``) done on the named pipeline, which then runs; its result."""
        from collections import OrderedDict

        from torch import nn

        from ._modules import NamedModules, child_names

        modules = self._modules_to_edit(what)
        names = self._module_names()
        if len(names) != len(modules):
            names = [str(i) for i in range(len(modules))]
        pipeline = nn.Sequential(OrderedDict(zip(names, modules)))
        result = edit(pipeline)
        edited = NamedModules(pipeline, child_names(pipeline))
        try:
            self._use_modules(edited)
        except InputError as problem:
            self._hold_modules(edited)
            self.__dict__["_pipeline_problem"] = problem
        else:
            self.__dict__["_pipeline_problem"] = None
        return result

    def __setitem__(self, index: int, module: Any) -> None:
        """Replace a module of the pipeline (``model[1] = Router(...)``); it keeps the replaced one's name."""
        self._edit("replace a module", lambda pipeline: pipeline.__setitem__(index, module))

    def __delitem__(self, index: int) -> None:
        """Remove a module of the pipeline (``del model[-1]``)."""
        self._edit("remove a module", lambda pipeline: pipeline.__delitem__(index))

    def append(self, module: Any) -> Any:
        """Add ``module`` at the end of the pipeline (e.g. a ``Normalize``); returns the model."""
        self._edit("add modules", lambda pipeline: pipeline.append(module))
        return self

    def extend(self, modules: Any) -> Any:
        self._edit("add modules", lambda pipeline: pipeline.extend(modules))
        return self

    def insert(self, index: int, module: Any) -> Any:
        self._edit("insert a module", lambda pipeline: pipeline.insert(index, module))
        return self

    def add_module(self, name: str, module: Any) -> None:
        """``nn.Module.add_module``: ``module`` in place of the module called ``name``, else at the end under
        that name (``model.norm2``, saved as modules.json's ``"name"``)."""
        if isinstance(name, str) and name not in self._module_names() and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists")  # torch's: a method, a setting
        self._edit("add a module", lambda pipeline: pipeline.add_module(name, module))

    register_module = add_module

    def pop(self, key: int) -> Any:
        """Remove and return the module at ``key``, which ``nn.Sequential.pop`` needs (``model.pop()`` is
        torch's TypeError there, as here)."""
        return self._edit("remove a module", lambda pipeline: pipeline.pop(key))
