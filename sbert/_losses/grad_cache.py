"""GradCache, shared by the cached losses: the gradient of a loss over a large batch, holding the autograd
graph of one mini-batch at a time.

Gao et al. 2021 (https://arxiv.org/abs/2101.06983). Three steps: (1) embed every mini-batch without a graph,
keeping the random state each forward started from; (2) compute the loss on the whole batch of embeddings and
its gradient with respect to them (the cache); (3) when the caller back-propagates the loss, re-embed one
mini-batch at a time with a graph, replaying its random state (the same dropout masks), and push the cached
gradient through it. The result is the gradient of the plain loss on the whole batch.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any

import torch
from torch.utils.checkpoint import get_device_states, set_device_states

from .._errors import InputError
from .base import Features, Loss, embed_columns, forwards_as_sentence_transformers, is_metadata
from .gathering import GradientExchange


class RandomState:
    """The random state a forward starts from (CPU and the tensors' accelerators), to replay it."""

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        self.cpu = torch.get_rng_state()
        self.devices, self.states = get_device_states(*tensors)

    @contextmanager
    def replay(self) -> Iterator[None]:
        with torch.random.fork_rng(devices=self.devices):  # the state outside is left as it was
            torch.set_rng_state(self.cpu)
            set_device_states(self.devices, self.states)
            yield


class RandContext(RandomState):
    """sentence-transformers' name for a :class:`RandomState` replayed as a context manager, for custom cached
    losses: ``with RandContext(*tensors):`` runs its block from the random state at construction (CPU and
    the tensors' devices) and leaves the state outside as it was."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        super().__init__(tensors)

    def __enter__(self) -> None:
        self._replay = self.replay()
        self._replay.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._replay.__exit__(*exc)


def mini_batch_rows(
    features: Features, size: int, num_tokens: int | None = None, *, by_length: bool = True
) -> list[torch.Tensor]:
    """Row indices of ``features``' mini-batches of ``size`` rows, rows of similar length together (with
    ``by_length``, else in input order, as sentence-transformers cuts them), or, with ``num_tokens``,
    sentence-transformers' token-budget mini-batches (:func:`token_budget_ranges`).

    Which rows share a mini-batch does not change the result (but for dropout's masks, drawn over each
    forward's padded shape); sorting by length first lets each one be padded only to its own longest row
    (:func:`take_rows` and ``embed_columns`` trim the padding)."""
    tensors = [v for k, v in features.items() if not is_metadata(k, v)]
    rows = {v.shape[0] for v in tensors if v.dim() > 0}
    if len(rows) != 1:
        raise InputError(
            "A cached loss cuts each column into mini-batches of rows, but these features do not hold one "
            f"row per text (first dimensions {sorted(rows)}); use the loss without caching."
        )
    mask = features.get("attention_mask")
    n = rows.pop()
    if num_tokens is not None:
        if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
            raise InputError(
                "mini_batch_num_tokens needs each text's token count, but these features have no "
                "attention_mask; use mini_batch_size instead."
            )
        device = tensors[0].device
        return [torch.arange(b, e, device=device) for b, e in token_budget_ranges(mask, num_tokens)]
    if by_length and isinstance(mask, torch.Tensor) and mask.dim() == 2:
        order = torch.argsort(mask.sum(dim=1), stable=True)
    else:
        order = torch.arange(n, device=tensors[0].device)
    return list(order.split(size))


def token_budget_ranges(attention_mask: torch.Tensor, num_tokens: int) -> list[tuple[int, int]]:
    """sentence-transformers' ``mini_batch_num_tokens`` mini-batches: ``[begin, end)`` rows in input order,
    each as many rows as hold at most ``num_tokens`` real tokens together (one row at least)."""
    cumulative = attention_mask.sum(dim=1).cumsum(dim=0).tolist()
    ranges, begin = [], 0
    while begin < len(cumulative):
        before = cumulative[begin - 1] if begin else 0
        end = max(bisect.bisect_right(cumulative, before + num_tokens), begin + 1)
        ranges.append((begin, end))
        begin = end
    return ranges


def minibatch_ranges(features: Features, size: int, num_tokens: int | None = None) -> list[tuple[int, int]]:
    """sentence-transformers' mini-batches of a column, ``[begin, end)`` rows in input order: ``size`` rows
    each, or with ``num_tokens`` its token budget (:func:`token_budget_ranges`)."""
    rows = batch_rows(features)
    if num_tokens is None:
        return [(begin, min(begin + size, rows)) for begin in range(0, rows, size)]
    mask = features.get("attention_mask")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        raise InputError(
            "mini_batch_num_tokens needs each text's token count, but these features have no "
            "attention_mask; use mini_batch_size instead."
        )
    return token_budget_ranges(mask, num_tokens)


def check_num_tokens(loss: str, num_tokens: int | None) -> None:
    """``mini_batch_num_tokens``: None or a positive int, as sentence-transformers checks it."""
    if num_tokens is not None and (
        isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1
    ):
        raise InputError(
            f"{loss}: mini_batch_num_tokens must be a positive integer or None, got {num_tokens!r}."
        )


def take_rows(features: Features, rows: torch.Tensor) -> Features:
    """The features of ``rows`` only, the token columns after their last real one cut, as
    sentence-transformers cuts a mini-batch (:func:`row_range`); batch-wide metadata kept as it is."""
    width = _active_width(features, rows)
    return {k: v if is_metadata(k, v) else _rows_of(v, rows.to(v.device), width) for k, v in features.items()}


def _autocast_state(device_type: str) -> tuple[str, torch.dtype] | None:
    """The autocast in force for ``device_type`` now (the replay in step 3 runs outside it), or None."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return device_type, torch.get_autocast_dtype(device_type)


def _device_type(sentence_features: Sequence[Features]) -> str:
    for features in sentence_features:
        for key, value in features.items():
            if not is_metadata(key, value):
                return value.device.type
    return "cpu"


class CachedLoss(Loss):
    """Base of the cached losses: GradCache around :meth:`loss_terms`.

    A subclass gives ``loss_terms(embeddings, guide_embeddings, labels)``: the loss as a sum of terms, each
    depending on a few anchor rows only, so that step (2) too holds the graph of one slice at a time. A loss
    with a guide model (GIST) also gives ``guide_embeddings``.
    """

    max_columns = None  # (anchor, positive, any number of hard negatives)
    mini_batch_num_tokens: int | None = None  # sentence-transformers' token budget per mini-batch, if any
    # back-propagates from a hook on the returned loss (sentence-transformers' uses_gradient_cache): a loss
    # that re-runs the model per layer cannot wrap it
    uses_gradient_cache = True

    def __init__(
        self,
        model: Any,
        *,
        mini_batch_size: int = 32,
        mini_batch_num_tokens: int | None = None,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(model)
        check_num_tokens(type(self).__name__, mini_batch_num_tokens)
        self.mini_batch_num_tokens = mini_batch_num_tokens
        if isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, int) or mini_batch_size < 1:
            raise InputError(
                f"{type(self).__name__}: mini_batch_size must be a positive int (e.g. 32), "
                f"got {mini_batch_size!r}."
            )
        self.mini_batch_size = mini_batch_size
        self.show_progress_bar = show_progress_bar

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        raise NotImplementedError

    def guide_embeddings(self, features: Features) -> torch.Tensor | None:
        """The guide model's embeddings of one mini-batch (GIST), or None for a loss without a guide."""
        return None

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        # the plain loss on embeddings computed elsewhere (MatryoshkaLoss): no caching to do
        return torch.stack(list(self.loss_terms(embeddings, None, labels))).sum()

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        sentence_features = list(sentence_features)
        # with dropout, sentence-transformers' mini-batches (input order), so a seed gives its masks
        by_length = not forwards_as_sentence_transformers(self.model)
        size, num_tokens = self.mini_batch_size, self.mini_batch_num_tokens
        plans = [mini_batch_rows(f, size, num_tokens, by_length=by_length) for f in sentence_features]
        with_grad = torch.is_grad_enabled()
        autocast = _autocast_state(_device_type(sentence_features))
        leaves, guides, states = self._embed_without_graph(sentence_features, plans, with_grad)
        embeddings = [_in_input_order(torch.cat(cols), plan) for cols, plan in zip(leaves, plans)]
        guide = (
            None
            if guides[0][0] is None
            else [_in_input_order(torch.cat(cols), plan) for cols, plan in zip(guides, plans)]
        )
        if not with_grad:
            return torch.stack(list(self.loss_terms(embeddings, guide, labels))).sum()
        total = torch.zeros((), device=embeddings[0].device)
        with GradientExchange() as exchange:  # gather_across_devices: exchanged in the hook, once
            for term in self.loss_terms(embeddings, guide, labels):
                # the gradient gathers on the leaves; the shared reordering of the rows stays for the next
                # slice, this slice's own graph goes with ``term``
                term.backward(retain_graph=True)
                total = total + term.detach()
        cache = exchange.take_gradients(leaves)
        loss = total.detach().requires_grad_()
        replay = partial(self._replay, sentence_features, plans, states, cache, autocast, exchange)
        loss.register_hook(replay)  # step (3) runs when the caller back-propagates the loss
        return loss

    def _embed_without_graph(
        self, sentence_features: list[Features], plans: list[list[torch.Tensor]], with_grad: bool
    ) -> tuple[list[list[torch.Tensor]], list[list[Any]], list[list[Any]]]:
        """Step (1): each mini-batch's embeddings as a leaf (to collect the gradient), its guide
        embeddings, and the random state its forward started from."""
        leaves, guides, states = [], [], []
        for features, plan in self._progress(sentence_features, plans, "Embed mini-batches"):
            cols, guide_cols, col_states = [], [], []
            for rows in plan:
                chunk = take_rows(features, rows)
                tensors = [v for k, v in chunk.items() if not is_metadata(k, v)]
                col_states.append(RandomState(tensors) if with_grad else None)
                with torch.no_grad():
                    cols.append(embed_columns(self.model, [chunk])[0].detach().requires_grad_(with_grad))
                    guide_cols.append(self.guide_embeddings(take_rows(features, rows)))
            leaves.append(cols)
            guides.append(guide_cols)
            states.append(col_states)
        return leaves, guides, states

    def _replay(
        self,
        sentence_features: list[Features],
        plans: list[list[torch.Tensor]],
        states: list[list[RandomState]],
        cache: list[list[torch.Tensor | None]],
        autocast: tuple[str, torch.dtype] | None,
        exchange: GradientExchange,
        grad_output: torch.Tensor,
    ) -> None:
        """Step (3), the hook on the returned loss: re-embed each mini-batch with a graph and back-propagate
        its cached gradient (times the loss's own, e.g. a weight or a loss scaler's factor)."""
        cache, grad_output = exchange.gradients(cache, grad_output)

        def embed(features: Features, rows: torch.Tensor, state: RandomState) -> torch.Tensor:
            cast = torch.autocast(autocast[0], dtype=autocast[1]) if autocast else nullcontext()
            with state.replay(), cast:
                return embed_columns(self.model, [take_rows(features, rows)])[0]

        steps = [
            (partial(embed, features, rows, state), grad)
            for features, plan, col_states, col_cache in zip(sentence_features, plans, states, cache)
            for rows, state, grad in zip(plan, col_states, col_cache)
        ]
        backpropagate_cached(steps, grad_output)

    def _progress(self, sentence_features: list[Features], plans: list[list[torch.Tensor]], what: str) -> Any:
        pairs = list(zip(sentence_features, plans))
        if not self.show_progress_bar:
            return pairs
        from tqdm.auto import tqdm

        return tqdm(pairs, desc=what, unit="column")

    def config(self) -> dict[str, Any]:
        return {"mini_batch_size": self.mini_batch_size}


def backpropagate_cached(
    steps: Iterable[tuple[Callable[[], torch.Tensor], torch.Tensor | None]], grad_output: torch.Tensor
) -> None:
    """Step (3)'s loop: for each mini-batch, ``embed()`` re-runs its forward with a graph (replaying its
    random state) and its cached gradient, times the loss's own (a weight, a loss scaler's factor, the
    gradient accumulation's division), is back-propagated through it, one mini-batch's graph at a time.

    A mini-batch whose gradient is None (rows the loss did not read) is not embedded again."""
    with torch.enable_grad():
        for embed, grad in steps:
            if grad is None:
                continue
            embeddings = embed()
            if not embeddings.requires_grad:  # a frozen model: nothing to train
                continue
            # at least float32 (a half-precision dot product loses the gradient), float64 kept
            dtype = torch.promote_types(embeddings.dtype, grad.dtype)
            if dtype in (torch.float16, torch.bfloat16):
                dtype = torch.float32
            surrogate = torch.dot(embeddings.flatten().to(dtype), grad.flatten().to(dtype)) * grad_output
            surrogate.backward()


def check_all_columns_used(loss: str, cache: Sequence[Sequence[torch.Tensor | None]]) -> None:
    """Raise :class:`InputError` naming the columns whose cached embeddings got no gradient: the loss never
    read them (each column is embedded twice for nothing, and step (3) would have nothing to push)."""
    unused = [str(i) for i, column in enumerate(cache) if any(g is None for g in column)]
    if unused:
        raise InputError(
            f"The loss computation of {loss} did not use input column(s) {', '.join(unused)}: their "
            "embeddings received no gradient. Every input column is embedded (twice, with gradient "
            "caching), so remove the unused column(s) from the dataset instead."
        )


def batch_rows(features: Features) -> int:
    """The number of texts in a column's features (the first dimension of its per-row tensors)."""
    return next(v.shape[0] for k, v in features.items() if not is_metadata(k, v) and v.dim() > 0)


def row_range(features: Features, begin: int, end: int) -> Features:
    """Rows ``begin:end`` of ``features``, the token columns after their last real one cut (query expansion
    positions count as real: they are scored); batch-wide metadata kept as it is."""
    rows = slice(begin, end)
    width = _active_width(features, rows)
    return {k: v if is_metadata(k, v) else _rows_of(v, rows, width) for k, v in features.items()}


def _active_width(features: Features, rows: slice | torch.Tensor) -> tuple[int, int] | None:
    """``(width, cut)``: the token columns of ``rows`` up to their last real one (query expansion positions
    count as real: they are scored), ``cut`` of the batch's ``width``; None where nothing is cut."""
    mask = features.get("attention_mask")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        return None
    rows = rows.to(mask.device) if isinstance(rows, torch.Tensor) else rows
    active = mask[rows].bool()
    expansion = features.get("query_expansion_positions")
    if isinstance(expansion, torch.Tensor):
        active = active | expansion[rows].bool()
    columns = active.any(dim=0).nonzero()
    if len(columns) and int(columns.max()) + 1 < mask.shape[1]:
        return mask.shape[1], int(columns.max()) + 1
    return None


def _rows_of(value: torch.Tensor, rows: slice | torch.Tensor, width: tuple[int, int] | None) -> torch.Tensor:
    if width is not None and value.dim() >= 2 and value.shape[1] == width[0]:
        return value[rows, : width[1]]
    return value[rows]


def weighted_cached_step(
    calculate: Callable[..., torch.Tensor],
    chunks: list[list[torch.Tensor]],
    weight: float,
    *args: Any,
    **kwargs: Any,
) -> torch.Tensor:
    """``weight`` times a cached loss's whole-batch step (``calculate``, with ``args``) on ``chunks``: token
    embeddings computed from its cached leaves (truncated, pooled). With gradients the step runs on new leaves
    and their gradients go back through that computation to the cached ones, where the cached loss reads
    them: its backward runs after the wrapping loss's forward has returned."""
    if not torch.is_grad_enabled():
        return weight * calculate(chunks, *args, **kwargs)
    leaves = [[chunk.detach().requires_grad_() for chunk in column] for column in chunks]
    loss = weight * calculate(leaves, *args, **kwargs)
    for chunk_column, leaf_column in zip(chunks, leaves):
        for chunk, leaf in zip(chunk_column, leaf_column):
            chunk.backward(weight * leaf.grad)
    return loss


def _in_input_order(stacked: torch.Tensor, plan: list[torch.Tensor]) -> torch.Tensor:
    """Rows embedded in mini-batch order, put back in the columns' order (differentiably)."""
    order = torch.cat(plan).to(stacked.device)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=order.device)
    return stacked[inverse]


def slices(n: int, size: int) -> Iterator[tuple[int, int]]:
    """``[begin, end)`` row ranges of ``size`` over ``n`` rows: the anchor slices of step (2)."""
    for begin in range(0, n, size):
        yield begin, min(begin + size, n)
