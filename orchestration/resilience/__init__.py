"""Resilience: retry with backoff and jitter, and a circuit breaker that holds across jobs."""
