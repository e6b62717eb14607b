"""The libraries of an extraction worker, imported when this module is.

The forkserver of a local Dask cluster that sertk starts imports this module
once (:func:`multiprocessing.set_forkserver_preload`); the workers it forks
then share those pages instead of each importing librosa, numba and Praat
into memory of its own.

Examples
--------
>>> import sys
>>> import sertk.features._worker_libraries
>>> "librosa.feature.spectral" in sys.modules and "parselmouth" in sys.modules
True
"""

from __future__ import annotations

import parselmouth  # noqa: F401  (imported for the workers it is shared with)

from sertk.features import _batch  # noqa: F401
from sertk.features.contours._librosa import import_spectral

import_spectral()
