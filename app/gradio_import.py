"""Import gradio without rewriting its type stubs.

On every import, gradio's component metaclass re-parses each component's source with `ast` to regenerate the
`.pyi` stubs beside it in site-packages (`component_meta.create_or_modify_pyi`): editor type hints for people
writing custom components. It is half of `import gradio` here (~1.5 of ~3.3 s on 2 cores) and no setting turns it
off, so the studio replaces it with a no-op as the module loads. Nothing at run time reads those stubs.
"""

import importlib.abc
import importlib.machinery
import sys

MODULE = "gradio.component_meta"


class _SkipStubs(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        sys.meta_path.remove(self)  # once: the normal finders do the rest
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        self._loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        if callable(getattr(module, "create_or_modify_pyi", None)):  # a later gradio without it: import as is
            module.create_or_modify_pyi = _no_stubs


def _no_stubs(*args, **kwargs) -> None:
    return None


def skip_stub_writing() -> None:
    """Install the hook, unless gradio's components are already imported (then there is nothing left to save)."""
    if MODULE not in sys.modules and not any(isinstance(f, _SkipStubs) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipStubs())
