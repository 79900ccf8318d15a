"""Request bodies of the OpenAI and TEI protocols, validated once, by pydantic, in strict mode.

Strict mode refuses coercions ("1" for 1, 1 for true), so a client with the wrong types learns it at once
(422) instead of getting embeddings of something it did not mean. Unknown fields are ignored, as both
protocols' clients send extras (``user``, ...). Text inputs share one validator with clear messages, and
every body says what it asks the pipeline to embed (``text_inputs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._checks import check_texts
from .errors import BadInput, EmptyBatch, summarize_validation

Direction = Literal["Right", "Left", "right", "left"]
InputType = Literal["query", "document"]  # encode_query / encode_document: the model's task prompt
MAX_SEARCH_K = 1000  # hits per query on POST /search


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def as_texts(value: Any, field: str, *, empty_strings: bool = False) -> list[str]:
    """``value`` (a string or a list of strings) as a non-empty list of strings.

    Wrong types raise ``ValueError`` (pydantic turns it into a 422); an empty list or an empty string
    raises :class:`BadInput` (400), as the OpenAI API does (text-embeddings-inference refuses both too);
    ``empty_strings``: the caller checks for those itself.
    """
    if isinstance(value, list) and not value:
        raise EmptyBatch(f"`{field}` is an empty array; send at least one text.")
    if not isinstance(value, (str, list)):  # JSON: no other sequences
        raise ValueError(f"must be a string or an array of strings, got {json_type(value)}")
    texts = check_texts(value, name=field, error=ValueError, type_name=json_type, sequence="array")
    if not empty_strings and not all(texts):
        where = field if isinstance(value, str) else f"{field}[{texts.index('')}]"
        raise BadInput(f"`{where}` is an empty string; send some text (at least one character).")
    return texts


@dataclass(frozen=True)
class TokenIds:
    """OpenAI's other ``input``: token ids (one array of ints per input), read as the model's own ids."""

    ids: list[list[int]]


def as_texts_or_ids(value: Any, field: str) -> list[str] | TokenIds:
    """OpenAI's ``input``: texts (see :func:`as_texts`), or token ids, an array of ints (one input) or an
    array of such arrays, as text-embeddings-inference takes them; an empty array of ids is a 400."""
    if isinstance(value, list) and value and all(map(_is_int, value)):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(x, list) and all(map(_is_int, x)) for x in value):
        empty = next((i for i, ids in enumerate(value) if not ids), None)
        if empty is not None:
            raise BadInput(f"`{field}[{empty}]` is an empty array of token ids; send at least one id.")
        return TokenIds(value)
    return as_texts(value, field)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _texts(field: str) -> AfterValidator:
    """The validator of a text-list field (any JSON value until ``as_texts`` checks it), named in messages."""
    return AfterValidator(partial(as_texts, field=field))


TEXTS = "a string or an array of strings"
ASK_TO_TRUNCATE = "send truncate=true"


@dataclass(frozen=True)
class TextInputs:
    """What a request asks to embed (or tokenize): its texts and how to cut those over the token limit."""

    texts: list[str]
    truncate: bool | None = True  # None: as the server's --auto-truncate says (TEI's requests without one)
    side: str = "right"  # the side truncation cuts
    prompt_name: str | None = None
    task: str | None = None  # "query" or "document": as encode_query / encode_document (prompt and route)
    chunk_tokens: int | None = None  # cut long texts into windows of this many tokens (None: the server's)
    chunk_overlap: int | None = None
    ask_to_truncate: str = ASK_TO_TRUNCATE  # how this route's body asks for it (named in a 413)
    token_ids: list[list[int]] | None = None  # instead of texts: the model's own token ids of each input


class RequestBody(BaseModel):
    """What every body may say: the model to use; and what it asks to embed (or tokenize)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    model: str | None = Field(
        None, description="a model name from GET /info; default: the first model served"
    )

    def text_inputs(self) -> TextInputs:
        raise NotImplementedError


CHUNK_TOKENS = (
    "sbert extension: cut texts into windows of this many tokens and embed each text as the mean of its "
    "windows weighted by their tokens, as encode(chunk_tokens=N); default: the server's --chunk-tokens"
)
CHUNK_OVERLAP = "sbert extension: tokens that neighbouring windows share (default 0, or --chunk-overlap)"


class _Chunked(BaseModel):
    """The sbert extension every sentence-embedding body takes: windows for long texts."""

    chunk_tokens: int | None = Field(None, description=CHUNK_TOKENS)
    chunk_overlap: int | None = Field(None, description=CHUNK_OVERLAP)


class OpenAIEmbeddingRequest(RequestBody, _Chunked):
    """``POST /v1/embeddings``, as in the OpenAI API."""

    input: Annotated[Any, AfterValidator(partial(as_texts_or_ids, field="input"))] = Field(
        description=TEXTS + ", or token ids of the model's vocabulary (an array of ints, or of such arrays)"
    )
    # null is the default, as the OpenAI API reads it (LiteLLM's openai/ provider sends it)
    encoding_format: Literal["float", "base64"] | None = "float"
    # 0 is every dimension, as infinity reads it (infinity_client always sends it)
    dimensions: int | None = Field(
        None, description="keep the first N dimensions and re-normalize (Matryoshka); 0 or null: all"
    )
    truncate: bool = Field(
        True, description="sbert extension: false refuses inputs over the token limit (413)"
    )
    input_type: InputType | None = Field(
        None, description="sbert extension: embed as encode_query (query) or encode_document (document)"
    )
    prompt_name: str | None = Field(
        None, description="sbert extension: a prompt of the model (GET /info lists them)"
    )

    @model_validator(mode="after")
    def _one_prompt_choice(self) -> OpenAIEmbeddingRequest:
        if self.input_type is not None and self.prompt_name is not None:
            raise ValueError("send input_type or prompt_name, not both: input_type picks the prompt itself")
        return self

    @model_validator(mode="after")
    def _defaults_of_other_servers(self) -> OpenAIEmbeddingRequest:
        self.encoding_format = self.encoding_format or "float"  # null: OpenAI's default
        self.dimensions = self.dimensions or None  # 0: infinity's "all dimensions"
        return self

    def text_inputs(self) -> TextInputs:
        ids = self.input.ids if isinstance(self.input, TokenIds) else None
        return TextInputs(
            [] if ids is not None else self.input,
            token_ids=ids,
            truncate=self.truncate,
            prompt_name=self.prompt_name,
            task=self.input_type,
            chunk_tokens=self.chunk_tokens,
            chunk_overlap=self.chunk_overlap,
        )


COHERE_TASKS = {"search_query": "query", "search_document": "document"}  # the others embed as encode does
# Cohere's int8 / uint8 codes come from its own calibration; a per-request range would change with the batch.
COHERE_EMBEDDING_TYPES = ("float", "binary", "ubinary", "base64")  # base64: the float32 bytes


class CohereEmbedRequest(RequestBody, _Chunked):
    """``POST /v1/embed`` and ``/v2/embed``, as in Cohere's embed API (texts)."""

    texts: Annotated[Any, _texts("texts")] = Field(description="an array of strings")
    input_type: Literal["search_query", "search_document", "classification", "clustering"] | None = Field(
        None,
        description="search_query embeds as encode_query, search_document as encode_document, the others as "
        "encode",
    )
    embedding_types: list[str] | None = Field(
        None, description=f"any of {list(COHERE_EMBEDDING_TYPES)}; default: float"
    )
    truncate: Literal["NONE", "START", "END"] = Field(
        "END", description="cut texts over the token limit at the end or the start; NONE refuses them (413)"
    )
    output_dimension: int | None = Field(
        None, description="keep the first N dimensions and re-normalize (Matryoshka)"
    )

    @model_validator(mode="after")
    def _known_types(self) -> CohereEmbedRequest:
        types = self.embedding_types
        if types is not None and (not types or set(types) - set(COHERE_EMBEDDING_TYPES)):
            raise ValueError(
                f"embedding_types must be a non-empty list of {list(COHERE_EMBEDDING_TYPES)}, got {types}: "
                "int8 and uint8 codes need Cohere's own calibration; quantize float embeddings with "
                "sbert.util.quantize_embeddings and ranges from your corpus instead."
            )
        return self

    def text_inputs(self) -> TextInputs:
        return TextInputs(
            self.texts,
            truncate=self.truncate != "NONE",
            side="left" if self.truncate == "START" else "right",
            ask_to_truncate='send truncate "END" (or "START")',
            task=COHERE_TASKS.get(self.input_type or ""),
            chunk_tokens=self.chunk_tokens,
            chunk_overlap=self.chunk_overlap,
        )


class TeiParameters(BaseModel):
    """TEI's ``parameters`` object (the Hugging Face Inference API's form): over the body's own options."""

    model_config = ConfigDict(strict=True, extra="ignore")

    truncate: bool | None = None
    truncation_direction: Direction | None = None
    prompt_name: str | None = None


TRUNCATE = "cut inputs over the token limit (else 413); default: the server's --auto-truncate (off)"


class _TeiRequest(RequestBody, _Chunked):
    truncate: bool | None = Field(None, description=TRUNCATE)
    truncation_direction: Direction = "Right"
    prompt_name: str | None = None
    parameters: TeiParameters | None = None

    def _inputs(self, texts: list[str] | TokenIds) -> TextInputs:
        given = self.parameters or TeiParameters()
        truncate = self.truncate if given.truncate is None else given.truncate
        side = given.truncation_direction or self.truncation_direction
        prompt_name = given.prompt_name or self.prompt_name
        ids = texts.ids if isinstance(texts, TokenIds) else None
        return TextInputs(
            [] if ids is not None else texts,
            truncate,
            side.lower(),
            prompt_name,
            None,
            self.chunk_tokens,
            self.chunk_overlap,
            token_ids=ids,
        )


class EmbedRequest(_TeiRequest):
    """``POST /embed``, as in text-embeddings-inference; token ids read as ``/v1/embeddings`` reads them."""

    inputs: Annotated[Any, AfterValidator(partial(as_texts_or_ids, field="inputs"))] = Field(
        description=TEXTS + ", or token ids of the model's vocabulary (an array of ints, or of such arrays)"
    )
    normalize: bool = True
    dimensions: int | None = None

    def text_inputs(self) -> TextInputs:
        return self._inputs(self.inputs)


class EmbedAllRequest(_TeiRequest):
    """``POST /embed_all``, as in text-embeddings-inference: every token's vector."""

    inputs: Annotated[Any, _texts("inputs")] = Field(description=TEXTS)

    def text_inputs(self) -> TextInputs:
        return self._inputs(self.inputs)


class EmbedSparseRequest(RequestBody):
    """``POST /embed_sparse``, as in text-embeddings-inference: a sparse (SPLADE) model's embeddings."""

    model: str | None = Field(None, description="a sparse model name from GET /info; default: the first")
    inputs: Annotated[Any, _texts("inputs")] = Field(description=TEXTS)
    truncate: bool | None = Field(None, description=TRUNCATE)
    truncation_direction: Direction = "Right"
    prompt_name: str | None = None
    # named only to be refused: the windows' mean of sparse vectors is not what /embed's chunking means
    chunk_tokens: Any = None
    chunk_overlap: Any = None

    @model_validator(mode="after")
    def _not_chunked(self) -> EmbedSparseRequest:
        if self.chunk_tokens is not None or self.chunk_overlap is not None:
            raise ValueError(
                "/embed_sparse does not cut texts into windows; leave chunk_tokens and chunk_overlap out "
                "(send truncate=true to cut long texts at the token limit)."
            )
        return self

    def text_inputs(self) -> TextInputs:
        side = self.truncation_direction.lower()
        return TextInputs(self.inputs, self.truncate, side, self.prompt_name)


class SimilarityInputs(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    source_sentence: str
    sentences: Annotated[Any, _texts("inputs.sentences")] = Field(description="an array of strings")

    def texts(self) -> list[str]:
        return [self.source_sentence, *self.sentences]


class SimilarityRequest(_TeiRequest):
    """``POST /similarity``, as in text-embeddings-inference: one score per sentence."""

    inputs: SimilarityInputs

    def text_inputs(self) -> TextInputs:
        return self._inputs(self.inputs.texts())


def _texts_or_similarity(value: Any) -> list[str] | SimilarityInputs:
    if not isinstance(value, dict):
        return as_texts(value, "inputs")
    try:
        return SimilarityInputs.model_validate(value)
    except ValidationError as e:  # one message: pydantic names this field in front of it
        raise ValueError(summarize_validation(e.errors(include_url=False, include_input=False))) from None


class InferenceRequest(EmbedRequest):
    """``POST /``: ``/embed``'s body, as text-embeddings-inference serves it (huggingface_hub's
    ``feature_extraction``); inputs ``{"source_sentence", "sentences"}`` ask for ``/similarity``
    instead, as the Hugging Face Inference API answers them (``sentence_similarity``)."""

    inputs: Annotated[Any, AfterValidator(_texts_or_similarity)] = Field(
        description=f"{TEXTS}, or an object {{source_sentence, sentences}}"
    )

    def text_inputs(self) -> TextInputs:
        similarity = isinstance(self.inputs, SimilarityInputs)
        return self._inputs(self.inputs.texts() if similarity else self.inputs)


class SimilarityMatrixRequest(_TeiRequest):
    """``POST /similarity/matrix``: the ``(n, n)`` matrix of the model's similarity function."""

    inputs: Annotated[Any, _texts("inputs")] = Field(description="an array of strings")

    def text_inputs(self) -> TextInputs:
        return self._inputs(self.inputs)


class TokenizeRequest(RequestBody):
    """``POST /tokenize``, as in text-embeddings-inference."""

    inputs: Annotated[Any, _texts("inputs")] = Field(description=TEXTS)
    add_special_tokens: bool = True
    prompt_name: str | None = None

    def text_inputs(self) -> TextInputs:
        return TextInputs(self.inputs, prompt_name=self.prompt_name)


def _queries(value: Any) -> list[str]:
    if isinstance(value, list) and not value:
        # 422, where the other routes answer 400: an empty search is a wrong value, not a wrong protocol
        raise ValueError("must not be an empty array; send at least one query text")
    queries = as_texts(value, "query", empty_strings=True)
    for i, text in enumerate(queries):
        if not text.strip():
            where = "the query" if isinstance(value, str) else f"query[{i}]"
            raise ValueError(f"{where} is empty; send the text to search for")
    return queries


class SearchRequest(RequestBody):
    """``POST /search``: the ``k`` texts of the server's index closest to each query."""

    query: Annotated[Any, AfterValidator(_queries)] = Field(
        description="a query text or an array of query texts"
    )
    k: int = Field(10, ge=1, le=MAX_SEARCH_K, description=f"hits per query, 1 to {MAX_SEARCH_K}")
    rerank: bool = Field(
        False, description="reorder each query's k hits by the server's reranker (a cross-encoder)"
    )
    reranker: str | None = Field(None, description="the reranker to use (implies rerank); default: the first")
    fusion: Literal["rrf"] | None = Field(
        None,
        description="rrf (implies rerank): order the hits by reciprocal rank fusion (k=60) of the retrieval "
        "and reranker orders; score is then the fused score, rerank_score the reranker's",
    )

    def text_inputs(self) -> TextInputs:
        return TextInputs(self.query)  # queries over the token limit are cut, never refused


# ---------------------------------------------------------------------------------------------- reranking


@dataclass(frozen=True)
class PairInputs:
    """What a rerank request asks to score: the pairs ``(query, document)`` and how to cut long ones."""

    query: str
    documents: list[str]
    truncate: bool | None = True  # None: as the server's --auto-truncate says
    side: str = "right"


def _documents(value: Any, field: str) -> list[str]:
    """A list of documents: strings, or objects ``{"text": ...}`` (Cohere's and Jina's form). An empty list
    is allowed (it ranks nothing); a document that is neither is named by its index."""
    if not isinstance(value, list):
        raise ValueError(f"must be an array of strings, got {json_type(value)}")
    texts = []
    for i, item in enumerate(value):
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            what = 'an object without a string "text"' if isinstance(item, dict) else json_type(item)
            raise ValueError(f"{field}[{i}] is {what}, not a string: every document must be a string")
        texts.append(text)
    return texts


class _RerankBody(RequestBody):
    model: str | None = Field(None, description="a reranker name from GET /info; default: the first")

    def pair_inputs(self) -> PairInputs:
        raise NotImplementedError


class TeiRerankRequest(_RerankBody):
    """``POST /rerank``, as in text-embeddings-inference: ``texts`` scored against ``query``; or Cohere's
    body (``documents``, ``top_n``, ``return_documents``), which infinity's ``/rerank`` takes and LiteLLM's
    ``infinity/`` reranker sends (answered as infinity answers it)."""

    query: str
    texts: Annotated[Any, AfterValidator(partial(_documents, field="texts"))] = Field(
        None, description="an array of strings"
    )
    truncate: bool | None = Field(None, description=TRUNCATE)
    truncation_direction: Direction = "Right"
    raw_scores: bool = Field(False, description="the logits, without the model's activation (Sigmoid)")
    return_text: bool = False
    documents: Annotated[Any, AfterValidator(partial(_documents, field="documents"))] = Field(
        None, description="instead of texts: Cohere's body, answered as infinity answers it"
    )
    top_n: int | None = Field(None, ge=1, description="with documents: the best N only")
    return_documents: bool = Field(False, description="with documents: add each document's text")

    @model_validator(mode="after")
    def _texts_or_documents(self) -> TeiRerankRequest:
        if (self.texts is None) == (self.documents is None):
            raise ValueError("send `texts` (text-embeddings-inference) or `documents` (Cohere), one of them")
        return self

    def as_cohere(self) -> RerankRequest | None:
        """The Cohere request this body is, or None for TEI's."""
        if self.documents is None:
            return None
        fields = ("model", "query", "documents", "top_n", "return_documents")
        return RerankRequest.model_construct(**{name: getattr(self, name) for name in fields})

    def pair_inputs(self) -> PairInputs:
        return PairInputs(self.query, self.texts, self.truncate, self.truncation_direction.lower())


class RerankRequest(_RerankBody):
    """``POST /v1/rerank``, as in Cohere's and Jina's rerank APIs: ``documents`` ranked for ``query``."""

    query: str
    documents: Annotated[Any, AfterValidator(partial(_documents, field="documents"))] = Field(
        description='an array of strings (or of objects {"text": ...})'
    )
    top_n: int | None = Field(None, ge=1, description="return the best N only (default: all)")
    return_documents: bool = Field(False, description="add each document's text to its result")

    def pair_inputs(self) -> PairInputs:
        return PairInputs(self.query, self.documents)  # pairs over the token limit are cut, as predict


# ------------------------------------------------------------------------------ classification, decoding


@dataclass(frozen=True)
class PredictInputs:
    """What a predict request asks to classify: texts ``(a,)`` and pairs ``(a, b)``; ``batch``: answered
    as a list per input (else the one input's list)."""

    sequences: list[tuple[str, ...]]
    batch: bool
    truncate: bool | None = None
    side: str = "right"


def _sequence(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 2 or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be [text] or a pair [text, text], got {json_type(value)}")
    return tuple(value)


def _predict_inputs(value: Any) -> tuple[list[tuple[str, ...]], bool]:
    """TEI's ``inputs``: a text, a pair ``[a, b]``, or a batch ``[[a], [a, b], ...]`` (the first item
    tells a pair from a batch, as TEI reads it)."""
    if isinstance(value, str):
        return [(value,)], False
    if not isinstance(value, list) or not value:
        what = "an empty array" if isinstance(value, list) else json_type(value)
        raise ValueError(f"must be a text, a pair [text, text] or a batch [[text], [text, text]], got {what}")
    if not isinstance(value[0], list):
        return [_sequence(value, "inputs")], False
    return [_sequence(item, f"inputs[{i}]") for i, item in enumerate(value)], True


class PredictRequest(RequestBody):
    """``POST /predict``, as in text-embeddings-inference: each text or pair classified by a cross-encoder."""

    inputs: Annotated[Any, AfterValidator(_predict_inputs)] = Field(
        description="a text, a pair [text, text], or a batch of them [[text], [text, text], ...]"
    )
    truncate: bool | None = Field(None, description=TRUNCATE)
    truncation_direction: Direction = "Right"
    raw_scores: bool = Field(False, description="the logits, without softmax (sigmoid for one label)")

    def predict_inputs(self) -> PredictInputs:
        sequences, batch = self.inputs
        return PredictInputs(sequences, batch, self.truncate, self.truncation_direction.lower())


def _token_ids(value: Any) -> list[list[int]]:
    """TEI's ``ids``: one list of token ids, or a batch of them."""
    rows = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
    for row in rows:
        if not isinstance(row, list) or not all(_is_int(i) and i >= 0 for i in row):
            raise ValueError("must be an array of token ids (non-negative integers) or an array of them")
    return rows


class DecodeRequest(RequestBody):
    """``POST /decode``, as in text-embeddings-inference: token ids back to text."""

    ids: Annotated[Any, AfterValidator(_token_ids)] = Field(
        description="an array of token ids, or an array of them"
    )
    skip_special_tokens: bool = True
