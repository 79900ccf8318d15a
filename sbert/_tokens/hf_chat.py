"""transformers' ``tokenizer.apply_chat_template`` and ``get_chat_template`` for sbert's tokenizer.

Messages are rendered by transformers' own jinja renderer (its sandbox and helpers, so a template renders
as there; it needs transformers and jinja2, as sentence-transformers' tokenizer does), then tokenized by
the tokenizer's call without special tokens, as transformers 5 does. Control-token sanitizing
(``sanitize_control_tokens``) is not reproduced: asked for, it is refused."""

from __future__ import annotations

import dataclasses
from typing import Any

from .._errors import BackendUnavailableError, installed


def chosen_template(current: Any, chat_template: str | None = None, tools: Any = None) -> str:
    """transformers' ``get_chat_template``: the named or default one of several, the tokenizer's, or the
    template (or name) given."""
    if isinstance(current, dict):
        if chat_template is not None and chat_template in current:
            return current[chat_template]
        if chat_template is None:
            if tools is not None and "tool_use" in current:
                return current["tool_use"]
            if "default" in current:
                return current["default"]
            raise ValueError(
                "This model has multiple chat templates with no default specified! Please either pass a chat "
                "template or the name of the template you wish to use to the `chat_template` argument. "
                f"Available template names are {sorted(current.keys())}."
            )
    elif chat_template is None:
        if current is None:
            raise ValueError(
                "Cannot use chat template functions because tokenizer.chat_template is not set and no "
                "template argument was passed! For information about writing templates and setting the "
                "tokenizer.chat_template attribute, please see the documentation at "
                "https://huggingface.co/docs/transformers/main/en/chat_templating"
            )
        return current
    return chat_template


def apply_chat_template(
    tokenizer: Any,
    conversation: Any,
    tools: Any = None,
    documents: Any = None,
    chat_template: str | None = None,
    add_generation_prompt: bool = False,
    continue_final_message: bool | str = False,
    tokenize: bool = True,
    sanitize_control_tokens: bool = False,
    padding: bool | str = False,
    truncation: bool = False,
    max_length: int | None = None,
    return_tensors: str | None = None,
    return_dict: bool = True,
    return_assistant_tokens_mask: bool = False,
    tokenizer_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """``tokenizer.apply_chat_template(...)`` as transformers 5 gives it: the rendered text
    (``tokenize=False``), or the call's features (``return_dict``, the default) or ids of it, for one
    conversation or a batch."""
    if not installed("transformers") or not installed("jinja2"):
        raise BackendUnavailableError(
            "apply_chat_template renders through transformers' jinja renderer: "
            "pip install transformers jinja2"
        )
    from transformers.utils.chat_template_utils import render_jinja_template

    if sanitize_control_tokens:
        raise NotImplementedError(
            "sbert's tokenizer does not sanitize control tokens (sanitize_control_tokens=True); render with "
            "tokenize=False and tokenize the text, or use transformers' AutoTokenizer for this call."
        )
    if not tokenize:
        return_dict = False
    if return_assistant_tokens_mask and not (return_dict and tokenize):
        raise ValueError(
            "`return_assistant_tokens_mask=True` requires `return_dict=True` and `tokenize=True`"
        )
    template = chosen_template(tokenizer.chat_template, chat_template, tools)
    if isinstance(conversation, (list, tuple)) and len(conversation) == 0:
        raise ValueError("Cannot apply chat template to an empty conversation. Provide at least one message.")
    batched = isinstance(conversation, (list, tuple)) and (
        isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages")
    )
    conversations = [_plain_messages(chat) for chat in (conversation if batched else [conversation])]
    if continue_final_message:
        if add_generation_prompt:
            raise ValueError(
                "continue_final_message and add_generation_prompt are not compatible. Use "
                "continue_final_message when you want the model to continue the final message, and "
                "add_generation_prompt when you want to add a header that will prompt it to start a new "
                "assistant message instead."
            )
        if return_assistant_tokens_mask:
            raise ValueError("continue_final_message is not compatible with return_assistant_tokens_mask.")
    rendered, generation_indices = render_jinja_template(
        conversations=conversations,
        tools=tools,
        documents=documents,
        chat_template=template,
        return_assistant_tokens_mask=return_assistant_tokens_mask,
        continue_final_message=continue_final_message,
        add_generation_prompt=add_generation_prompt,
        **{**tokenizer.special_tokens_map, **kwargs},
    )
    text = rendered if batched else rendered[0]
    if not tokenize:
        return text
    options = {"padding": padding, "truncation": truncation, "max_length": max_length}
    options |= {"return_tensors": return_tensors, **(tokenizer_kwargs or {})}
    out = tokenizer(text, add_special_tokens=False, **options)
    if not return_dict:
        return out["input_ids"]
    if return_assistant_tokens_mask:
        rows = out["input_ids"] if batched or return_tensors else [out["input_ids"]]
        masks = [
            _assistant_mask(len(rows[i]), out.encodings[i].offsets, generation_indices[i])
            for i in range(len(rows))
        ]
        out["assistant_masks"] = _as_kind(masks if batched or return_tensors else masks[0], return_tensors)
    return out


def _plain_messages(conversation: Any) -> list[dict[str, Any]]:
    """A conversation's messages as dicts (dataclasses and pydantic models converted), keys whose value is
    None dropped, as transformers normalizes them."""
    messages = []
    for message in getattr(conversation, "messages", conversation):
        if dataclasses.is_dataclass(message) and not isinstance(message, type):
            message = dataclasses.asdict(message)
        elif hasattr(message, "model_dump"):
            message = message.model_dump()
        if not isinstance(message, dict):
            raise TypeError(
                f"Chat messages should be dicts, dataclasses or pydantic models, but got {message!r}."
            )
        messages.append({key: value for key, value in message.items() if value is not None})
    return messages


def _assistant_mask(width: int, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    """1 for each token overlapping an assistant span of the rendered text (one pass, both in order)."""
    mask = [0] * width
    span = 0
    for index, (start, end) in enumerate(offsets):
        while span < len(spans) and start >= spans[span][1]:
            span += 1
        if span == len(spans):
            break
        if end > spans[span][0]:
            mask[index] = 1
    return mask


def _as_kind(values: Any, return_tensors: str | None) -> Any:
    if return_tensors is None:
        return values
    import numpy as np

    array = np.asarray(values, dtype=np.int64)
    if return_tensors == "np":
        return array
    import torch

    return torch.from_numpy(array)
