"""Where a query's tokens match an image document: sentence-transformers 6.3's MaxSim heatmaps for
ColPali-style late-interaction models (``multi_vector_encoder.interpretability``), with the same outputs.

:func:`maxsim_similarity_map` gives each query token's similarity to every patch of the image grid;
:func:`maxsim_heatmap` draws it over the image with the "mako" colour map; :func:`real_query_token_slice`
picks a query's own tokens out of ``encode_query``'s output (not its prompt, special or expansion tokens);
:func:`get_n_patches` reads the patch grid off the model's image processor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._errors import InputError
from .._modules.transformer import Transformer
from .._tokens.hf_methods import own_call
from .task_inputs import preprocess

# Seaborn's "mako" colour map at 9 evenly spaced points, interpolated to 256 colours: within 11/255 of
# seaborn's table, without matplotlib.
_MAKO_POINTS = np.array(
    [
        [11, 4, 5],
        [43, 28, 53],
        [62, 53, 107],
        [59, 86, 152],
        [53, 123, 163],
        [53, 159, 171],
        [75, 194, 173],
        [153, 221, 182],
        [222, 245, 229],
    ],
    dtype=np.float32,
)
AGGREGATES = ("sum", "amax", "none")


def _colour_table(size: int = 256) -> np.ndarray:
    """``(size, 3)`` uint8 colours, linear between the map's points."""
    position = np.linspace(0, len(_MAKO_POINTS) - 1, size)
    low = position.astype(int).clip(0, len(_MAKO_POINTS) - 2)
    weight = (position - low)[:, None]
    return (_MAKO_POINTS[low] + weight * (_MAKO_POINTS[low + 1] - _MAKO_POINTS[low])).astype(np.uint8)


MAKO = _colour_table()


def real_query_token_slice(model: Any, query: str) -> slice:
    """The slice of ``model.encode_query(query)`` that holds the query's own tokens: without the prompt
    (ColBERT's ``"[Q] "``), special tokens or query expansion, which would dominate a heatmap::

        query_embedding = model.encode_query([query])[0][real_query_token_slice(model, query)]
    """
    transformer = next((module for module in model if isinstance(module, Transformer)), None)
    if transformer is None:
        raise InputError(
            "real_query_token_slice tokenizes the query with the model's Transformer; this model has none: "
            f"{[type(module).__name__ for module in model]}."
        )
    prompt = model.prompts.get("query")  # the prompt encode_query puts first
    empty, full = (
        preprocess(transformer, [text], prompt, "query")["input_ids"][0].tolist() for text in ("", query)
    )
    start = 0
    while start < min(len(empty), len(full)) and empty[start] == full[start]:
        start += 1
    if getattr(transformer, "query_expansion", None) is not None and transformer.tokenizer is not None:
        # expansion pads both to the same width: count the query's own tokens instead
        count = len(own_call(transformer.tokenizer, query, add_special_tokens=False)["input_ids"])
    else:
        count = len(full) - len(empty)
    return slice(start, start + count)


def get_n_patches(model: Any, image_size: tuple[int, int]) -> tuple[int, int]:
    """The ``(columns, rows)`` patch grid the model's processor makes of an image of ``image_size``
    (``(width, height)``, PIL's ``image.size``): from a Qwen-VL style processor's ``image_grid_thw``, or a
    square ``image_seq_length`` (PaliGemma, Gemma 3)."""
    processor = getattr(model, "processor", None) or model.tokenizer
    image_processor = getattr(processor, "image_processor", None)
    if any(
        getattr(image_processor, name, None) is not None for name in ("do_image_splitting", "max_image_size")
    ):
        raise NotImplementedError(
            "Idefics3 / SmolVLM processors split an image into sub-image blocks and a trailing global "
            "patch, which is not a row-major grid; reorder the embedding into grid order first (e.g. with "
            "colpali_engine's Idefics3SplitImageInterpretabilityMixin)."
        )
    merge_size = getattr(image_processor, "merge_size", None)
    if image_processor is not None and merge_size is not None:
        from PIL import Image

        grid = image_processor(images=[Image.new("RGB", image_size)], return_tensors="pt")["image_grid_thw"][
            0
        ]
        return int(grid[2]) // merge_size, int(grid[1]) // merge_size  # (t, h, w) in patches before merging
    length = getattr(processor, "image_seq_length", None)
    if isinstance(length, int) and length > 0 and math.isqrt(length) ** 2 == length:
        return math.isqrt(length), math.isqrt(length)
    raise InputError(
        f"Could not read a patch grid off {type(processor).__name__}: it needs an image_processor with a "
        "Qwen-VL style grid (merge_size and image_grid_thw) or a square image_seq_length (PaliGemma, "
        "Gemma 3). Pass n_patches to maxsim_similarity_map / maxsim_heatmap yourself."
    )


def maxsim_similarity_map(
    query_embedding: Tensor,
    image_embedding: Tensor,
    n_patches: tuple[int, int],
    image_mask: Tensor | None = None,
    normalize: bool = False,
) -> Tensor:
    """``(query tokens, rows, columns)`` float32 similarities of each query token (``(Qt, dim)``) to each
    image patch (``image_embedding`` ``(Dt, dim)``, its patches row-major; ``image_mask`` picks them out of
    other tokens). ``n_patches`` is ``(columns, rows)``; ``normalize`` rescales each token's map to [0, 1]."""
    if image_mask is not None:
        image_embedding = image_embedding[image_mask.bool()]
    columns, rows = n_patches
    if image_embedding.shape[0] != columns * rows:
        raise InputError(
            f"image_embedding has {image_embedding.shape[0]} tokens, but n_patches={n_patches} makes "
            f"{columns * rows}: pass image_mask to leave out its non-image tokens, or encode with "
            "MultiVectorMask.keep_only_token_ids set to the image-patch token id."
        )
    grid = image_embedding.view(rows, columns, -1)
    scores = torch.einsum("qd,rcd->qrc", query_embedding, grid).float()  # input precision, float32 out
    if normalize:
        flat = scores.reshape(scores.shape[0], -1)
        low, high = flat.min(dim=-1, keepdim=True).values, flat.max(dim=-1, keepdim=True).values
        scores = ((flat - low) / (high - low + 1e-10)).reshape(-1, rows, columns)
    return scores


def render_similarity_map_on_image(
    image: Any,
    similarity_map: Tensor,
    alpha: float = 0.5,
    normalization_range: tuple[float, float] | None = None,
) -> Any:
    """A new RGBA image: ``image`` (a PIL image, a path or a URL) under the ``(rows, columns)`` map in the
    mako colours, ``alpha`` opaque; the colours span ``normalization_range`` (default: the map's range)."""
    from PIL import Image

    if similarity_map.ndim != 2:
        raise InputError(
            "render_similarity_map_on_image draws one 2D (rows, columns) map, got shape "
            f"{tuple(similarity_map.shape)}; pick one query token's map or aggregate them."
        )
    image = _as_image(image)
    scores = similarity_map.detach().to(torch.float32).cpu().numpy()
    low, high = (
        (float(scores.min()), float(scores.max())) if normalization_range is None else normalization_range
    )
    levels = (((scores - low) / (high - low + 1e-10)).clip(0.0, 1.0) * 255).astype(np.uint8)
    # colour after resizing, so every pixel is a colour of the map
    levels = np.array(Image.fromarray(levels).resize(image.size, Image.Resampling.BICUBIC))
    overlay = np.empty((*levels.shape, 4), dtype=np.uint8)
    overlay[..., :3] = MAKO[levels]
    overlay[..., 3] = int(alpha * 255)
    return Image.alpha_composite(image.convert("RGBA"), Image.fromarray(overlay))


def maxsim_heatmap(
    image: Any,
    query_embedding: Tensor,
    image_embedding: Tensor,
    n_patches: tuple[int, int],
    image_mask: Tensor | None = None,
    aggregate: str = "sum",
    alpha: float = 0.5,
) -> Any:
    """The query's similarity map drawn over ``image``: summed over query tokens (``"sum"``: overall
    similarity, not MaxSim's best patches), their strongest match per patch (``"amax"``), or one image per
    query token on one colour scale (``"none"``, a list)."""
    if aggregate not in AGGREGATES:
        raise InputError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}.")
    image = _as_image(image)  # one download of a URL, not one per token
    scores = maxsim_similarity_map(query_embedding, image_embedding, n_patches, image_mask)
    if aggregate == "none":
        shared = (float(scores.min()), float(scores.max()))
        return [render_similarity_map_on_image(image, token, alpha, shared) for token in scores]
    collapsed = scores.sum(dim=0) if aggregate == "sum" else scores.amax(dim=0)
    return render_similarity_map_on_image(image, collapsed, alpha=alpha)


def _as_image(image: Any) -> Any:
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    from transformers.image_utils import load_image

    return load_image(image)
