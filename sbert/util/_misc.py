"""sentence-transformers' small utilities that training scripts and custom losses import from ``util``:
logging and ``datasets`` caching switched off for a block, a loss's scoring function by name, a CSV row
extended, the sparse-tensor helpers (COO to SciPy, per-dimension counts) and the padding back of a
flash-attention flattened batch."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, metadata
from typing import Any

from .._errors import InputError
from .._io.atomic import atomic_write_bytes


@contextlib.contextmanager
def disable_logging(highest_level: int = logging.CRITICAL) -> Iterator[None]:
    """No log record at or below ``highest_level`` is handled inside the block."""
    previous = logging.root.manager.disable
    logging.disable(highest_level)
    try:
        yield
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def disable_datasets_caching() -> Iterator[None]:
    """Hugging Face ``datasets`` writes no cache files inside the block."""
    from datasets import disable_caching, enable_caching, is_caching_enabled

    was_enabled = is_caching_enabled()
    if was_enabled:
        disable_caching()
    try:
        yield
    finally:
        if was_enabled:
            enable_caching()


def similarity_fct_name(similarity_fct: Callable[..., Any]) -> str:
    """How a loss's config names its scoring function: the function's name, a ``functools.partial``'s with
    its keywords, a model's ``similarity`` by the function it resolves to, a metric object's with its
    ``get_config_dict()``."""
    if isinstance(similarity_fct, functools.partial):
        name = getattr(similarity_fct.func, "__name__", type(similarity_fct.func).__name__)
        settings = ", ".join(f"{key}={value!r}" for key, value in similarity_fct.keywords.items())
        return f"{name}({settings})" if settings else name
    name = getattr(similarity_fct, "__name__", type(similarity_fct).__name__)
    owner = getattr(similarity_fct, "__self__", None)
    if name in ("similarity", "similarity_pairwise") and hasattr(owner, "similarity_fn_name"):
        from .._similarity_function import SimilarityFunction

        resolve = SimilarityFunction.to_similarity_fn
        if name == "similarity_pairwise":
            resolve = SimilarityFunction.to_similarity_pairwise_fn
        return resolve(owner.similarity_fn_name).__name__
    config = getattr(similarity_fct, "get_config_dict", None)
    if config is not None:
        return f"{name}({', '.join(f'{key}={value!r}' for key, value in config().items())})"
    return name


def append_to_last_row(csv_path: str, additional_data: list[Any]) -> bool:
    """Extend the last data row of a CSV file with ``additional_data``; False (file untouched) when the
    file has a header only."""
    with open(csv_path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if len(rows) < 2:
        return False
    rows[-1].extend(additional_data)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    atomic_write_bytes(csv_path, out.getvalue().encode("utf-8"))
    return True


def check_package_availability(package_name: str, owner: str) -> bool:
    """Whether ``package_name`` is installed and is ``owner``'s (its home page names the owner)."""
    try:
        info = metadata(package_name)
    except PackageNotFoundError:
        return False
    home = info.get("Home-page") or ""
    return info["Name"] == package_name and owner in home


def to_scipy_coo(x: Any) -> Any:
    """A 2-D sparse torch tensor as a SciPy COO matrix: the same shape, indices and values."""
    import torch
    from scipy.sparse import coo_matrix

    x = x.coalesce()
    indices = x.indices().cpu().numpy()
    values = x.values().detach().cpu()
    values = values.float().numpy() if values.dtype == torch.bfloat16 else values.numpy()  # numpy has no bf16
    return coo_matrix((values, (indices[0], indices[1])), shape=tuple(x.shape))


def compute_count_vector(embeddings: Any) -> Any:
    """How many of the embeddings (rows of a ``(batch, vocab)`` tensor, sparse or dense; or one ``(vocab,)``
    embedding) are non-zero in each dimension: an int32 ``(vocab,)`` tensor."""
    import torch

    sparse = (embeddings if embeddings.is_sparse else embeddings.to_sparse()).coalesce()
    counts = torch.zeros(sparse.size(-1), device=sparse.device, dtype=torch.int32)
    if sparse.dim() == 1:
        counts[sparse.indices().squeeze(0)] = 1
        return counts
    if sparse.dim() != 2:
        raise InputError(f"Expected 1D or 2D tensor, got {sparse.dim()}D")
    if sparse.values().numel():
        dims, per_dim = torch.unique(sparse.indices()[1], return_counts=True)
        counts[dims] = per_dim.int()
    return counts


def import_from_string(dotted_path: str) -> Any:
    """The class (or other attribute) ``dotted_path`` names, ``module.Name``; ``ImportError`` otherwise."""
    import importlib

    module_path, _, name = dotted_path.rpartition(".")
    if not module_path:
        raise ImportError(f"{dotted_path} doesn't look like a module path")
    try:
        module = importlib.import_module(dotted_path)  # older layouts: a module named as its class
    except ImportError:
        module = importlib.import_module(module_path)
    try:
        return getattr(module, name)
    except AttributeError as e:
        raise ImportError(f"Module {module_path!r} does not define a {name!r} attribute/class") from e


# the namespaces whose classes load without trust_remote_code: sentence-transformers' paths are sbert's
_TRUSTED = ("sentence_transformers.", "sbert.")


def import_module_class(
    class_ref: str,
    model_name_or_path: str | None = None,
    *,
    trust_remote_code: bool = False,
    revision: str | None = None,
    code_revision: str | None = None,
    token: bool | str | None = None,
    cache_folder: str | None = None,
    local_files_only: bool = False,
) -> type:
    """The class a model's config names (``class_ref``), as sentence-transformers 6.3 resolves it: a
    ``sentence_transformers.*`` path is sbert's class of the same path; any other class runs the code a model
    chose, so for a model (``model_name_or_path``) it needs ``trust_remote_code=True`` (``ValueError``
    otherwise), and is then read from the model's own modeling file where it has one (transformers' dynamic
    modules), else imported."""
    if class_ref.startswith(_TRUSTED):
        return import_from_string("sbert." + class_ref.split(".", 1)[1])
    if model_name_or_path is not None:
        import os

        if not trust_remote_code:
            location = (
                os.path.abspath(model_name_or_path)
                if os.path.isdir(model_name_or_path)
                else f"https://hf.co/{model_name_or_path}"
            )
            raise ValueError(
                f"The model {model_name_or_path} references the module class {class_ref!r}, which is not "
                f"part of Sentence Transformers. Importing it executes third-party code. You can inspect the "
                f"repository content at {location}.\n"
                f"Please pass the argument `trust_remote_code=True` to allow custom code to be run."
            )
        from transformers.dynamic_module_utils import get_class_from_dynamic_module

        try:
            return get_class_from_dynamic_module(
                class_ref,
                model_name_or_path,
                revision=revision,
                code_revision=code_revision,
                token=token,
                cache_dir=cache_folder,
                local_files_only=local_files_only,
            )
        except (OSError, ValueError):  # no such modeling file, or not a ``module.Class`` reference
            pass
    return import_from_string(class_ref)


def check_teacher_targets(
    teacher_probabilities: Any, teacher_logits: Any, teacher_temperature: float, loss_name: str
) -> None:
    """Check a distillation loss's teacher target (its softmax, and the raw scores) once, as
    sentence-transformers' distillation losses do on their first forward: ``ValueError`` for NaN scores (every
    gradient would be NaN); a warning where the temperature underflows candidates to exactly 0 (they carry no
    gradient). An infinite score is a candidate left out on purpose."""
    scores = teacher_logits.detach().float()
    if scores.isnan().any():
        raise ValueError(
            f"{loss_name}: the teacher scores contain NaN, so the loss and every gradient would be "
            "NaN after the first backward. Check the column holding your teacher scores."
        )
    if scores.isinf().any():
        return
    collapsed = int((teacher_probabilities == 0).sum())
    if not collapsed:
        return
    spread = (scores.max(dim=-1).values - scores.min(dim=-1).values).max().item()
    logging.getLogger(__name__).warning(
        f"{loss_name}: teacher_temperature={teacher_temperature} underflows {collapsed} of "
        f"{teacher_probabilities.numel()} teacher scores to exactly zero, so those candidates carry "
        f"no gradient. The widest candidate row spans {spread:.1f}, and a float32 softmax underflows "
        f"once a row's spread divided by the temperature exceeds about 100. Raise "
        f"teacher_temperature above {spread / 100:.3g}."
    )


# the keys a flattening collator (transformers' DataCollatorWithFlattening) adds for flash attention
FLATTENING_KEYS = (
    "cu_seq_lens_q",
    "cu_seq_lens_k",
    "max_length_q",
    "max_length_k",
    "seq_idx",
    "position_ids",
)


def repad_flattened_features(features: dict[str, Any]) -> dict[str, Any]:
    """sentence-transformers' ``util.repad_flattened_features``: a flattened batch (``token_embeddings``
    of shape ``(1, total, D)`` and ``input_ids`` of ``(1, total)``, the texts' bounds in ``cu_seq_lens_q``)
    padded back, in place, to ``(B, longest, ...)`` with zeros, its boolean ``attention_mask`` rebuilt from
    the bounds and the flattening keys dropped; returns ``features``."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    bounds = features["cu_seq_lens_q"].tolist()
    spans = list(zip(bounds[:-1], bounds[1:]))
    tokens, ids = features["token_embeddings"][0], features["input_ids"][0]
    features["token_embeddings"] = pad_sequence([tokens[a:b] for a, b in spans], batch_first=True)
    features["input_ids"] = pad_sequence([ids[a:b] for a, b in spans], batch_first=True)
    lengths = torch.tensor([b - a for a, b in spans], device=tokens.device)
    positions = torch.arange(features["input_ids"].shape[1], device=tokens.device)
    features["attention_mask"] = positions[None, :] < lengths[:, None]
    for key in FLATTENING_KEYS:
        features.pop(key, None)
    return features
