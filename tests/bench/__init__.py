"""Smoke tests for scripts/bench.py (never timing assertions)."""
