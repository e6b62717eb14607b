"""The one place versions are looked up: sertk's own, and the libraries' it records.

Examples
--------
>>> from sertk._version import __version__, package_version
>>> isinstance(__version__, str), package_version("no-such-package-here")
(True, 'not installed')
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sertk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__", "package_version"]


def package_version(name: str) -> str:
    """Return an installed distribution's version, or ``"not installed"``.

    Parameters
    ----------
    name : str
        Distribution name, such as ``"scikit-learn"``; ``"sertk"`` gives
        :data:`__version__`.

    Returns
    -------
    str
    """
    if name == "sertk":
        return __version__
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
