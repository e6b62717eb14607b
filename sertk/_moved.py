"""Old module paths that still import, with a DeprecationWarning.

sertk's modules moved into folders that show the data path (audio ->
features -> models -> evaluation / timeline -> io -> cli). Code (and model
files pickled before the move) that imports an old path such as
``sertk.classifier`` gets the module at its new place, the same object, and
a :class:`DeprecationWarning` naming it. One import hook does this for every
old path, so no stub module is left at the package's root.

``sertk.evaluate`` is the function :func:`sertk.evaluate` only: its module
is :mod:`sertk.evaluation.protocols`, and importing ``sertk.evaluate`` as a
module raises an ImportError that says so.

Examples
--------
>>> new_name("sertk.classifier"), new_name("sertk.contours.pitch")
('sertk.models.classifier', 'sertk.features.contours.pitch')
"""

import importlib
import sys
import warnings
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec

#: Old module path -> where the module is now (submodules follow).
MOVED = {
    "sertk._batch": "sertk.features._batch",
    "sertk._dask": "sertk.features._dask",
    "sertk._summary": "sertk.features._summary",
    "sertk.augment": "sertk.models.augment",
    "sertk.classifier": "sertk.models.classifier",
    "sertk.contours": "sertk.features.contours",
    "sertk.datasets": "sertk.io.datasets",
    "sertk.extract": "sertk.features.extractor",
    "sertk.feature_sets": "sertk.features.feature_sets",
    "sertk.functionals": "sertk.features.functionals",
    "sertk.normalize": "sertk.models.normalize",
    "sertk.novelty": "sertk.models.novelty",
    "sertk.persistence": "sertk.io.model_files",
    "sertk.predict": "sertk.timeline.files",
    "sertk.tables": "sertk.features.tables",
}

#: Old module paths that now name a public function, not a module.
RETIRED = {"sertk.evaluate": "sertk.evaluation.protocols"}

__all__ = ["MOVED", "RETIRED", "install", "new_name"]


def new_name(name: str) -> str | None:
    """Return where the module once imported as ``name`` is now, or None.

    Examples
    --------
    >>> new_name("sertk.contours.pitch")
    'sertk.features.contours.pitch'
    >>> new_name("sertk.errors") is None
    True
    """
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


class _MovedFinder(MetaPathFinder, Loader):
    """Find an old module path; load it as the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in RETIRED:
            raise ModuleNotFoundError(
                f"{fullname} is the function sertk.evaluate, not a module; its "
                f"module is {RETIRED[fullname]} (import from there)", name=fullname)
        if new_name(fullname) is None:
            return None
        return ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None  # a placeholder, replaced in sys.modules by exec_module

    def exec_module(self, module) -> None:
        new = new_name(module.__name__)
        warnings.warn(f"{module.__name__} moved to {new}; import it from there "
                      "(the old path will be removed)", DeprecationWarning,
                      stacklevel=2)  # the import system's frames are skipped
        # The import system returns what sys.modules holds after exec_module.
        sys.modules[module.__name__] = importlib.import_module(new)


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
