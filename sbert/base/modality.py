"""sentence-transformers 6.3's modality detection (``sentence_transformers.base.modality``) for what sbert
reads: which modality a sample or batch is, by its type and shape, as there.

    infer_modality("a sentence")                         # "text"
    infer_batch_modality([("query", "document")])        # "text"
    infer_modality({"role": "user", "content": "hi"})    # "message"

Strings that name media files or URLs, and multimodal dicts, get the name sentence-transformers gives them
(pure string and key checks). Image, audio and video objects themselves (PIL images, arrays, tensors,
``{"array": ...}`` dicts, decoders) are out of sbert's scope: they raise an ``InputError`` that says so.
Importing it does not import torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from .._errors import InputError
from .modality_types import MULTIMODAL_DICT_KEYS, Modality

_IMAGE = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tiff", ".webp")
_VIDEO = (".mp4", ".avi", ".mov", ".wmv", ".flv", ".mkv")
_AUDIO = (".mp3", ".wav", ".ogg", ".flac", ".aac")
_VIDEO_HOSTS = ("www.youtube.com", "youtube.com", "youtu.be", "m.youtube.com")


def _looks_like_url(text: str) -> bool:
    return text.startswith(("http://", "https://")) and " " not in text


def _is_media(text: str, extensions: tuple[str, ...]) -> bool:
    if _looks_like_url(text):
        try:
            return urlparse(text).path.lower().endswith(extensions)
        except ValueError:  # a malformed URL ("https://[[x]]")
            return False
    return text.lower().endswith(extensions) and os.path.isfile(text)


def is_image_url_or_path(text: str) -> bool:
    """Whether ``text`` is an image URL, an existing image file or a ``data:image/`` URI."""
    return text.startswith("data:image/") or _is_media(text, _IMAGE)


def is_video_url_or_path(text: str) -> bool:
    """Whether ``text`` is a video URL (YouTube's too) or an existing video file."""
    if _is_media(text, _VIDEO):
        return True
    if not _looks_like_url(text):
        return False
    try:
        return urlparse(text).netloc in _VIDEO_HOSTS
    except ValueError:
        return False


def is_audio_url_or_path(text: str) -> bool:
    """Whether ``text`` is an audio URL or an existing audio file."""
    return _is_media(text, _AUDIO)


def is_message_dict(value: Any) -> bool:
    """Whether ``value`` is one chat message: a dict with ``"role"`` and ``"content"``."""
    return isinstance(value, dict) and "role" in value and "content" in value


def _media_object(sample: Any) -> str | None:
    """What image, audio or video object ``sample`` is (for the out-of-scope error); None for others."""
    package = type(sample).__module__.split(".")[0]
    if package in ("PIL", "torchcodec"):
        return type(sample).__name__
    if package in ("numpy", "torch") and hasattr(sample, "ndim"):
        return f"{type(sample).__name__} of {sample.ndim} dimensions"
    return None


def _out_of_scope(media: str) -> InputError:
    return InputError(
        f"infer_modality: got a {media}, an image, audio or video input; sbert reads text only "
        "(image, audio and video inputs are out of its scope)."
    )


def _string_modality(sample: str, supported: Sequence[Any] | None) -> Modality:
    for modality, test in (
        ("image", is_image_url_or_path),
        ("video", is_video_url_or_path),
        ("audio", is_audio_url_or_path),
    ):
        if test(sample):
            return "text" if supported is not None and modality not in supported else modality
    return "text"


def infer_modality(sample: Any, supported_modalities: Sequence[Any] | None = None) -> Modality:
    """The modality of one input, as sentence-transformers infers it: ``"text"`` for a string or a pair of
    strings (a string naming a media file or URL: that medium, unless ``supported_modalities`` leaves it
    out), ``"message"`` for a chat message or a list of them, a multimodal dict's key (several: their sorted
    tuple). ``InputError`` (a ``ValueError``) for image, audio and video objects, which sbert does not take,
    and for what is no input."""
    media = _media_object(sample)
    if media is not None:
        raise _out_of_scope(media)
    match sample:
        case str():
            return _string_modality(sample, supported_modalities)
        case (str(), str()) | [str(), str()]:
            return "text"
        case dict() if is_message_dict(sample):
            return "message"
        case list() if sample and is_message_dict(sample[0]):
            return "message"
        case dict() if "array" in sample:
            raise _out_of_scope("dict with an 'array'")
        case dict() if sample:
            return _dict_modality(sample)
        case dict():
            raise InputError("Empty dict input is not a valid input sample.")
    raise InputError(
        f"Unsupported input type: {type(sample).__name__}. Expected one of: str, a pair of str, dict "
        "(sbert reads text only)."
    )


def _dict_modality(sample: dict[Any, Any]) -> Modality:
    invalid = set(sample) - MULTIMODAL_DICT_KEYS
    if invalid:
        raise InputError(
            f"Multimodal dict input contains unrecognized modality keys: {sorted(invalid, key=str)}. "
            f"Expected keys from: {sorted(MULTIMODAL_DICT_KEYS)}."
        )
    return next(iter(sample)) if len(sample) == 1 else tuple(sorted(sample))


def infer_batch_modality(
    samples: Sequence[Any], supported_modalities: Sequence[Any] | None = None
) -> Modality:
    """The modality of a batch: its samples' one modality, ``"message"`` where they mix, ``"text"`` when
    empty."""
    if not samples:
        return "text"
    modalities = {infer_modality(sample, supported_modalities=supported_modalities) for sample in samples}
    return modalities.pop() if len(modalities) == 1 else "message"


def format_modality(modality: Modality) -> str:
    """A modality for display: ``("text", "image")`` as ``"text+image"``."""
    return "+".join(modality) if isinstance(modality, tuple) else modality


__all__ = [
    "format_modality",
    "infer_batch_modality",
    "infer_modality",
    "is_audio_url_or_path",
    "is_image_url_or_path",
    "is_message_dict",
    "is_video_url_or_path",
]
