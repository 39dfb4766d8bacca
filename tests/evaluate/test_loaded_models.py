"""The generation child's models: at most `keep` held, the least recently used freed first."""

from core.evaluate.generator_process import LoadedModels


class Model:
    def __init__(self, model, adapter, trust):
        self.key, self.closed = (model, adapter, trust), False

    def close(self):
        self.closed = True


def test_the_least_recently_used_model_is_freed_first():
    loads = []
    models = LoadedModels(2, load=lambda *key: loads.append(key) or Model(*key))
    base, first, second = ("bundled", None, False), ("bundled", "a1", False), ("bundled", "a2", False)
    held_base = models.get(base)  # the playground: the base, then an adapter beside it
    held_first = models.get(first)
    assert models.get(base) is held_base  # asked again: held, now the most recently used
    models.get(second)  # another adapter: the first one goes, not the base loaded before it
    assert held_first.closed and not held_base.closed
    assert base in models and second in models and first not in models
    models.get(base)
    assert loads == [base, first, second]  # the base was never loaded twice
