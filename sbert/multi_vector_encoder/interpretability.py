"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.interpretability``: MaxSim heatmaps of
a query over an image document (PIL is needed to draw them)."""

from .._multi_vector.interpretability import (
    get_n_patches,
    maxsim_heatmap,
    maxsim_similarity_map,
    real_query_token_slice,
    render_similarity_map_on_image,
)

__all__ = [
    "get_n_patches",
    "maxsim_heatmap",
    "maxsim_similarity_map",
    "real_query_token_slice",
    "render_similarity_map_on_image",
]
