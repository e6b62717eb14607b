"""The feature row of one signal: its contours computed once, summarised by span.

The numerical core under :func:`sertk.features.extractor.extract_signal`,
:func:`sertk.features.extractor.extract_windows` and the per-file work of
:func:`sertk.features.extractor.iter_extract`: arrays in, arrays out. It imports neither
pandas nor scikit-learn, so the worker processes that run it stay light.

Examples
--------
>>> import numpy as np
>>> from sertk.features.feature_sets import get_feature_set
>>> from sertk.settings import AnalysisSettings
>>> t = np.arange(16000) / 16000
>>> summary = Summary(0.3 * np.sin(2 * np.pi * 200 * t),
...                   get_feature_set("minimal"), AnalysisSettings())
>>> summary.row().shape, summary.row(slice(0, 50)).shape
((114,), (114,))
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from ..settings import AnalysisSettings
from .contours import DESCRIPTOR_GROUPS, Analysis, compute_group, contour_values
from .feature_sets import FeatureSet
from .functionals import compute_functionals

__all__ = ["Summary", "feature_row", "one_blas_thread"]


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once


def one_blas_thread():
    """Limit BLAS to one thread while extracting (a context manager).

    Our matrices are small: more threads only compete with the worker
    processes, and slow even a single process down.

    Returns
    -------
    context manager
        Restores the previous limits on exit.

    Examples
    --------
    >>> with one_blas_thread():
    ...     pass
    """
    return _threadpools().limit(limits=1)


class Summary:
    """The contours of one signal, computed once, summarised over any span.

    Parameters
    ----------
    signal : np.ndarray, shape (n,)
        Mono signal at ``settings.sr``, finite samples (as
        :func:`sertk.audio.reading.prepare_signal` returns it).
    feature_set : FeatureSet
        Which contours, functionals and descriptors make the row.
    settings : AnalysisSettings
        Analysis parameters.
    """

    def __init__(self, signal: np.ndarray, feature_set: FeatureSet,
                 settings: AnalysisSettings):
        self.analysis = Analysis(signal, settings)
        self.settings = settings
        self.feature_set = feature_set
        n_mfcc, n_mels = settings.n_mfcc, settings.n_mels
        groups = sorted(feature_set.groups(n_mfcc, n_mels))
        self.descriptor_groups = [g for g in groups if g in DESCRIPTOR_GROUPS]
        values: dict[str, np.ndarray] = {}
        for group in groups:
            if group not in DESCRIPTOR_GROUPS:
                values.update(compute_group(group, self.analysis))
        self.pairs = feature_set.expanded(n_mfcc, n_mels)
        self.wanted = {f for _, functionals in self.pairs for f in functionals}
        self.matrix = (np.vstack([contour_values(c, values, self.analysis)
                                  for c, _ in self.pairs])
                       if self.pairs else np.empty((0, self.analysis.n_frames)))

    def row(self, frames: slice | None = None) -> np.ndarray:
        """Return the feature row of the whole signal, or of a span of frames.

        Parameters
        ----------
        frames : slice, optional
            Frames to summarise; all when omitted.

        Returns
        -------
        np.ndarray, shape (n_features,)
            In ``feature_set.feature_names()`` order; NaN where undefined
            (never inf).
        """
        row: list[float] = []
        if self.pairs:
            matrix = self.matrix if frames is None else self.matrix[:, frames]
            stats = compute_functionals(matrix, self.settings.hop_seconds,
                                        self.wanted)
            row = [stats[f][i] for i, (_, functionals) in enumerate(self.pairs)
                   for f in functionals]
        descriptors: dict[str, float] = {}
        for group in self.descriptor_groups:
            descriptors.update(compute_group(group, self.analysis, frames))
        row.extend(descriptors[name] for name in self.feature_set.descriptors)
        out = np.asarray(row, dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out


def feature_row(signal: np.ndarray, feature_set: FeatureSet,
                settings: AnalysisSettings) -> np.ndarray:
    """Return the feature row of a whole signal.

    Parameters
    ----------
    signal : np.ndarray, shape (n,)
        Mono signal at ``settings.sr``, finite samples.
    feature_set : FeatureSet
        The feature set.
    settings : AnalysisSettings
        Analysis parameters.

    Returns
    -------
    np.ndarray, shape (n_features,)
        NaN where undefined.

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.features.feature_sets import get_feature_set
    >>> from sertk.settings import AnalysisSettings
    >>> feature_row(np.zeros(16000), get_feature_set("minimal"),
    ...             AnalysisSettings()).shape
    (114,)
    """
    return Summary(signal, feature_set, settings).row()
