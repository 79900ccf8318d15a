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
# the input modules' shared base: their older ``tokenize`` (a module's, not the model's)
ST_INPUT_MODULE = "sentence_transformers.base.modules.input_module"
# the Transformer module's: a call's processing_kwargs keys it ignores
ST_TRANSFORMER = "sentence_transformers.base.modules.transformer"
# the MaxSim scores: a document without a token to score
ST_SIMILARITY = "sentence_transformers.util.similarity"
# the sparse encoder's older input module: its deprecation notice when a caller makes one
ST_MLM_TRANSFORMER = "sentence_transformers.sparse_encoder.modules.mlm_transformer"
# SentenceTransformer's own: the INSTRUCTOR pooling notice at load
ST_SENTENCE_TRANSFORMER_MODEL = "sentence_transformers.sentence_transformer.model"
# older argument names and positions (its argument decorators)
ST_DECORATORS = "sentence_transformers.util.decorators"
# CrossEncoder's own: the activation function read from a model's config
ST_CROSS_ENCODER_MODEL = "sentence_transformers.cross_encoder.model"
# transformers' Trainer, whose notices sentence-transformers' trainers give from their run loop
HF_TRAINER = "transformers.trainer"
# the batch samplers: NoDuplicatesBatchSampler's notice that a pass fell short of its length
ST_SAMPLER = "sentence_transformers.base.sampler"
# the trainers' shared base, and their arguments
ST_TRAINER = "sentence_transformers.base.trainer"
ST_TRAINING_ARGS = "sentence_transformers.base.training_args"
# each trainer's own: the default loss it picks when none is given
ST_SENTENCE_TRANSFORMER_TRAINER = "sentence_transformers.sentence_transformer.trainer"
ST_CROSS_ENCODER_TRAINER = "sentence_transformers.cross_encoder.trainer"
ST_SPARSE_ENCODER_TRAINER = "sentence_transformers.sparse_encoder.trainer"
ST_MULTI_VECTOR_TRAINER = "sentence_transformers.multi_vector_encoder.trainer"
# the classic SentenceTransformer.fit: the options it no longer honours
ST_FIT_MIXIN = "sentence_transformers.sentence_transformer.fit_mixin"
# the classic SentenceLabelDataset: the labels it keeps
ST_SENTENCE_LABEL_DATASET = "sentence_transformers.sentence_transformer.datasets.sentence_label"
# the evaluators' result lines (INFO), once per evaluator call: each evaluator module's own logger
_ST_EVALUATION = "sentence_transformers.sentence_transformer.evaluation."
ST_EMBEDDING_SIMILARITY = _ST_EVALUATION + "embedding_similarity"
ST_BINARY_CLASSIFICATION = _ST_EVALUATION + "binary_classification"
ST_TRIPLET = _ST_EVALUATION + "triplet"
ST_INFORMATION_RETRIEVAL = _ST_EVALUATION + "information_retrieval"
ST_RERANKING = _ST_EVALUATION + "reranking"
ST_PARAPHRASE_MINING = _ST_EVALUATION + "paraphrase_mining"
ST_MSE = _ST_EVALUATION + "mse"
ST_TRANSLATION = _ST_EVALUATION + "translation"
ST_LABEL_ACCURACY = _ST_EVALUATION + "label_accuracy"
ST_NANOBEIR = _ST_EVALUATION + "nano_beir"  # also the sparse and multi-vector NanoBEIR evaluators' lines
_ST_CROSS_ENCODER_EVALUATION = "sentence_transformers.cross_encoder.evaluation."
ST_CROSS_ENCODER_CORRELATION = _ST_CROSS_ENCODER_EVALUATION + "correlation"
ST_CROSS_ENCODER_CLASSIFICATION = _ST_CROSS_ENCODER_EVALUATION + "classification"
ST_CROSS_ENCODER_RERANKING = _ST_CROSS_ENCODER_EVALUATION + "reranking"
ST_CROSS_ENCODER_NANOBEIR = _ST_CROSS_ENCODER_EVALUATION + "nano_beir"
# the sparse evaluators' sparsity lines, after their dense parent's lines
_ST_SPARSE_EVALUATION = "sentence_transformers.sparse_encoder.evaluation."
ST_SPARSE_EMBEDDING_SIMILARITY = _ST_SPARSE_EVALUATION + "sparse_embedding_similarity"
ST_SPARSE_BINARY_CLASSIFICATION = _ST_SPARSE_EVALUATION + "sparse_binary_classification"
ST_SPARSE_TRIPLET = _ST_SPARSE_EVALUATION + "sparse_triplet"
ST_SPARSE_INFORMATION_RETRIEVAL = _ST_SPARSE_EVALUATION + "sparse_information_retrieval"
ST_SPARSE_RERANKING = _ST_SPARSE_EVALUATION + "sparse_reranking"
ST_SPARSE_MSE = _ST_SPARSE_EVALUATION + "sparse_mse"
ST_SPARSE_TRANSLATION = _ST_SPARSE_EVALUATION + "sparse_translation"
ST_SPARSE_NANOBEIR = _ST_SPARSE_EVALUATION + "sparse_nano_beir"
# SparseEncoder's own: the architecture it detects in a plain Hugging Face folder
ST_SPARSE_ENCODER_MODEL = "sentence_transformers.sparse_encoder.model"
# MultiVectorEncoder's own: the new token projection of a plain Hugging Face folder
ST_MULTI_VECTOR_MODEL = "sentence_transformers.multi_vector_encoder.model"
# the multi-vector distillation evaluator's and the hybrid (RRF) evaluator's result lines
ST_MULTI_VECTOR_DISTILLATION = "sentence_transformers.multi_vector_encoder.evaluation.distillation"
ST_RECIPROCAL_RANK_FUSION = _ST_SPARSE_EVALUATION + "reciprocal_rank_fusion"
# MultiVectorEncoder's skiplist mask
ST_MULTI_VECTOR_MASK = "sentence_transformers.multi_vector_encoder.modules.multi_vector_mask"
# a gather outside a torch.distributed process group (util.all_gather, the losses' gather_across_devices)
ST_DISTRIBUTED = "sentence_transformers.util.distributed"
# quantize_embeddings' note that it computed int8/uint8 buckets from a few embeddings
ST_QUANTIZATION = "sentence_transformers.util.quantization"
# DenoisingAutoEncoderLoss: the decoder name it ignores when the decoder is tied to the encoder
ST_DENOISING_AUTO_ENCODER_LOSS = "sentence_transformers.sentence_transformer.losses.denoising_auto_encoder"
# BoW's and WordWeights' count of vocabulary words without a weight
ST_BOW = "sentence_transformers.sentence_transformer.modules.bow"
ST_WORD_WEIGHTS = "sentence_transformers.sentence_transformer.modules.word_weights"
