"""The tokenizer classes whose pipeline transformers 5 builds itself, not from tokenizer.json.

transformers 5's tokenizer classes with their own ``__init__`` (BERT, RoBERTa, XLM-R, T5, Llama, ...) take
only the vocabulary (and merges) and the post-processor from a folder's tokenizer.json; the normalizer, the
pre-tokenizer and the decoder come from the class's template and ``tokenizer_config.json`` (``do_lower_case``,
``add_prefix_space``, ``legacy``, ...), and most of them set their own post-processor too. A tokenizer.json
saved by an older transformers, or edited by hand, can say otherwise, and sentence-transformers' token ids
follow the class. Which class that is follows ``AutoTokenizer``: the folder's ``tokenizer_class``, except
where the model type's own class overrides it or the model type has none (then the file is used as written).

:func:`template_of` picks the class; :func:`apply_class_template` rebuilds those parts on a
``tokenizers.Tokenizer`` read from the file, with the tokenizers library only (no transformers), as each
class's ``__init__`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# Tokenizer class names (without "Fast") -> the template transformers 5 builds them with.
_CLASSES = {
    "BertTokenizer": "bert",
    "DistilBertTokenizer": "bert",
    "ElectraTokenizer": "bert",
    "LxmertTokenizer": "bert",
    "MobileBertTokenizer": "bert",
    "SqueezeBertTokenizer": "bert",
    "LayoutLMTokenizer": "bert",
    "MPNetTokenizer": "mpnet",
    "RobertaTokenizer": "roberta",
    "BartTokenizer": "roberta",
    "LEDTokenizer": "roberta",
    "MvpTokenizer": "roberta",
    "GPT2Tokenizer": "gpt2",
    "Qwen2Tokenizer": "qwen2",
    "XLMRobertaTokenizer": "xlm_roberta",
    "CamembertTokenizer": "camembert",
    "AlbertTokenizer": "albert",
    "DebertaV2Tokenizer": "deberta_v2",
    "T5Tokenizer": "t5",
    "LlamaTokenizer": "llama",
    "GemmaTokenizer": "gemma",
}
# config.json's model_type -> the class AutoTokenizer registers for it (a template above; "" where it reads
# tokenizer.json as written: TokenizersBackend). Model types missing here: the folder's tokenizer_class.
_MODEL_TYPES = {
    **dict.fromkeys(
        ("bert", "distilbert", "electra", "squeezebert", "mobilebert", "convbert", "ernie", "nomic_bert")
        + ("megatron-bert", "layoutlm", "lxmert", "nezha", "realm", "retribert", "align", "chinese_clip"),
        "BertTokenizer",
    ),
    "mpnet": "MPNetTokenizer",
    **dict.fromkeys(
        ("roberta", "roberta-prelayernorm", "data2vec-text", "longformer", "ibert", "mra", "bart", "led"),
        "RobertaTokenizer",
    ),
    **dict.fromkeys(("gpt2", "gpt_neo", "gptj", "opt", "codegen", "phi", "starcoder2"), "GPT2Tokenizer"),
    **dict.fromkeys(
        ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen3_next", "qwen2_vl", "qwen2_5_vl", "qwen3_vl"),
        "Qwen2Tokenizer",
    ),
    **dict.fromkeys(("xlm-roberta", "gte", "jina_embeddings_v3", "xmod"), "XLMRobertaTokenizer"),
    "camembert": "CamembertTokenizer",
    "albert": "AlbertTokenizer",
    "deberta-v2": "DebertaV2Tokenizer",
    **dict.fromkeys(("t5", "mt5", "switch_transformers"), "T5Tokenizer"),
    **dict.fromkeys(
        ("gemma", "gemma2", "gemma3", "gemma3_text", "gemma3n", "gemma3n_text", "t5gemma"), "GemmaTokenizer"
    ),
    **dict.fromkeys(
        ("modernbert", "modernbert-decoder", "xlm-roberta-xl", "umt5", "stablelm", "nystromformer")
        + ("mistral", "mixtral", "ministral", "mistral3", "pixtral", "granite", "granitemoe", "olmo2")
        + ("phi3", "phimoe", "nemotron", "jamba", "internlm2", "internlm3", "glm", "glm4", "persimmon")
        + ("arctic", "chatlm", "ernie4_5", "minicpm3", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text"),
        "",
    ),
}
# Model types whose hub folders name a wrong tokenizer_class: AutoTokenizer takes the model type's class.
_WRONG_HUB_CLASS = frozenset(
    ("modernbert", "modernbert-decoder", "qwen2", "phi3", "phimoe", "nemotron", "jamba", "internlm2")
    + ("internlm3", "arctic", "chatlm", "ernie4_5", "minicpm3", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text")
)
# Each template's named special tokens where the folder names none (its class's ``__init__`` defaults).
_ROBERTA_SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
_BERT_SPECIALS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
_SPECIAL_DEFAULTS: dict[str, dict[str, str]] = {
    "bert": _BERT_SPECIALS,
    "mpnet": {**_ROBERTA_SPECIALS, "unk_token": "[UNK]"},
    "roberta": _ROBERTA_SPECIALS,
    "gpt2": dict.fromkeys(("unk_token", "bos_token", "eos_token"), "<|endoftext|>"),
    "qwen2": dict.fromkeys(("unk_token", "eos_token", "pad_token"), "<|endoftext|>"),
    "xlm_roberta": _ROBERTA_SPECIALS,
    "camembert": _ROBERTA_SPECIALS,
    "albert": {**_BERT_SPECIALS, "bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>",
               "pad_token": "<pad>"},
    "deberta_v2": {**_BERT_SPECIALS, "bos_token": "[CLS]", "eos_token": "[SEP]"},
    "t5": {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"},
    "llama": {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"},
    "gemma": {"unk_token": "<unk>", "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
              "mask_token": "<mask>"},
}  # fmt: skip
# The tokenizer classes (without "Fast") that have transformers 5's ``do_lower_case`` attribute, and its
# default where tokenizer_config.json does not set it (the class's ``__init__``'s; the BERT aliases are
# BertTokenizer there). Other classes have no such attribute.
LOWERCASE_DEFAULTS = {
    **dict.fromkeys(
        ("BertTokenizer", "DistilBertTokenizer", "ElectraTokenizer", "LxmertTokenizer", "MobileBertTokenizer")
        + (
            "SqueezeBertTokenizer",
            "LayoutLMTokenizer",
            "ConvBertTokenizer",
            "MPNetTokenizer",
            "AlbertTokenizer",
        )
        + ("FunnelTokenizer", "SplinterTokenizer", "LayoutLMv2Tokenizer"),
        True,
    ),
    **dict.fromkeys(
        ("DebertaV2Tokenizer", "XLNetTokenizer", "RemBertTokenizer")
        + ("DPRQuestionEncoderTokenizer", "DPRContextEncoderTokenizer", "DPRReaderTokenizer"),
        False,
    ),
}
# CamembertTokenizer's unnamed special tokens where the folder lists none.
_CAMEMBERT_EXTRAS = ["<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"]
# The templates whose class adds every special token again at the end of its ``__init__`` (flags reset).
READDS_SPECIAL_TOKENS = frozenset({"qwen2"})
# The pre-tokenizing pattern of Qwen2Tokenizer (transformers' PRETOKENIZE_REGEX).
_QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)


def template_of(tokenizer_config: dict[str, Any], model_config: dict[str, Any], backend: Any) -> str | None:
    """The template transformers 5's ``AutoTokenizer`` builds this folder's tokenizer with, or None where it
    reads tokenizer.json as written (no class of its own, remote code, or ``PreTrainedTokenizerFast``);
    ``backend``: the file's tokenizer, or None where there is no file (a folder of vocabulary files)."""
    if "auto_map" in tokenizer_config:
        return None
    name = loaded_class(tokenizer_config, model_config)
    named = tokenizer_config.get("tokenizer_class") or model_config.get("tokenizer_class")
    llama = isinstance(named, str) and named.removesuffix("Fast") == "LlamaTokenizer"
    if llama and name != "TokenizersBackend" and backend is not None and _byte_level(backend):
        return None  # a Llama 3 style byte-level file: TokenizersBackend
    return _CLASSES.get(name or "")


def loaded_class(tokenizer_config: dict[str, Any], model_config: dict[str, Any]) -> str | None:
    """The tokenizer class (without "Fast") transformers 5's ``AutoTokenizer`` loads for a folder: its
    ``tokenizer_class`` (tokenizer_config.json's, else config.json's), unless the model type registers
    another that wins; the model type's class where the folder names none ("TokenizersBackend" where it
    reads tokenizer.json as written); None where neither says (an unknown model type, no class named)."""
    model_type = model_config.get("model_type")
    hub = tokenizer_config.get("tokenizer_class") or model_config.get("tokenizer_class")
    hub = hub.removesuffix("Fast") if isinstance(hub, str) else None
    registered = _MODEL_TYPES.get(model_type) if isinstance(model_type, str) else None
    if registered is None or registered == hub:
        return hub
    if registered == "":
        return "TokenizersBackend"
    if hub is None or model_type in _WRONG_HUB_CLASS:
        return registered
    return hub


def special_tokens(template: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """The named special tokens the class's ``__init__`` hands on (``{"pad_token": "[PAD]", ...}``): the
    folder's (``options``: strings or ``tokenizers.AddedToken``), else the class's defaults; MPNet makes each
    an AddedToken, its mask token taking the space before it, CamemBERT its mask token. A folder read as
    written (``template`` None) has its own only."""
    from tokenizers import AddedToken

    from .added_tokens import NAMED

    named = {**_SPECIAL_DEFAULTS.get(template or "", {})}
    named.update((key, options[key]) for key in NAMED if options.get(key) is not None)
    for key, value in named.items():
        if isinstance(value, str) and template == "mpnet":
            named[key] = AddedToken(value, lstrip=key == "mask_token", rstrip=False)
        elif isinstance(value, str) and template == "camembert" and key == "mask_token":
            named[key] = AddedToken(value, lstrip=True, special=True)
    return named


def extra_special_tokens(template: str | None, options: dict[str, Any]) -> Any:
    """The unnamed special tokens the class hands on: the folder's ``extra_special_tokens``
    (tokenizer_config.json's, its older ``additional_special_tokens`` included) where it lists the key, else
    the ``additional_special_tokens`` the class's ``__init__`` passes: special_tokens_map.json's, else the
    class's defaults (CamemBERT's ``<s>NOTUSED`` ones; T5's sentinels ``<extra_id_0>`` ... for
    ``extra_ids``, default 100, appended to a list without any), as ``TokenizersBackend.__init__`` keeps
    the first over the second."""
    passed = options.get("additional_special_tokens")
    if template == "camembert" and passed is None:
        passed = list(_CAMEMBERT_EXTRAS)
    elif template == "t5":
        extra_ids = options.get("extra_ids")
        sentinels = [f"<extra_id_{i}>" for i in range(100 if extra_ids is None else extra_ids)]
        if passed is None:
            passed = sentinels
        elif not any("<extra_id_" in str(token) for token in passed):
            passed = [*passed, *sentinels]
    return options["extra_special_tokens"] if "extra_special_tokens" in options else passed


def apply_class_template(backend: Any, template: str, options: dict[str, Any]) -> None:
    """Set ``backend``'s normalizer, pre-tokenizer, decoder and (where the class sets one) post-processor as
    the class's ``__init__`` builds them from ``options`` (tokenizer_config.json, special_tokens_map.json's
    tokens under it); the vocabulary stays the file's."""
    _TEMPLATES[template](
        backend, _Options(options, _precompiled(backend.normalizer), _SPECIAL_DEFAULTS[template])
    )


class _Options:
    """tokenizer_config.json's values as the class's ``__init__`` receives them."""

    def __init__(self, options: dict[str, Any], precompiled: Any, defaults: dict[str, str]) -> None:
        self.options = options
        self.precompiled = precompiled  # the file's SentencePiece charsmap normalizer (kept), or None
        self.defaults = defaults  # the class's special tokens

    def get(self, key: str, default: Any = None) -> Any:
        value = self.options.get(key)
        return default if value is None else value

    def token(self, key: str) -> str:
        """A named special token's text: the folder's (a string, a serialized or a ``tokenizers.AddedToken``),
        else the class's."""
        value = self.options.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        elif value is not None and hasattr(value, "content"):
            value = value.content
        return value if isinstance(value, str) else self.defaults[key]


def _precompiled(normalizer: Any) -> Any:
    """The SentencePiece charsmap step of a file's normalizer, which transformers keeps, or None."""
    from tokenizers import normalizers

    steps = list(normalizer) if isinstance(normalizer, normalizers.Sequence) else [normalizer]
    return next((step for step in steps if isinstance(step, normalizers.Precompiled)), None)


def _byte_level(backend: Any) -> bool:
    """Whether the file's pre-tokenizer or decoder is byte-level (a Llama 3 style tokenizer)."""

    def kinds(step: Any) -> set[str]:
        if not isinstance(step, dict):
            return set()
        inner = step.get("pretokenizers") or step.get("decoders") or []
        return {step.get("type", ""), *(kind for item in inner for kind in kinds(item))}

    parts = (backend.pre_tokenizer, backend.decoder)
    return any("ByteLevel" in kinds(json.loads(part.__getstate__())) for part in parts if part is not None)


def _id(backend: Any, token: str, fallback: int | None = None) -> int | None:
    found = backend.token_to_id(token)
    return fallback if found is None else found


def _wordpiece(backend: Any, o: _Options) -> None:
    from tokenizers import decoders, normalizers, pre_tokenizers

    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=o.get("tokenize_chinese_chars", True),
        strip_accents=o.options.get("strip_accents"),
        lowercase=o.get("do_lower_case", True),
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")


def _cls_sep(backend: Any, o: _Options, cls_default: int, sep_default: int) -> None:
    """BERT's post-processor, ``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]`` with segment ids 0 then 1 (the
    ids the vocabulary gives the class's tokens, else the defaults)."""
    from tokenizers import processors

    cls, sep = o.token("cls_token"), o.token("sep_token")
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, _id(backend, cls, cls_default)), (sep, _id(backend, sep, sep_default))],
    )


def _bert(backend: Any, o: _Options) -> None:
    _wordpiece(backend, o)
    _cls_sep(backend, o, 2, 3)


def _mpnet(backend: Any, o: _Options) -> None:
    from tokenizers import processors

    _wordpiece(backend, o)
    cls, sep = o.token("cls_token"), o.token("sep_token")
    backend.post_processor = processors.RobertaProcessing(
        (sep, _id(backend, sep, 2)), (cls, _id(backend, cls, 0)), True, False
    )


def _byte_level_bpe(backend: Any, o: _Options) -> None:
    from tokenizers import decoders, pre_tokenizers

    backend.normalizer = None
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=o.get("add_prefix_space", False))
    backend.decoder = decoders.ByteLevel()


def _roberta(backend: Any, o: _Options) -> None:
    from tokenizers import processors

    _byte_level_bpe(backend, o)
    cls, sep = o.token("cls_token"), o.token("sep_token")
    backend.post_processor = processors.RobertaProcessing(
        (sep, _id(backend, sep)),
        (cls, _id(backend, cls)),
        o.get("trim_offsets", True),
        o.get("add_prefix_space", False),
    )


def _qwen2(backend: Any, o: _Options) -> None:
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers

    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=o.get("add_prefix_space", False), use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()


def _metaspace_words(backend: Any, prepend_scheme: str) -> None:
    from tokenizers import decoders, pre_tokenizers

    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend_scheme, split=True),
        ]
    )
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=prepend_scheme)


def _xlm_roberta(backend: Any, o: _Options) -> None:
    """XLM-R and CamemBERT: the file's charsmap, words split on whitespace, ``<s> A </s></s> B </s>``."""
    from tokenizers import processors

    backend.normalizer = o.precompiled
    _metaspace_words(backend, "always" if o.get("add_prefix_space", True) else "never")
    bos, eos = o.token("bos_token"), o.token("eos_token")
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, _id(backend, bos)), (eos, _id(backend, eos))],
    )


def _albert(backend: Any, o: _Options) -> None:
    from tokenizers import normalizers, processors

    steps = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
    if not o.get("keep_accents", False):
        steps += [normalizers.NFKD(), normalizers.StripAccents()]
    if o.get("do_lower_case", True):
        steps.append(normalizers.Lowercase())
    precompiled = o.precompiled
    if precompiled is not None:
        steps.append(precompiled)
    backend.normalizer = normalizers.Sequence(steps)
    _metaspace_words(backend, "always" if o.get("add_prefix_space", True) else "never")
    cls, sep = o.token("cls_token"), o.token("sep_token")
    backend.post_processor = processors.TemplateProcessing(  # the class names them literally
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", _id(backend, cls)), ("[SEP]", _id(backend, sep))],
    )


def _deberta_v2(backend: Any, o: _Options) -> None:
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers

    steps = [normalizers.Lowercase()] if o.get("do_lower_case", False) else []
    steps += [
        normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "),
        normalizers.NFC(),
        normalizers.Strip(left=False, right=True),
    ]
    backend.normalizer = normalizers.Sequence(steps)
    scheme = "always" if o.get("add_prefix_space", True) else "first"
    words = [pre_tokenizers.Punctuation(behavior="isolated")] if o.get("split_by_punct", False) else []
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [*words, pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme)]
    )
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme)
    _cls_sep(backend, o, 0, 0)


def _t5(backend: Any, o: _Options) -> None:
    from tokenizers import processors

    backend.normalizer = o.precompiled
    _metaspace_words(backend, "always")
    backend.post_processor = processors.TemplateProcessing(  # "</s>" literally, the eos token's id
        single=["$A", "</s>"],
        pair=["$A", "</s>", "$B", "</s>"],
        special_tokens=[("</s>", _id(backend, o.token("eos_token")))],
    )


def _llama(backend: Any, o: _Options) -> None:
    """Llama: no normalizer, a Metaspace prefix on the first word only (``legacy=False``, the default) or
    on each part between special tokens (``legacy=True``); its post-processor is the file's."""
    from tokenizers import decoders, pre_tokenizers

    add_prefix_space = o.get("add_prefix_space", True)
    scheme = ("first" if not o.get("legacy", False) else "always") if add_prefix_space else "never"
    backend.normalizer = None
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme, split=False)
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    backend.decoder = decoders.Sequence([*steps, *([decoders.Strip(" ", 1, 0)] if add_prefix_space else [])])


def _gemma(backend: Any, o: _Options) -> None:
    from tokenizers import decoders, normalizers, pre_tokenizers

    backend.normalizer = normalizers.Replace(" ", "▁")
    backend.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous", invert=False)
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    backend.decoder = decoders.Sequence(steps)


_TEMPLATES: dict[str, Callable[[Any, _Options], None]] = {
    "bert": _bert,
    "mpnet": _mpnet,
    "roberta": _roberta,
    "gpt2": _byte_level_bpe,
    "qwen2": _qwen2,
    "xlm_roberta": _xlm_roberta,
    "camembert": _xlm_roberta,
    "albert": _albert,
    "deberta_v2": _deberta_v2,
    "t5": _t5,
    "llama": _llama,
    "gemma": _gemma,
}
