"""sentence-transformers 6.3's ``sentence_transformers.base.modality_types``: the names its modality helpers
and type hints use. sbert reads text (and chat messages' text); the image, audio and video input types are
``Any`` here, since sbert takes none of them. Importing it does not import torch."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, TypedDict


class AudioDict(TypedDict):
    array: Any
    sampling_rate: int


class VideoDict(TypedDict):
    array: Any
    video_metadata: dict[str, Any] | None


class MessageDict(TypedDict):
    role: str
    content: str | list[dict[str, Any]]


TextInput: TypeAlias = str
ImageInput: TypeAlias = Any
AudioInput: TypeAlias = Any
VideoInput: TypeAlias = Any
MessageInput: TypeAlias = MessageDict | list[MessageDict]


class MultimodalInput(TypedDict, total=False):
    """One input combining modalities, with optional collections under singular keys."""

    text: TextInput | list[TextInput] | tuple[TextInput, ...]
    image: Any
    audio: Any
    video: Any


SingleInput: TypeAlias = TextInput | MessageInput | MultimodalInput | Any
PairableInput: TypeAlias = TextInput | MultimodalInput | Any
PairInput: TypeAlias = tuple[PairableInput, PairableInput] | list[PairableInput]
Modality: TypeAlias = (
    Literal["text", "image", "audio", "video", "message"]
    | tuple[Literal["text", "image", "audio", "video"], ...]
)
ProcessorArgName: TypeAlias = Literal["text", "images", "audio", "videos", "message"]
MessageFormat: TypeAlias = Literal["auto", "structured", "flat"]
MODALITY_TO_PROCESSOR_ARG: dict[Any, ProcessorArgName] = {
    "text": "text",
    "image": "images",
    "audio": "audio",
    "video": "videos",
    "message": "message",
}
MULTIMODAL_DICT_KEYS = frozenset({"text", "image", "audio", "video"})
