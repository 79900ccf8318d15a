"""The names of sentence-transformers' loggers, for sbert's records that are its notices.

Code written for sentence-transformers configures its logging by logger name: ``logging.getLogger(
"sentence_transformers").setLevel(logging.ERROR)`` to quiet it, or a handler on one module's logger. A record
sbert gives in sentence-transformers' place goes out on the logger sentence-transformers gives it on (the
module that logs it there), so those settings reach it as there. sbert's own notices stay on ``sbert.*``.
One table here: the modules that log name it, nothing on a hot path asks for it.
"""

from __future__ import annotations

# the model classes' shared base: loading, prompts, save, older method names, hub uploads
ST_MODEL = "sentence_transformers.base.model"
# older argument names and positions (its argument decorators)
ST_DECORATORS = "sentence_transformers.util.decorators"
# CrossEncoder's own: the activation function read from a model's config
ST_CROSS_ENCODER_MODEL = "sentence_transformers.cross_encoder.model"
# the trainers' shared base, and their arguments
ST_TRAINER = "sentence_transformers.base.trainer"
ST_TRAINING_ARGS = "sentence_transformers.base.training_args"
# each trainer's own: the default loss it picks when none is given
ST_SENTENCE_TRANSFORMER_TRAINER = "sentence_transformers.sentence_transformer.trainer"
ST_CROSS_ENCODER_TRAINER = "sentence_transformers.cross_encoder.trainer"
ST_SPARSE_ENCODER_TRAINER = "sentence_transformers.sparse_encoder.trainer"
ST_MULTI_VECTOR_TRAINER = "sentence_transformers.multi_vector_encoder.trainer"
# the evaluators' result lines (INFO), once per evaluator call
ST_EMBEDDING_SIMILARITY = "sentence_transformers.sentence_transformer.evaluation.embedding_similarity"
ST_CROSS_ENCODER_CORRELATION = "sentence_transformers.cross_encoder.evaluation.correlation"
# MultiVectorEncoder's skiplist mask
ST_MULTI_VECTOR_MASK = "sentence_transformers.multi_vector_encoder.modules.multi_vector_mask"
# quantize_embeddings' note that it computed int8/uint8 buckets from a few embeddings
ST_QUANTIZATION = "sentence_transformers.util.quantization"
