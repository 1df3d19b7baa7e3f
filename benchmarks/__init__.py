"""The benchmark suite: ``python -m benchmarks`` (``make bench``). See docs/PERFORMANCE.md."""
