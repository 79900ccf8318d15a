"""A tokenizer's added and special tokens as transformers 5 gives them, with the `tokenizers` library only.

transformers' ``from_pretrained`` takes them from tokenizer_config.json's ``added_tokens_decoder`` (ids and
flags: special, normalized, lstrip, rstrip), and only where the config has none from the older files
(special_tokens_map.json, added_tokens.json, tokenizer.json's ``added_tokens``); its ``TokenizersBackend``
then adds them, and each named special token not among them, to the Rust tokenizer. A class that builds its
own pipeline (:mod:`.class_templates`) builds it on the file's vocabulary alone, so tokenizer.json's added
tokens that the config leaves out are gone and the config's flags hold; :func:`rebuilt_without_added_tokens`
gives that starting point, :func:`add_tokens` adds them as transformers does.
"""

from __future__ import annotations

from typing import Any

# transformers' named special tokens, in the order it adds them to the vocabulary.
NAMED = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def init_options(
    config: dict[str, Any],
    special_tokens_map: dict[str, Any],
    added_tokens_json: dict[str, Any],
    file_tokens: dict[int, Any],
) -> dict[str, Any]:
    """The keyword arguments transformers' ``from_pretrained`` passes the tokenizer class:
    tokenizer_config.json, with the older special_tokens_map.json, added_tokens.json and tokenizer.json's
    added tokens (``file_tokens``, id -> ``tokenizers.AddedToken``) where it lists no
    ``added_tokens_decoder``; serialized AddedTokens as ``tokenizers.AddedToken``; ``added_tokens_decoder``
    as id -> AddedToken. special_tokens_map.json's ``additional_special_tokens`` stays under that key, the
    class's own argument (:func:`.class_templates.extra_special_tokens` settles the unnamed tokens)."""
    from tokenizers import AddedToken

    options = {key: value for key, value in config.items() if key not in ("tokenizer_class", "init_inputs")}
    if "additional_special_tokens" in options and not options.get("extra_special_tokens"):
        options["extra_special_tokens"] = options.pop("additional_special_tokens")
    added: dict[int, Any] = {}
    if "added_tokens_decoder" in options:
        for index, token in options["added_tokens_decoder"].items():
            if isinstance(token, dict):
                added[int(index)] = AddedToken(**_token_fields(token))
    else:
        for key, value in special_tokens_map.items():
            if isinstance(value, dict) and key != "extra_special_tokens":
                value = AddedToken(**{**_token_fields(value), "special": True})
            elif key == "extra_special_tokens" and isinstance(value, list):
                existing = list(options.get("extra_special_tokens") or [])
                for token in value:
                    token = (
                        AddedToken(**{**_token_fields(token), "special": True})
                        if isinstance(token, dict)
                        else token
                    )
                    if token not in existing:
                        existing.append(token)
                value = existing
            options[key] = value
        # what transformers counts as special here: the tokens' texts (a serialized AddedToken's: its dict's)
        special = {str(options[key]) for key in NAMED if options.get(key)}
        special.update(str(token) for token in options.get("extra_special_tokens") or [])
        for content, index in added_tokens_json.items():
            is_special = content in special
            added[index] = AddedToken(content, normalized=not is_special, special=is_special)
        added.update(file_tokens)
    options = {key: as_token(value) for key, value in options.items() if key != "added_tokens_decoder"}
    by_content = {str(token): token for token in added.values()}
    for key in NAMED:  # a named token takes the flags its added_tokens_decoder entry gives it
        if options.get(key) is not None and by_content:
            options[key] = by_content.get(str(options[key]), options[key])
    options["added_tokens_decoder"] = added
    return options


def rebuilt_without_added_tokens(backend: Any) -> Any:
    """``backend``'s model and pipeline in a new ``tokenizers.Tokenizer`` without its added tokens (the model
    is shared, not copied)."""
    from tokenizers import Tokenizer

    rebuilt = Tokenizer(backend.model)
    rebuilt.normalizer = backend.normalizer
    rebuilt.pre_tokenizer = backend.pre_tokenizer
    rebuilt.post_processor = backend.post_processor
    rebuilt.decoder = backend.decoder
    return rebuilt


def add_tokens(backend: Any, options: dict[str, Any], named: dict[str, Any]) -> list[str]:
    """The added and special tokens, in transformers' order (``TokenizersBackend.__init__``): the folder's
    added tokens by id (those the backend holds as they are skipped), then each special token not among
    them, named ones (``named``: the class's, defaults included) first. Returns the special tokens' texts
    (transformers' ``all_special_tokens``: named, model-specific, then the unnamed ones)."""
    from tokenizers import AddedToken

    model_specific = [
        value
        for key, value in options.items()
        if key.endswith("_token") and key not in NAMED and isinstance(value, (str, AddedToken))
    ]
    extra = options.get("extra_special_tokens")
    if isinstance(extra, dict):  # named extra tokens: model-specific ones
        model_specific += [value for value in extra.values() if isinstance(value, (str, AddedToken))]
        extra = []
    held = backend.get_added_tokens_decoder()
    held_reprs = {repr(token) for token in held.values()}
    to_add = [
        token for _, token in sorted(options["added_tokens_decoder"].items()) if repr(token) not in held_reprs
    ]
    contents = [token.content for _, token in sorted(held.items())] + [str(token) for token in to_add]
    specials = [*[named[key] for key in NAMED if key in named], *model_specific]
    for token in [*specials, *(extra or [])]:
        if token is not None and str(token) not in contents and token not in to_add:
            to_add.append(token)
    named_contents = {str(token) for token in specials if token}
    tokens = []
    for token in to_add:
        if isinstance(token, str):
            token = AddedToken(token, special=True)
        elif not token.special and str(token) in named_contents:
            token.special = True
        tokens.append(token)
    if tokens:
        backend.add_tokens(tokens)
    return list(dict.fromkeys(str(token) for token in [*specials, *(extra or [])] if token is not None))


def add_special_again(backend: Any, contents: list[str]) -> None:
    """Each special token added again as a plain special one, flags reset (Qwen2Tokenizer's ``__init__``
    ends so, whatever flags tokenizer_config.json gave them)."""
    from tokenizers import AddedToken

    backend.add_tokens([AddedToken(content, special=True) for content in contents])


def as_token(value: Any) -> Any:
    """A serialized AddedToken (``{"__type": "AddedToken", ...}``, also in lists) as one."""
    from tokenizers import AddedToken

    if isinstance(value, dict) and value.get("__type") == "AddedToken":
        return AddedToken(**_token_fields(value))
    if isinstance(value, list):
        return [as_token(item) for item in value]
    if isinstance(value, dict):
        return {key: as_token(item) for key, item in value.items()}
    return value


def _token_fields(token: dict[str, Any]) -> dict[str, Any]:
    fields = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")
    return {key: token[key] for key in fields if key in token}
