"""CNN: 1-d convolutions of several kernel sizes over the token embeddings, concatenated per token."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._checks import check_positive_int
from .._errors import InputError
from .config_module import ConfigModule, renamed_keywords

CONFIG_FILE = "cnn_config.json"


class CNN(ConfigModule):
    """Token embeddings (B, T, in) -> (B, T, out_channels * len(kernel_sizes)); each kernel is zero-padded by
    ``(k - 1) // 2`` on both sides, so odd kernels with stride 1 keep the length.

    The convolutions see the padded positions too (as in sentence-transformers), so ``reads_padding``
    asks the Transformer before it for its padded outputs.
    """

    reads_padding = True

    config_file_name = CONFIG_FILE
    config_key_renames = {
        "in_word_embedding_dimension": "in_embedding_dimension"
    }  # sentence-transformers 5's
    config_keys = ["in_embedding_dimension", "out_channels", "kernel_sizes", "stride_sizes"]
    input_key = "in_embedding_dimension"

    @renamed_keywords(in_word_embedding_dimension="in_embedding_dimension")
    def __init__(
        self,
        in_embedding_dimension: int,
        out_channels: int = 256,
        kernel_sizes: Sequence[int] = (1, 3, 5),
        stride_sizes: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("in_embedding_dimension", in_embedding_dimension)
        check_positive_int("out_channels", out_channels)
        self.in_embedding_dimension = in_embedding_dimension
        self.out_channels = out_channels
        self.kernel_sizes = list(kernel_sizes)
        self.stride_sizes = [1] * len(self.kernel_sizes) if stride_sizes is None else list(stride_sizes)
        if not self.kernel_sizes or len(self.stride_sizes) != len(self.kernel_sizes):
            raise InputError("kernel_sizes must be non-empty, with one stride per kernel size")
        self.convs = nn.ModuleList(
            nn.Conv1d(in_embedding_dimension, out_channels, kernel, stride=stride, padding=(kernel - 1) // 2)
            for kernel, stride in zip(self.kernel_sizes, self.stride_sizes)
        )

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        tokens = features["token_embeddings"]  # (B, T, in)
        if "attention_mask" in features:  # padding's vectors stay out of the real tokens' windows (ST 6.3)
            tokens = tokens.masked_fill(features["attention_mask"].unsqueeze(-1) == 0, 0)
        channels_first = tokens.transpose(1, -1)  # (B, in, T)
        out = torch.cat([conv(channels_first) for conv in self.convs], dim=1)  # (B, out * kernels, T)
        features["token_embeddings"] = out.transpose(1, -1)
        return features

    def get_embedding_dimension(self) -> int:
        return self.out_channels * len(self.kernel_sizes)
