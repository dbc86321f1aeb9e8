"""Benchmarks for kpi-bot: ``python -m benchmarks.<name> [--quick]`` (see README.md)."""
