"""The text-embeddings-inference protocol: ``POST /`` (huggingface_hub's ``InferenceClient``), ``/embed``,
``/embed_all``, ``/embed_sparse``, ``/similarity``, ``/rerank``, ``/predict``, ``/tokenize`` and
``/decode``."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from ..._numeric import normalize
from .registry import Routes
from .rerank_api import infinity_rerank

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..schemas import (
        DecodeRequest,
        EmbedAllRequest,
        EmbedRequest,
        EmbedSparseRequest,
        InferenceRequest,
        PredictRequest,
        RequestBody,
        SimilarityRequest,
        TeiRerankRequest,
        TokenizeRequest,
    )

routes = Routes()


@routes.post("/", tag="TEI", note="as /embed")
async def inference(pipeline: Pipeline, body: InferenceRequest) -> Any:
    """``/embed``, at the root, as text-embeddings-inference serves it: what huggingface_hub's
    ``InferenceClient(URL).feature_extraction`` calls. Inputs ``{"source_sentence", "sentences"}`` get
    ``/similarity``'s answer (``InferenceClient(URL).sentence_similarity``)."""
    if not isinstance(body.inputs, list):  # SimilarityInputs: texts are always a list once parsed
        return await _scores(pipeline, body)
    return await embed(pipeline, body)


async def _scores(pipeline: Pipeline, body: RequestBody) -> Any:
    embedded = await pipeline.embed(body)  # the source first, then the sentences
    vectors = embedded.vectors
    return embedded.model.similarity(vectors[:1], vectors[1:])[0]


@routes.post("/embed", tag="TEI")
async def embed(pipeline: Pipeline, body: EmbedRequest) -> Any:
    """Embeddings as ``[[float]]``, as text-embeddings-inference returns them."""
    served = pipeline.model(body.model)
    served.check_dimensions(body.dimensions)  # before the work
    embedded = await pipeline.embed(body, served)
    vectors = served.keep_dimensions(embedded.vectors, body.dimensions)
    return normalize(vectors) if body.normalize else vectors


@routes.post("/embed_all", tag="TEI")
async def embed_all(pipeline: Pipeline, body: EmbedAllRequest) -> Any:
    """Every token's vector, ``[[[float]]]``: per input, one vector per token (special tokens included),
    as text-embeddings-inference returns them (torch or ONNX; a fake model has none: 422)."""
    return await pipeline.token_embeddings(body)


@routes.post("/embed_sparse", tag="TEI", note="with --sparse")
async def embed_sparse(pipeline: Pipeline, body: EmbedSparseRequest) -> Any:
    """A sparse (SPLADE) model's embeddings, as text-embeddings-inference returns them: per input,
    ``[{"index", "value"}]`` of its nonzero entries, indices ascending; the values are
    ``SparseEncoder.encode``'s. ``model`` picks a sparse model (default: the first)."""
    from ..sparse import sparse_values

    embedded = await pipeline.embed(body, pipeline.state.sparse_model(body.model))
    return sparse_values(embedded.vectors)


@routes.post("/similarity", tag="TEI")
async def similarity(pipeline: Pipeline, body: SimilarityRequest) -> Any:
    """Similarity of ``source_sentence`` to each of ``sentences``, with the model's similarity function."""
    return await _scores(pipeline, body)


@routes.post("/rerank", tag="TEI", needs_reranker=True)
async def rerank(pipeline: Pipeline, body: TeiRerankRequest) -> Any:
    """``texts`` ranked for ``query`` by the reranker (a cross-encoder), best first, as
    text-embeddings-inference answers: ``[{"index", "score", "text"?}]``. Scores are
    ``CrossEncoder.predict``'s (the model's activation, Sigmoid by default), the logits with ``raw_scores``;
    ``model`` picks a reranker (default: the first). A body with Cohere's ``documents`` instead of ``texts``
    (infinity's ``/rerank``, LiteLLM's ``infinity/``) is answered as infinity answers it: each ``document``
    the text itself (``POST /v1/rerank`` gives Cohere's ``{"text": ...}``)."""
    from ..reranking import ranking

    cohere = body.as_cohere()
    if cohere is not None:
        return await infinity_rerank(pipeline, cohere, body.raw_scores)
    inputs = body.pair_inputs()
    scored = await pipeline.rerank(inputs, pipeline.reranker(body.model))
    ranked = ranking(scored.reranker.scores(scored.logits, raw=body.raw_scores))
    if body.return_text:
        return [{"index": i, "text": inputs.documents[i], "score": score} for i, score in ranked]
    return [{"index": i, "score": score} for i, score in ranked]


@routes.post("/predict", tag="TEI", note="with --classifier or --reranker")
async def predict(pipeline: Pipeline, body: PredictRequest) -> Any:
    """Each text or pair of ``inputs`` classified by a cross-encoder (``model``: a classifier or reranker;
    default: the first classifier, else the first reranker), as text-embeddings-inference answers:
    ``[{"score", "label"}]`` highest first, one such list per input for a batch. Scores are the softmax of
    the logits (one label: the model's activation, Sigmoid by default), the logits with ``raw_scores``."""
    from ..reranking import predictions

    inputs = body.predict_inputs()
    scored = await pipeline.predict(inputs, pipeline.state.classifier(body.model))
    classifier = scored.reranker
    scores = classifier.probabilities(scored.logits, raw=body.raw_scores)
    answers = [predictions(row, classifier.labels) for row in scores]
    return answers if inputs.batch else answers[0]


@routes.post("/tokenize", tag="TEI")
async def tokenize(pipeline: Pipeline, body: TokenizeRequest) -> Any:
    """Every token each input becomes (not truncated), as TEI gives them: a special token by its token
    string, any other by the input's own text it covers, with that text's UTF-8 byte offsets."""
    tokenized = await pipeline.tokenize(body, pipeline.model(body.model))
    return [_tokens(text, encoding) for text, encoding in tokenized]


def _tokens(text: str, encoding: Any) -> list[dict[str, Any]]:
    """TEI's tokens of ``text`` (as tokenized, prompt included) from its ``tokenizers`` encoding, whose
    offsets count characters."""
    byte_at = (
        None if text.isascii() else list(itertools.accumulate((len(c.encode()) for c in text), initial=0))
    )
    tokens = []
    for token_id, token, (start, stop), special in zip(
        encoding.ids, encoding.tokens, encoding.offsets, encoding.special_tokens_mask
    ):
        if special:
            tokens.append({"id": token_id, "text": token, "special": True, "start": None, "stop": None})
            continue
        first, end = (start, stop) if byte_at is None else (byte_at[start], byte_at[stop])
        tokens.append(
            {"id": token_id, "text": text[start:stop], "special": False, "start": first, "stop": end}
        )
    return tokens


@routes.post("/decode", tag="TEI")
async def decode(pipeline: Pipeline, body: DecodeRequest) -> Any:
    """The text of each list of token ids, by the tokenizer of ``model`` (a model, classifier or reranker;
    default: the first model), special tokens left out unless ``skip_special_tokens`` is false."""
    state = pipeline.state
    cross = state.classifiers.get(body.model or "") or state.rerankers.get(body.model or "")
    served = cross if cross is not None else pipeline.model(body.model)
    return await pipeline.decode(served, body.ids, body.skip_special_tokens)
