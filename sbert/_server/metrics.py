"""Prometheus metrics, written in the text exposition format (version 0.0.4) without a client library.

Counters, gauges and histograms with labels, safe to update from the batcher threads. ``ServerMetrics``
holds the ones the server reports; ``render()`` gives the ``/metrics`` body.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.label_names = name, help, labels
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[tuple[str, ...], float] = {} if labels else {(): 0.0}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class Gauge(_Metric):
    """A value read when scraped, from ``read`` (a callable) or set with ``set``."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        help: str,
        read: Callable[[], Iterable[tuple[tuple[str, ...], float]]] | None = None,
        labels: tuple[str, ...] = (),
    ) -> None:
        super().__init__(name, help, labels)
        self._read = read
        self._values: dict[tuple[str, ...], float] = {}

    def set(self, value: float, *labels: str) -> None:
        with self._lock:
            self._values[labels] = value

    def lines(self) -> list[str]:
        with self._lock:
            items = list(self._values.items())
        if self._read is not None:
            items += list(self._read())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in sorted(items)]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: Iterable[float], labels: tuple[str, ...] = ()) -> None:
        super().__init__(name, help, labels)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._series: dict[tuple[str, ...], list[float]] = {}  # per label set: bucket counts, then sum

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            series = self._series.setdefault(labels, [0.0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1  # counts are per bucket here, made cumulative when rendered
                    break
            series[-1] += value

    def count(self, *labels: str) -> int:
        return int(sum(self._series.get(labels, [0.0])[:-1]))

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        out = []
        for labels, series in items:
            total = 0.0
            for bound, n in zip(self.buckets, series):
                total += n
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, labels, le)} {_number(total)}")
            out.append(f"{self.name}_sum{_labels(self.label_names, labels)} {_number(series[-1])}")
            out.append(f"{self.name}_count{_labels(self.label_names, labels)} {_number(total)}")
        return out


class RateWindow:
    """Events per second over the last ``seconds`` (e.g. tokens/s), for a gauge."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = seconds
        self._events: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, amount: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._events.append((now, amount))
            self._trim(now)

    def rate(self) -> float:
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            return sum(amount for _, amount in self._events) / self.seconds

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.seconds:
            self._events.popleft()


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_TOKEN_BUCKETS = (64, 256, 1024, 2048, 4096, 8192, 16384, 32768)


class ServerMetrics:
    """The metrics the server reports; the batcher and the HTTP layer update them."""

    def __init__(
        self,
        queue_depth: Callable[[], Iterable[tuple[tuple[str, ...], float]]],
        in_flight: Callable[[], float],
    ) -> None:
        self.requests = Counter(
            "sbert_requests_total", "HTTP requests answered, by route and status.", ("route", "status")
        )
        self.request_seconds = Histogram(
            "sbert_request_duration_seconds",
            "Time from request to response, by route.",
            _LATENCY_BUCKETS,
            ("route",),
        )
        self.rejected = Counter(
            "sbert_rejected_requests_total", "Requests refused before any work, by reason.", ("reason",)
        )
        self.queue_seconds = Histogram(
            "sbert_queue_duration_seconds",
            "Time inputs waited in the queue before their batch ran.",
            _LATENCY_BUCKETS,
            ("model",),
        )
        self.batch_seconds = Histogram(
            "sbert_batch_duration_seconds", "Model time per batch.", _LATENCY_BUCKETS, ("model",)
        )
        self.batch_texts = Histogram("sbert_batch_size", "Texts per batch.", _SIZE_BUCKETS, ("model",))
        self.batch_tokens = Histogram(
            "sbert_batch_tokens", "Padded tokens per batch.", _TOKEN_BUCKETS, ("model",)
        )
        self.search_seconds = Histogram(
            "sbert_search_duration_seconds",
            "Index search time per /search request (after its queries are embedded).",
            _LATENCY_BUCKETS,
        )
        self.texts = Counter("sbert_embedded_texts_total", "Texts embedded.", ("model",))
        self.tokens = Counter("sbert_embedded_tokens_total", "Tokens embedded (without padding).", ("model",))
        self._token_rate = RateWindow()
        self.tokens_per_second = Gauge(
            "sbert_tokens_per_second",
            "Tokens embedded per second over the last 10 s.",
            read=lambda: [((), self._token_rate.rate())],
        )
        self.queue_depth = Gauge(
            "sbert_queue_depth", "Inputs waiting for a batch, by model.", read=queue_depth, labels=("model",)
        )
        self.in_flight = Gauge(
            "sbert_requests_in_flight", "Requests being handled now.", read=lambda: [((), in_flight())]
        )

    def record_batch(self, model: str, texts: int, tokens: int, padded: int, seconds: float) -> None:
        self.batch_texts.observe(texts, model)
        self.batch_tokens.observe(padded, model)
        self.batch_seconds.observe(seconds, model)
        self.texts.inc(model, amount=texts)
        self.tokens.inc(model, amount=tokens)
        self._token_rate.add(tokens)

    def render(self) -> bytes:
        metrics = (
            self.requests,
            self.request_seconds,
            self.rejected,
            self.in_flight,
            self.queue_depth,
            self.queue_seconds,
            self.batch_texts,
            self.batch_tokens,
            self.batch_seconds,
            self.search_seconds,
            self.texts,
            self.tokens,
            self.tokens_per_second,
        )
        lines: list[str] = []
        for metric in metrics:
            lines += metric.header() + metric.lines()
        return ("\n".join(lines) + "\n").encode()
