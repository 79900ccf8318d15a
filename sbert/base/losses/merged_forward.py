"""sentence-transformers 6.3's ``sentence_transformers.base.losses.merged_forward``: the text columns of a
loss's batch in one forward (:mod:`sbert._losses.column_merge`).

    with column_merging_disabled():  # every loss embeds each column in its own forward
        loss(sentence_features, labels)
"""

from __future__ import annotations

from ..._losses.column_merge import column_merging_disabled, merge_feature_batches
from ..._losses.column_merge import embed_columns_merged as embed_columns

__all__ = ["column_merging_disabled", "embed_columns", "merge_feature_batches"]
