"""Pipelines from files: the pipeline-file model and its checks, and the runner of `run`."""
