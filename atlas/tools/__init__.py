"""The tools: the command line, `atlas explain`, the benchmarks and the
fuzzing campaign, each driving the pipeline.
"""
