"""Inference-free SPLADE on ONNX Runtime, without torch: a Router whose query route is a
SparseStaticEmbedding (a fixed weight per vocabulary token of the text: numpy, no graph) and whose document
route is a masked-LM and SpladePooling (the SPLADE graph, :mod:`sbert._backends.sparse_onnx`), as
sentence-transformers saves it (``router_config.json``, one sub-folder per module).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import with_prompt
from .._errors import InputError, ModelLoadError
from .._format.layout import read_json, read_router_config
from .._modules.renamed_dimension import RenamedDimensionMethods
from .._modules.routing import choose_route
from .._tokens.tokenizer import TextTokenizer

TEXT = "text"
WEIGHTS_FILE = "model.safetensors"  # a SparseStaticEmbedding's weights (sbert._modules.config_module's name)
_SPLADE_ROUTE = (("MLMTransformer", "Transformer"), ("SpladePooling",))


class OnnxStaticEmbedding(RenamedDimensionMethods):
    """SparseStaticEmbedding in numpy: each real token of a text (no special tokens, cut at the tokenizer's
    limit) gets its weight, once; zero elsewhere."""

    stands_for = "SparseStaticEmbedding"
    takes_token_type_ids = False
    do_lower_case = False
    adds_special_tokens = False  # texts are read without [CLS]/[SEP] (the server reads them so too)
    takes_call_limit = False  # a call's processing_kwargs max_length: sentence-transformers' reads none here

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        config = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
        if "path" in config or not (folder / WEIGHTS_FILE).is_file():
            raise InputError(
                f"{folder}: sbert's ONNX backend reads a SparseStaticEmbedding's {WEIGHTS_FILE}; load this "
                "model with backend='torch'."
            )
        self.tokenizer = TextTokenizer.from_folder(folder)
        weights = load_file(str(folder / WEIGHTS_FILE))
        if set(weights) != {"weight"} or weights["weight"].ndim != 1:
            raise ModelLoadError(f"{folder}: expected one 1-D tensor 'weight', found {sorted(weights)}")
        self.weight = weights["weight"].astype(np.float32)
        self.frozen = bool(config.get("frozen", False))
        # recorded as sentence-transformers records it (setting it cuts nothing: the tokenizer's limit does)
        self.max_seq_length = self.tokenizer.max_length

    def get_embedding_dimension(self) -> int:
        return int(self.weight.shape[0])

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.backend.encode_batch(list(texts), add_special_tokens=False)
        return self.tokenizer.pad_encodings(encodings)

    def preprocess(
        self, inputs: list[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, np.ndarray]:
        """:meth:`tokenize` of the texts, ``prompt`` before each (``kwargs``: the call's ``task``)."""
        return self.tokenize(with_prompt(inputs, prompt))

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """``(B, V)``: the weight of each token present in a row (padding writes 0 last, as a scatter)."""
        ids, mask = batch["input_ids"], batch["attention_mask"]
        present = np.zeros((ids.shape[0], self.weight.shape[0]), dtype=np.float32)
        np.put_along_axis(present, ids, mask.astype(np.float32), axis=1)
        return present * self.weight

    def __repr__(self) -> str:
        return f"SparseStaticEmbedding({{'frozen': {self.frozen}}}, dim={self.weight.shape[0]})"


class OnnxRouter(RenamedDimensionMethods):
    """The Router's routes (route name -> modules), chosen per call by its task as the torch Router
    chooses (:func:`~sbert._modules.routing.choose_route`)."""

    stands_for = "Router"

    def __init__(
        self,
        sub_modules: dict[str, list[Any]],
        default_route: str | None,
        mappings: dict[tuple[Any, Any], str],
    ) -> None:
        self.sub_modules = sub_modules
        self.default_route = default_route
        self.route_mappings = mappings

    def route_name(self, task: str | None, modality: Any = TEXT) -> str:
        return choose_route(task, modality, list(self.sub_modules), self.route_mappings, self.default_route)

    def input_module(self, task: str | None) -> Any:
        return self.sub_modules[self.route_name(task)][0]

    def input_modules(self) -> list[Any]:
        return [modules[0] for modules in self.sub_modules.values()]

    @property
    def tokenizer(self) -> Any:
        return next(m.tokenizer for m in self.input_modules())

    @property
    def do_lower_case(self) -> bool:
        route = self.sub_modules[self.default_route or next(iter(self.sub_modules))]
        return bool(route[0].do_lower_case)

    @property
    def max_seq_length(self) -> int:
        return max(m.max_seq_length for m in self.input_modules())

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        for module in self.input_modules():
            module.max_seq_length = value

    def get_embedding_dimension(self) -> int:
        return next(iter(self.sub_modules.values()))[-1].get_embedding_dimension()

    def modules(self) -> Iterator[Any]:
        yield self
        for route in self.sub_modules.values():
            yield from route

    def tokenize(self, texts: list[str], task: str | None = None) -> dict[str, np.ndarray]:
        return self.input_module(task).tokenize(texts)

    def __repr__(self) -> str:
        routes = {name: [repr(m) for m in modules] for name, modules in self.sub_modules.items()}
        return f"Router(default_route={self.default_route!r}, routes={routes})"


def load_onnx_router(folder: Path, splade_route: Any) -> OnnxRouter:
    """The Router saved at ``folder`` (a route of SparseStaticEmbedding, one of a masked-LM and
    SpladePooling); ``splade_route(mlm_folder, pooling_config_path)`` builds the latter's two modules.
    InputError for any other Router."""
    config = read_router_config(folder)
    routes: dict[str, list[Any]] = {}
    for route, ids in config.routes.items():
        kinds = tuple(config.kinds[i] for i in ids)
        if kinds == ("SparseStaticEmbedding",):
            routes[route] = [OnnxStaticEmbedding(folder / ids[0])]
        elif len(kinds) == 2 and kinds[0] in _SPLADE_ROUTE[0] and kinds[1] in _SPLADE_ROUTE[1]:
            routes[route] = splade_route(folder / ids[0], folder / ids[1] / "config.json")
        else:
            raise InputError(
                f"{folder}: sbert runs a Router on backend='onnx' when each route is a SparseStaticEmbedding "
                f"or a masked-LM and SpladePooling; route {route!r} is {list(kinds)}. Load it with "
                "backend='torch'."
            )
    return OnnxRouter(routes, config.default_route, config.route_mappings)
