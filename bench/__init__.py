"""Benchmarks (`make bench`): each module here with `SECTION` and `run(args)` is one section.

`python -m bench.run` runs every section module (or those named with --only) and writes each
one's Markdown between its own markers in docs/benchmarks.md, leaving other sections alone.
"""
