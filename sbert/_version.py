# sbert's version is the sentence-transformers release whose API it is a drop-in for. Libraries branch on
# ``sentence_transformers.__version__`` (mteb calls encode_query / encode_document from 5.0 on, setfit reads
# the device its own way before 2.3), so code that imports sbert in its place takes the same paths and gets
# the same results. sbert's releases between two of those are post-releases (6.3.0.post1, ...).
__version__ = "6.3.0"
