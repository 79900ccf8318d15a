"""The distances and similarities that losses take, by name or as sentence-transformers' objects.

A loss keeps its distance as a :class:`Distance`: a ``str`` subclass whose value is the distance's name
(``"cosine"``, ``"euclidean"``, ...: what a training config gives and compares with), callable on
embeddings as sentence-transformers' loss's ``distance_metric`` function is, and recorded in
``get_config_dict()`` as sentence-transformers records it (``TripletDistanceMetric.EUCLIDEAN``,
``euclidean_distance``). Code written for sentence-transformers passes objects instead
(``TripletDistanceMetric.COSINE``, ``SiameseDistanceMetric.COSINE_DISTANCE``,
``BatchHardTripletLossDistanceFunction.cosine_distance``); this module defines sbert's versions of those
classes and maps them, and sentence-transformers' own members, onto sbert's: this is the one place
that knows both spellings.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .base import at_least_float32, cos_sim_matrix, pairwise_cos_sim

# ------------------------------------------------------------------ the distances, by name

# (B, D), (B, D) -> (B,): TripletLoss (sentence-transformers' TripletDistanceMetric, built on its
# util.pairwise_* functions, which take half precision as float32)
PAIRWISE: dict[str, Callable[..., torch.Tensor]] = {
    "cosine": lambda x, y: 1 - pairwise_cos_sim(at_least_float32(x), at_least_float32(y)),
    "euclidean": lambda x, y: torch.linalg.vector_norm(at_least_float32(x) - at_least_float32(y), dim=-1),
    "manhattan": lambda x, y: (at_least_float32(x) - at_least_float32(y)).abs().sum(dim=-1),
}

# (B, D), (B, D) -> (B,): ContrastiveLoss, OnlineContrastiveLoss (SiameseDistanceMetric); torch's
# pairwise_distance adds 1e-6 to the differences, as sentence-transformers computes it
SIAMESE: dict[str, Callable[..., torch.Tensor]] = {
    "cosine": lambda x, y: 1 - nn.functional.cosine_similarity(x, y),
    "euclidean": lambda x, y: nn.functional.pairwise_distance(x, y, p=2),
    "manhattan": lambda x, y: nn.functional.pairwise_distance(x, y, p=1),
}


def euclidean_distances(embeddings: torch.Tensor, squared: bool = False) -> torch.Tensor:
    """Pairwise euclidean distances ``(B, B)`` of ``(B, D)`` embeddings, through the Gram matrix.

    Computed in fp32 outside autocast (half precision cancels in ``|a|^2 - 2ab + |b|^2``). Exact zeros (a
    row with itself) are kept out of the square root, whose gradient is infinite there."""
    with torch.autocast(device_type=embeddings.device.type, enabled=False):
        embeddings = embeddings.float() if embeddings.dtype in (torch.float16, torch.bfloat16) else embeddings
        gram = embeddings @ embeddings.T
    norms = torch.diagonal(gram)
    distances = (norms[None, :] - 2.0 * gram + norms[:, None]).clamp(min=0)
    if squared:
        return distances
    zero = (distances == 0).float()
    return (1.0 - zero) * torch.sqrt(distances + zero * 1e-16)


def cosine_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """Pairwise ``1 - cos`` ``(B, B)``, at least 0, and exactly 0 (without a gradient) on the diagonal."""
    distances = (1 - cos_sim_matrix(embeddings, embeddings)).clamp(min=0.0)
    diagonal = torch.eye(len(embeddings), dtype=torch.bool, device=embeddings.device)
    return distances.masked_fill(diagonal, 0.0)


# (B, D) -> (B, B): the batch triplet losses (BatchHardTripletLossDistanceFunction)
MATRIX: dict[str, Callable[..., torch.Tensor]] = {
    "euclidean": euclidean_distances,
    "squared_euclidean": functools.partial(euclidean_distances, squared=True),
    "cosine": cosine_distances,
}

TABLES = {"pairwise": PAIRWISE, "siamese": SIAMESE, "matrix": MATRIX}


# ------------------------------------------------------------------ sentence-transformers' spellings


class Distance(str):
    """One distance of a loss: its name (the ``str`` value, :attr:`name`), callable on embeddings as
    sentence-transformers' distance functions are, ``spelled`` as sentence-transformers' users write it."""

    table: str
    spelled: str

    def __new__(cls, table: str, name: str, spelled: str) -> Distance:
        distance = super().__new__(cls, name)
        distance.table, distance.spelled = table, spelled
        distance.__name__ = spelled.rpartition(".")[2]
        return distance

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (a checkpoint of the loss) and copied as built
        return Distance, (self.table, self.name, self.spelled)

    @property
    def name(self) -> str:
        return str.__str__(self)

    def __call__(self, *embeddings: torch.Tensor, **options: Any) -> torch.Tensor:
        return TABLES[self.table][self.name](*embeddings, **options)

    def __repr__(self) -> str:
        return self.spelled

    def recorded(self) -> str:
        """How sentence-transformers' ``get_config_dict()`` records it: the pairwise distances by their
        metric class's member, the batch triplets' by the function's name."""
        return self.__name__ if self.table == "matrix" else self.spelled


class TripletDistanceMetric:
    """The distances of :class:`TripletLoss`: ``distance_metric=TripletDistanceMetric.COSINE`` is
    ``distance_metric="cosine"``. Each takes two ``(B, D)`` tensors and gives ``(B,)`` distances."""

    COSINE = Distance("pairwise", "cosine", "TripletDistanceMetric.COSINE")
    EUCLIDEAN = Distance("pairwise", "euclidean", "TripletDistanceMetric.EUCLIDEAN")
    MANHATTAN = Distance("pairwise", "manhattan", "TripletDistanceMetric.MANHATTAN")


class SiameseDistanceMetric:
    """The distances of :class:`ContrastiveLoss` and :class:`OnlineContrastiveLoss`:
    ``SiameseDistanceMetric.COSINE_DISTANCE`` is ``"cosine"``. Each takes two ``(B, D)`` tensors and gives
    ``(B,)`` distances."""

    EUCLIDEAN = Distance("siamese", "euclidean", "SiameseDistanceMetric.EUCLIDEAN")
    MANHATTAN = Distance("siamese", "manhattan", "SiameseDistanceMetric.MANHATTAN")
    COSINE_DISTANCE = Distance("siamese", "cosine", "SiameseDistanceMetric.COSINE_DISTANCE")


class BatchHardTripletLossDistanceFunction:
    """The distances of the batch triplet losses (:class:`BatchHardTripletLoss` and the others): each takes
    ``(B, D)`` embeddings and gives the ``(B, B)`` distance matrix. ``euclidean_distance`` takes
    ``squared=True`` (``functools.partial(euclidean_distance, squared=True)`` is ``"squared_euclidean"``);
    ``eucledian_distance`` is sentence-transformers' older spelling of it."""

    cosine_distance = Distance("matrix", "cosine", "BatchHardTripletLossDistanceFunction.cosine_distance")
    euclidean_distance = Distance(
        "matrix", "euclidean", "BatchHardTripletLossDistanceFunction.euclidean_distance"
    )
    eucledian_distance = euclidean_distance


# sentence-transformers' members, by (module, class, attribute) -> sbert's; looked up only where that module
# is already imported (whoever holds one of its functions has imported it)
_ST_MODULE = "sentence_transformers.sentence_transformer.losses."
_ST_MEMBERS = {
    ("triplet", "TripletDistanceMetric"): TripletDistanceMetric,
    ("contrastive", "SiameseDistanceMetric"): SiameseDistanceMetric,
    ("batch_hard_triplet", "BatchHardTripletLossDistanceFunction"): BatchHardTripletLossDistanceFunction,
}


def _as_ours(value: Any) -> Any:
    """sbert's :class:`Distance` for one of sentence-transformers' members (or for a partial of
    ``euclidean_distance`` with ``squared``), else ``value`` itself."""
    if isinstance(value, functools.partial) and not value.args and set(value.keywords) <= {"squared"}:
        inner = _as_ours(value.func)
        if not (isinstance(inner, Distance) and inner.name == "euclidean" and inner.table == "matrix"):
            return value
        if not value.keywords.get("squared"):
            return inner
        return MEMBERS["matrix", "squared_euclidean"]
    for (module_name, class_name), ours in _ST_MEMBERS.items():
        theirs = getattr(sys.modules.get(_ST_MODULE + module_name), class_name, None)
        if theirs is None:
            continue
        for attribute, member in vars(theirs).items():
            if member is value or getattr(member, "__func__", None) is value:
                return getattr(ours, attribute, value)
    return value


def distance_name(value: Any, table: str, loss: str) -> Distance | Callable[..., torch.Tensor]:
    """The distance ``loss`` keeps for ``value``: the :class:`Distance` of ``table`` for one of its names,
    for one of sbert's or sentence-transformers' distance objects, or for a ``functools.partial`` of
    ``euclidean_distance`` with ``squared``; another function is the caller's own distance, kept as it is (as
    sentence-transformers calls it). Anything else is refused with the choices."""
    names = TABLES[table]
    value = _as_ours(value)
    # a pairwise distance of the other family (Siamese for Triplet) computes the same, up to torch's 1e-6
    if isinstance(value, Distance) and (value.table == table or {value.table, table} == PAIRWISE_FAMILIES):
        value = value.name
    if isinstance(value, str) and not isinstance(value, Distance) and value in names:
        return MEMBERS[table, value]
    if callable(value) and not isinstance(value, Distance):
        return value
    shown = repr(value) if isinstance(value, (str, Distance)) else getattr(value, "__name__", repr(value))
    raise InputError(
        f"Unknown distance_metric {shown}; choose one of {sorted(names)} (or {CHOICES[table]}), or pass a "
        f"function of the embeddings, for {loss}."
    )


# (table, name) -> the Distance a loss keeps
MEMBERS: dict[tuple[str, str], Distance] = {
    **{("pairwise", d.name): d for d in vars(TripletDistanceMetric).values() if isinstance(d, Distance)},
    **{("siamese", d.name): d for d in vars(SiameseDistanceMetric).values() if isinstance(d, Distance)},
    **{
        ("matrix", d.name): d
        for d in vars(BatchHardTripletLossDistanceFunction).values()
        if isinstance(d, Distance)
    },
    ("matrix", "squared_euclidean"): Distance(
        "matrix", "squared_euclidean", "BatchHardTripletLossDistanceFunction.euclidean_distance(squared=True)"
    ),
}
PAIRWISE_FAMILIES = {"pairwise", "siamese"}
CHOICES = {
    "pairwise": "TripletDistanceMetric.COSINE/EUCLIDEAN/MANHATTAN",
    "siamese": "SiameseDistanceMetric.COSINE_DISTANCE/EUCLIDEAN/MANHATTAN",
    "matrix": "BatchHardTripletLossDistanceFunction.cosine_distance/euclidean_distance",
}


# ------------------------------------------------------------------ similarity functions


def similarity_name(function: Any) -> str:
    """How a loss's config records ``similarity_fct`` (as sentence-transformers names it)."""
    if isinstance(function, functools.partial):
        options = ", ".join(f"{k}={v!r}" for k, v in function.keywords.items())
        name = getattr(function.func, "__name__", type(function.func).__name__)
        return f"{name}({options})" if options else name
    return str(getattr(function, "__name__", type(function).__name__))


def similarity_function(value: Any, loss: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``similarity_fct`` as a callable ``(N, D), (M, D) -> (N, M)``: a callable as given (``util.cos_sim``,
    ``util.dot_score``, sentence-transformers' or sbert's), or the name of one of ``sbert.util``'s."""
    from .. import util

    if isinstance(value, str):
        known = ("cos_sim", "dot_score", "euclidean_sim", "manhattan_sim")
        if value not in known:
            raise InputError(
                f"{loss}: unknown similarity_fct {value!r}; choose one of {known} or pass a function."
            )
        return getattr(util, value)
    if not callable(value):
        raise InputError(
            f"{loss}: similarity_fct must be a function of two embedding matrices (e.g. util.cos_sim), "
            f"got {type(value).__name__}."
        )
    return value


def custom_similarity(value: Any, default: str, loss: str) -> Callable[..., torch.Tensor] | None:
    """A loss's ``similarity_fct`` argument: ``None`` where it is the loss's default (not given, or a function
    named ``default``, as sbert's and sentence-transformers' ``util`` spell it), which the loss computes
    itself; else the function, which must keep the embeddings' gradient."""
    if value is None or getattr(value, "__name__", None) == default:
        return None
    if not callable(value):  # names are not taken here: the losses score pairs, matrices or both
        raise InputError(
            f"{loss}: similarity_fct must be a function of two embedding tensors "
            f"(e.g. sbert.util.dot_score), got {value!r}."
        )
    return value


def recorded_similarity(custom: Callable[..., Any] | None, default: str) -> str:
    """The name a loss's config and model card record its similarity under (``custom_similarity``'s)."""
    return default if custom is None else similarity_name(custom)


def recorded_distance(metric: Distance | Callable[..., Any]) -> str:
    """The name a loss's config records its distance under, as sentence-transformers' records it."""
    return metric.recorded() if isinstance(metric, Distance) else similarity_name(metric)
