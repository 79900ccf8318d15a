"""What computes a cross-encoder's logits for one padded batch of pairs: torch or ONNX Runtime.

Both map the numpy batch of ``TextTokenizer.pad_encodings`` to float32 logits ``(B, num_labels)``. On torch,
BERT-family classifiers run padding-free in CPU inference (``sbert._modules.padding_free``: the encoder's
dense layers on the real tokens only), then their own classification head on the hidden states; others, and
GPUs, run transformers' forward.
The ONNX runner never imports torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._backends.onnx_runner import open_session, run_graph, token_feeds
from .._backends.torch_runner import TORCH_DTYPES
from .._errors import ModelLoadError
from .._format.encoder_class import TOKEN_INPUTS, forward_inputs, is_library_class
from .._tokens.hf_methods import TokenTypes, feature_names


def classifier_head(model: Any) -> tuple[Callable[[Any], Any], list[Any]] | None:
    """The classification head of a BERT-family sequence classifier as a function of the encoder's last
    hidden states ``(B, L, hidden)`` -> logits, and its modules; ``None`` for other architectures."""
    kind = getattr(model.config, "model_type", None)
    base = getattr(model, "base_model", None)
    if kind == "bert" and getattr(base, "pooler", None) is not None and hasattr(model, "classifier"):
        return functools.partial(_bert_head, model), [base.pooler, model.classifier]  # a partial pickles
    if kind in ("roberta", "xlm-roberta", "camembert") and hasattr(model, "classifier"):
        return model.classifier, [model.classifier]  # reads the <s> row itself
    return None


def _bert_head(model: Any, hidden: Any) -> Any:
    """BertForSequenceClassification's head: pooler (the [CLS] row, dense, tanh), dropout, classifier."""
    return model.classifier(model.dropout(model.base_model.pooler(hidden)))


class TorchScorer:
    """A ``transformers`` sequence-classification model on padded numpy batches, in fp32, bf16 or fp16.

    In bf16/fp16 the whole model runs in low precision, as sentence-transformers runs it: its parameters keep
    the dtype the caller gave it, so ``model.model(**features)`` still runs.
    """

    def __init__(
        self,
        model: Any,
        device: Any,
        precision: str,
        score: Any = None,
        *,
        token_types: TokenTypes | None = None,
    ) -> None:
        """``score``: a causal reranker's ``LogitScore`` module (``model`` is then a ``*ForCausalLM``);
        ``token_types``: where the tokenizer's ``token_type_ids`` go (``hf_methods.token_types``; None: to
        the model where its forward takes them)."""
        import torch

        from .._modules.padding_free import is_compiled, runs_padding_free_on, supports_padding_free

        self.model, self.device, self.precision, self.score = model, device, precision, score
        model.to(device=device, dtype=getattr(torch, TORCH_DTYPES[precision]))
        model.eval()
        fast = score is None and supports_padding_free(model.base_model) and runs_padding_free_on(device)
        # torch.compile's wrapper: run it as compiled; a model folder's own class: run its forward
        fast = fast and not is_compiled(model) and is_library_class(model)
        head = classifier_head(model) if fast else None
        self.head = head[0] if head else None
        self.head_modules = head[1] if head else []
        self.names = token_inputs(model, token_types is None or token_types.to_encoder)
        # a hooked network's features, as sentence-transformers' preprocess gives them
        self.hooked_names = feature_names(token_types.in_features) if token_types else self.names
        # the CrossEncoder's torch modules once a caller hooked or compiled them: batches then go through
        # their __call__ (sentence-transformers' predict calls the model), not the padding-free path; and
        # those modules, which do so while a caller's hook is on one of them (``_modules.hooks``)
        self.network: Any = None
        self.modules: Any = None

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        from .._modules.hooks import forward_hooked
        from .._modules.padding_free import padding_free_forward

        network = self.network
        if network is None and self.modules is not None and forward_hooked(self.modules):
            network = self.modules
        names = self.names if network is None else self.hooked_names
        features = {name: torch.from_numpy(batch[name]).to(self.device) for name in names if name in batch}
        with torch.inference_mode():
            if network is not None:  # the features sentence-transformers' preprocess gives
                logits = network({**features, "modality": "text"})["scores"]
            elif self.head is not None and batch["attention_mask"][:, 0].all():
                # (the head reads position 0: a left-padded batch's is a pad token's state, which the
                # padding-free forward does not compute, so such batches take the model's own forward)
                hidden = padding_free_forward(self.model.base_model, **features)  # (B, L, hidden)
                # the head's own dtype (the model's, unless the user cast part of it since)
                logits = self.head(hidden.to(next(self.head_modules[0].parameters()).dtype))
            elif self.score is not None:  # the last position's vocabulary logits -> one score per pair
                vocabulary = self.model(**features, logits_to_keep=1, return_dict=True).logits  # (B, 1, V)
                logits = self.score({self.score.module_input_name: vocabulary})["scores"]
            else:
                logits = self.model(**features, return_dict=True).logits
        return logits.float().cpu().numpy()


def token_inputs(model: Any, token_types: bool) -> list[str]:
    """The token features ``model``'s forward is given: those it takes, ``token_type_ids`` only where the
    tokenizer makes them (a BERT folder saved with a ``PreTrainedTokenizerFast`` reads its pairs as one
    segment under sentence-transformers 6.3)."""
    taken = forward_parameters(model)
    return [n for n in TOKEN_INPUTS if n in taken and (token_types or n != "token_type_ids")]


def forward_parameters(model: Any) -> set[str]:
    """The argument names of a transformers model's ``forward`` (which token inputs it takes)."""
    return forward_inputs(model)


class OnnxScorer:
    """An ONNX Runtime session over a cross-encoder graph (token inputs -> ``logits``); no torch."""

    def __init__(
        self,
        graph: Path,
        *,
        num_labels: int,
        precision: str,
        max_tokens: int | None = None,
        token_types: bool = True,
    ) -> None:
        self.token_types = token_types  # else the graph's token_type_ids are zeros (see token_feeds)
        self.session = open_session(graph)
        self.max_tokens = max_tokens  # the encoder's positions (None: unknown)
        self.names = [i.name for i in self.session.get_inputs()]
        outputs = {o.name: o for o in self.session.get_outputs()}
        if "logits" not in outputs or not {"input_ids", "attention_mask"} <= set(self.names):
            raise ModelLoadError(
                f"{graph} is not a cross-encoder graph: inputs {self.names}, outputs {sorted(outputs)}. "
                "Delete it to re-export."
            )
        width = outputs["logits"].shape[-1]
        if isinstance(width, int) and width != num_labels:
            raise ModelLoadError(f"{graph} outputs {width} logits per pair but config.json has {num_labels}.")
        self.precision, self.device = precision, "cpu"

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = token_feeds(batch, self.names, token_types=self.token_types)
        (logits,) = run_graph(self.session, ["logits"], feeds, self.max_tokens)
        return logits.astype(np.float32, copy=False)
