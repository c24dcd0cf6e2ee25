"""Models saved before crossplan was one namespace still load: their pickles and stored code
name ``models.…``, ``optimize.…``, ``pipelines.…`` and ``serving.…``.

:func:`old_module_paths` makes those names the modules of ``crossplan`` while a model loads,
and only then: outside it a bare ``models`` is whatever else is installed under that name.
Every model crossplan loads goes through it (the MLflow champion, the local copy). Models
saved since name ``crossplan.…`` and need none of it; it goes on :data:`DROP_AFTER`, by
when every registered model has been retrained.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

__all__ = ["DROP_AFTER", "OLD_PACKAGES", "old_module_paths"]

#: The packages that were top-level before the namespace.
OLD_PACKAGES = ("models", "optimize", "pipelines", "serving")
#: When this alias goes: retrain (``crossplan train``) any model registered before then.
DROP_AFTER = "2027-06-30"
_NAMESPACE = "crossplan"
_LOCK = threading.RLock()


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``models.x`` as the module ``crossplan.models.x`` itself (one module, two names,
    so that a class unpickled by its old name is the class of the new one)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] not in OLD_PACKAGES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(f"{_NAMESPACE}.{spec.name}")

    def exec_module(self, module: ModuleType) -> None:
        """The module is the namespace's, already executed."""


@contextmanager
def old_module_paths() -> Iterator[None]:
    """While inside, ``models.x`` (and the other old names) import ``crossplan.models.x``.

    Names of another package already imported (another project's ``models``) are left as
    they are, and every name added is removed on the way out.
    """
    with _LOCK:
        before = {name for name in sys.modules if name.split(".")[0] in OLD_PACKAGES}
        finder = _Alias()
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
            for name in [n for n in sys.modules if n.split(".")[0] in OLD_PACKAGES]:
                if name not in before:
                    del sys.modules[name]
