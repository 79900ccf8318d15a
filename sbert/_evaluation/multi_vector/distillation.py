"""Knowledge distillation with token embeddings: sentence-transformers' ``MultiVectorDistillationEvaluator``,
the KL divergence and rank correlation of a student MultiVectorEncoder's MaxSim scores with a teacher's."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._st_loggers import ST_MULTI_VECTOR_DISTILLATION
from .. import metrics
from ..base import Evaluator
from .base import MultiVectorEvaluator


class MultiVectorDistillationEvaluator(MultiVectorEvaluator, Evaluator):
    """How well a :class:`~sbert.MultiVectorEncoder` reproduces a teacher's scores: ``kl_divergence``
    (lower is better) and ``spearman`` (primary), as sentence-transformers reports them.

    Two shapes of data:

    - candidate lists: ``documents[i]`` is query i's list of N documents (N the same for every query) and
      ``scores`` the ``(queries, N)`` teacher scores, the knowledge-distillation training format. The KL is
      that of each query's softmax over its own candidates, averaged over queries (times the student
      temperature squared, as ``MultiVectorDistillKLDivLoss``), and the Spearman the mean of the per-query
      rank correlations (queries whose teacher or student scores are all equal are left out; 0.0 if all
      are).
    - pairs: one document per query and 1-D ``scores``: one softmax over the whole set (its KL summed, not
      averaged) and one Spearman correlation over all pairs.

    Args:
        queries, documents, scores: the data, as above.
        temperature: divides teacher and student scores before the softmax (unless set per side by
            ``student_temperature`` / ``teacher_temperature``); all must be positive.
        similarity_fct: pairwise scoring in place of ``model.similarity_pairwise`` (e.g. MeanMaxSim's), to
            match a training loss's.
        name, batch_size, show_progress_bar, write_csv: as every evaluator's; the CSV is
            ``distillation_evaluation_<name>_results.csv`` (``epoch, steps, kl_divergence, spearman``).
        truncate_dim, token_pooling: handed to ``encode`` (default: the model's).

    Example::

        evaluator = MultiVectorDistillationEvaluator(
            ["capital of France?"], [["Paris is the capital.", "Berlin is big."]], [[9.5, 2.1]],
            temperature=0.25, name="kd",
        )
        evaluator(MultiVectorEncoder("./colbert"))["kd_spearman"]
    """

    csv_stem = "distillation_evaluation"
    main_metric = "spearman"
    st_primary_from_call = True  # None until the first call, as sentence-transformers'
    st_logger = ST_MULTI_VECTOR_DISTILLATION
    st_heading = "MultiVectorDistillationEvaluator: Evaluating the model on the {name} dataset{when}:"

    def st_when(self, epoch: int, steps: int) -> str:
        """The epoch and step only: sentence-transformers' heading of this evaluator names no truncation."""
        return super().st_when(epoch, steps).split(" (truncated to ")[0]

    def result_lines(self, results: dict[str, float]) -> list[str]:
        return [
            f"KL divergence:\t{results['kl_divergence']:.4f}",
            f"Spearman correlation:\t{results['spearman']:.4f}",
        ]

    def __init__(
        self,
        queries: Sequence[str],
        documents: Sequence[str] | Sequence[Sequence[str]],
        scores: Any,
        *,
        temperature: float = 1.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
        similarity_fct: Callable[[Any, Any], Any] | None = None,
        name: str = "",
        batch_size: int = 16,
        show_progress_bar: bool = False,
        write_csv: bool = True,
        truncate_dim: int | None = None,
        token_pooling: Any = None,
    ) -> None:
        if not len(queries) == len(documents) == len(scores):
            raise InputError(
                f"queries ({len(queries)}), documents ({len(documents)}), and scores ({len(scores)}) "
                "must all have the same length."
            )
        self.queries, documents = list(queries), list(documents)
        self.nested_documents = bool(documents) and isinstance(documents[0], (list, tuple))
        self.documents = [list(row) for row in documents] if self.nested_documents else documents
        self.scores = _teacher_scores(scores, self.documents, self.nested_documents)
        self.temperature = temperature
        self.student_temperature = temperature if student_temperature is None else student_temperature
        self.teacher_temperature = temperature if teacher_temperature is None else teacher_temperature
        for label in ("temperature", "student_temperature", "teacher_temperature"):
            value = getattr(self, label)
            if not 0 < value < math.inf:
                raise InputError(f"{label} must be a positive finite number, got {value}.")
        self.similarity_fct, self.name, self.batch_size = similarity_fct, name, batch_size
        self.show_progress_bar, self.write_csv, self.truncate_dim = show_progress_bar, write_csv, truncate_dim
        self.start_multi_vector(token_pooling)

    def student_scores(self, model: Any) -> Any:
        """The model's ``(queries,)`` or ``(queries, N)`` scores of the documents, a float32 CPU tensor."""
        import torch

        queries = self.embed_texts(model, self.queries, role="query")
        pairwise = self.similarity_fct or model.similarity_pairwise
        if not self.nested_documents:
            return pairwise(queries, self.embed_texts(model, self.documents, role="document")).cpu()
        ways = len(self.documents[0])
        flat = self.embed_texts(model, [d for row in self.documents for d in row], role="document")
        return torch.stack([pairwise(queries, flat[way::ways]).cpu() for way in range(ways)], dim=1)

    def compute(self, model: Any) -> dict[str, float]:
        import torch

        student = self.student_scores(model).float()
        teacher_log = torch.log_softmax(self.scores / self.teacher_temperature, dim=-1)
        student_log = torch.log_softmax(student / self.student_temperature, dim=-1)
        reduction = "batchmean" if self.nested_documents else "sum"  # one global softmax for pairs
        kl = torch.nn.functional.kl_div(student_log, teacher_log, reduction=reduction, log_target=True)
        kl_divergence = kl.item() * self.student_temperature**2
        teacher, predicted = self.scores.numpy(), student.numpy()
        if self.nested_documents:
            found = [metrics.spearman(s, t) for t, s in zip(teacher, predicted)]
            found = [value for value in found if not math.isnan(value)]  # constant rows have no rank order
            spearman = sum(found) / len(found) if found else 0.0
        else:
            spearman = metrics.spearman(predicted, teacher)
            spearman = 0.0 if math.isnan(spearman) else spearman
        return {"kl_divergence": kl_divergence, "spearman": float(spearman)}

    def csv_header_columns(self) -> list[str]:
        return ["kl_divergence", "spearman"]

    def get_config_dict(self) -> dict[str, Any]:
        config: dict[str, Any] = {"temperature": self.temperature} if self.temperature != 1.0 else {}
        for side in ("student_temperature", "teacher_temperature"):
            if getattr(self, side) != self.temperature:
                config[side] = getattr(self, side)
        if self.similarity_fct is not None:
            from ...util.misc import similarity_fct_name

            config["similarity_fct"] = similarity_fct_name(self.similarity_fct)
        return {**config, **super().get_config_dict()}


def _teacher_scores(scores: Any, documents: list[Any], nested: bool) -> Any:
    """The teacher's scores as a float32 CPU tensor of the shape the documents need."""
    import torch

    tensor = torch.as_tensor(np.asarray(scores, dtype=np.float32)) if not torch.is_tensor(scores) else scores
    tensor = tensor.detach().float().cpu()
    if nested:
        ways = len(documents[0])
        if any(len(row) != ways for row in documents):
            raise InputError("All per-query candidate lists in documents must have the same length.")
        if tensor.ndim != 2 or tensor.shape[1] != ways:
            raise InputError(
                f"With per-query candidate documents, scores must be 2-D (num_queries, {ways}), got shape "
                f"{tuple(tensor.shape)}."
            )
    elif tensor.ndim != 1:
        raise InputError(
            f"With one document per query, scores must be 1-D, got shape {tuple(tensor.shape)}. Pass "
            "documents as a list of per-query candidate lists to use 2-D scores."
        )
    return tensor
