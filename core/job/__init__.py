"""A job from start to end, in its own process: train (core.train), then, when the job asks for it, evaluate
(core.evaluate) before the job's ending is written. The engine starts it by module name (`python -m
core.job.worker FOLDER`); nothing imports it. It may use every stage below export.
"""
