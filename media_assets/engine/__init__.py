"""The media pipeline for one file and for a batch of files, on the Ittybit client alone.

Dagster calls into this room; this room knows nothing of Dagster, so the same code serves a UI run,
a ranged backfill run and the benchmarks.
"""
