"""Tests of core.train and core.job: the engine and its worker process, batching, estimates, models, restarts, disk
trouble, and the GPU tests (pytest -m gpu / -m multigpu).
"""
