"""timeit comparison scripts; each runs as a script and as fastblas.benchmarks.NAME."""
