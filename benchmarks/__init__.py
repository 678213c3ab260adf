"""Runnable benchmarks: `python -m benchmarks.<name>` prints a table, `--json FILE` saves it."""
