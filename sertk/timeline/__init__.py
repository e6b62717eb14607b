"""Applying a model: whole files, windows, voice activity, smoothing, plots.

:mod:`sertk.timeline.files` gives one row a file (:func:`predict_files`);
:mod:`sertk.timeline.windows` one row a window (:func:`predict_timeline`),
its smoothing and plot; :mod:`sertk.timeline.live` the same rows from audio
as it arrives (:func:`stream`, from :mod:`~sertk.timeline.pcm` pipes and
:mod:`~sertk.timeline.microphone` devices), and :func:`causal_timeline` from
a file analysed the same way. Both take a fitted model as an argument; they import
from :mod:`sertk.audio`, :mod:`sertk.features` and the shared ground, never
from :mod:`sertk.evaluation`, :mod:`sertk.io` or :mod:`sertk.cli`.

Examples
--------
>>> from sertk.timeline import SILENCE
>>> SILENCE
'silence'
"""

from sertk.timeline.files import predict_files
from sertk.timeline.live import causal_timeline, stream
from sertk.timeline.windows import (
    CONTEXT,
    REFERENCE_PERCENTILE,
    SILENCE,
    VAD_THRESHOLD_DB,
    plot_timeline,
    predict_timeline,
    smooth_timeline,
    window_features,
)

__all__ = [
    "CONTEXT",
    "REFERENCE_PERCENTILE",
    "SILENCE",
    "VAD_THRESHOLD_DB",
    "causal_timeline",
    "plot_timeline",
    "predict_files",
    "predict_timeline",
    "smooth_timeline",
    "stream",
    "window_features",
]
