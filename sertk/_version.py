"""The one place sertk's version is looked up.

Examples
--------
>>> from sertk._version import __version__
>>> isinstance(__version__, str)
True
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sertk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
