"""Prometheus metrics of one API process (its own registry: two apps in one process, as in
the tests, never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("memory_api_requests_total", "API requests by route and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("memory_api_request_seconds", "API request latency by route",
                                 ["route"], registry=r,
                                 buckets=(.001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))
        self.cache = Counter("memory_api_cache_total", "Response cache lookups", ["result"],
                             registry=r)
        self.store_rows = Gauge("memory_store_rows", "Rows in the store", ["what"], registry=r)
        self.store_bytes = Gauge("memory_store_bytes", "Size of the store's database file",
                                 registry=r)
        self.ingest_runs = Gauge("memory_ingest_runs", "Ingest runs recorded, by status",
                                 ["status"], registry=r)
        self.ingest_errors = Gauge("memory_ingest_errors", "Bad records of the latest run",
                                   registry=r)
        self.backup_age = Gauge("memory_last_backup_age_seconds",
                                "Age of the newest backup (-1: none, or no target)", registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
