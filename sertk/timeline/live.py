"""Live emotion: windows of audio that arrives in pieces, classified as each ends.

:func:`stream` takes audio as it arrives (from a pipe, a microphone, any
iterable of sample arrays) and yields one timeline row a window as soon as
the window's last sample is in. It applies the timeline's windows, voice
activity rule, analysis and model (:mod:`sertk.timeline`), looking at no
audio after a window's end:

- *Speech level.* The :data:`~sertk.timeline.REFERENCE_PERCENTILE`-th
  percentile of the levels of the 10 ms frames so far (those up to the
  window's end) above the model's ``floor_dbfs``, rather than of the whole
  recording, which a stream does not have yet. Frame levels are kept as a
  histogram of 0.01 dB steps, so memory stays constant however long the
  stream.
- *Features.* Each window is analysed with the 0.5 s before it
  (:data:`~sertk.timeline.CONTEXT`) and nothing after it.
- *Smoothing.* A window is averaged with the speech windows before it only.

The rows depend on the samples alone, never on how they were cut into
pieces; :func:`causal_timeline` feeds a file through the same analyser and
gives the same rows.

Examples
--------
>>> import numpy as np
>>> from sertk.models.classifier import EmotionClassifier
>>> from sertk.features.extractor import extract_windows
>>> sr, rng = 16000, np.random.default_rng(0)
>>> t = np.arange(6 * sr) / sr
>>> low = 0.3 * np.sin(2 * np.pi * 120 * t)
>>> high = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.normal(size=t.size)
>>> spans = [(s, s + 1.0) for s in np.arange(0, 5, 0.5)]
>>> X = pd.concat([extract_windows(x, sr, spans, feature_set="minimal")
...                for x in (low, high)])
>>> model = EmotionClassifier(speaker_norm=False).fit(
...     X, ["calm"] * len(spans) + ["anger"] * len(spans))
>>> audio = np.concatenate([low[:2 * sr], np.zeros(sr), high[:2 * sr]])
>>> pieces = np.array_split(audio, 37)  # any cut gives the same rows
>>> [row["label"] for row in stream(pieces, model, window=1.0, hop=1.0)]
['calm', 'calm', 'silence', 'anger', 'anger']
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

from ..audio.reading import MIN_DURATION, audio_duration
from ..errors import AudioError, ParameterError
from ..features.extractor import extract_windows
from .windows import (
    CONTEXT,
    REFERENCE_PERCENTILE,
    VAD_THRESHOLD_DB,
    VOICED,
    active_settings,
    check_options,
    model_analysis,
    smooth_timeline,
    speech_fractions,
    speech_mask,
    timeline_classes,
    timeline_table,
    window_bounds,
    window_outputs,
    with_voicing,
)

__all__ = ["causal_timeline", "row_columns", "stream"]

#: Resolution of the frame-level histogram (dB).
_STEP = 0.01

#: Frame levels kept in the histogram span this many dB above the floor.
_SPAN = 200.0

#: Seconds of exact digital zero at the start after which a stream is
#: said to be silent (a muted microphone, a wrong device).
_ZEROS_AFTER = 5.0

#: Share of samples at full scale above which a stream is said to clip.
_CLIPPING = 0.01

#: Seconds of file read at a time by :func:`causal_timeline`.
_READ_BLOCK = 10.0


class _LevelHistogram:
    """Percentiles of frame levels above a floor, in constant memory."""

    def __init__(self, floor_dbfs: float):
        self.floor = floor_dbfs
        self.counts = np.zeros(int(round(_SPAN / _STEP)) + 1, dtype=np.int64)

    def add(self, levels: np.ndarray) -> None:
        loud = levels[levels > self.floor]
        steps = np.minimum(np.floor((loud - self.floor) / _STEP),
                           self.counts.size - 1).astype(np.int64)
        self.counts += np.bincount(steps, minlength=self.counts.size)

    def speech_level(self) -> float:
        """:data:`REFERENCE_PERCENTILE`-th percentile (the floor when empty).

        Linear interpolation between order statistics, as numpy's default,
        each level taken at the middle of its 0.01 dB step.
        """
        total = int(self.counts.sum())
        if total == 0:
            return self.floor
        position = REFERENCE_PERCENTILE / 100 * (total - 1)
        below = math.floor(position)
        cumulative = np.cumsum(self.counts)
        low, high = np.searchsorted(cumulative, [below, min(below + 1, total - 1)],
                                    side="right")
        value = low + (high - low) * (position - below)
        return self.floor + (float(value) + 0.5) * _STEP


class _Checks:
    """Warn once about audio that looks wrong: not finite, clipping, all zeros."""

    def __init__(self, sr: int, source: str):
        self.source = source
        self.sr = sr
        self.zeros_after = int(_ZEROS_AFTER * sr)
        self.seen = 0
        self.clipped = 0
        self.nonzero = False
        self.said: set[str] = set()

    def warn(self, kind: str, message: str) -> None:
        """Warn about ``kind`` of trouble, the first time only."""
        if kind not in self.said:
            self.said.add(kind)
            warnings.warn(f"{self.source}: {message}", UserWarning, stacklevel=4)

    def check(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` with non-finite samples set to 0, warning about oddities."""
        finite = np.isfinite(x)
        if not finite.all():
            self.warn("finite", f"{int((~finite).sum())} samples are NaN or "
                       "infinite (set to 0): is the sample format right "
                       "(f32le read as s16le, or the reverse)?")
            x = np.where(finite, x, 0.0)
        self.nonzero = self.nonzero or bool(np.any(x))
        self.seen += x.size
        self.clipped += int(np.count_nonzero(np.abs(x) >= 0.999))
        if self.seen >= self.sr and self.clipped > _CLIPPING * self.seen:
            self.warn("clipping", f"the audio clips ({self.clipped / self.seen:.0%} "
                       "of the samples so far at full scale): too loud, or not "
                       "the sample format given")
        if not self.nonzero and self.seen >= self.zeros_after:
            self.warn("zeros", f"the first {_ZEROS_AFTER:g} s are all zeros: "
                       "a muted microphone, or the wrong device?")
        return x

    def close(self) -> None:
        if self.seen and not self.nonzero:
            self.warn("zeros", "the audio is all zeros")


class _Analyser:
    """The timeline of audio pushed in pieces; rows as soon as windows end.

    Parameters are those of :func:`stream`; ``source`` names the audio in
    warnings.
    """

    def __init__(self, model: Any, *, sr: int, window: float, hop: float,
                 vad: bool, vad_threshold_db: float, min_speech: float,
                 source: str):
        self.model = model
        self.fs, self.settings, self.names = model_analysis(model)
        self.classes = timeline_classes(model, vad)
        self.analysed = with_voicing(self.fs)
        position = {c: i for i, c in enumerate(
            self.analysed.feature_names(self.settings.n_mfcc, self.settings.n_mels))}
        self.columns = [position[c] for c in self.names]
        self.voiced_column = position[VOICED]
        self.window, self.hop, self.vad = window, hop, vad
        self.vad_threshold_db, self.min_speech = vad_threshold_db, min_speech
        self.rate = self.settings.sr
        self.frame = self.settings.hop_length
        self.resampler = (None if sr == self.rate else
                          soxr.ResampleStream(sr, self.rate, 1, dtype="float64",
                                              quality="HQ"))
        self.checks = _Checks(sr, source)
        self.source = source
        self.samples = np.empty(0)  # from sample ``offset`` on, at ``rate``
        self.offset = 0
        self.pending: list[np.ndarray] = []  # pushed, not yet in ``samples``
        self.n = 0  # samples so far, pending ones included
        self.levels = np.empty(0)  # of frames from ``level_offset`` on
        self.level_offset = 0
        self.counted = 0  # frames in the histogram
        self.histogram = _LevelHistogram(self.settings.floor_dbfs)
        self.next = 0  # index of the next window
        self._warm_up()

    def _warm_up(self) -> None:
        """Analyse a made-up window once, so the first real one is not slowed.

        The first call of each analysis and of the model loads code and
        fills caches (a few tenths of a second), which would delay the first
        row of a live stream.
        """
        t = np.arange(self.rate) / self.rate
        tone = 0.1 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t))
        values = extract_windows(tone, self.rate, [[0.0, 1.0]],
                                 feature_set=self.analysed,
                                 settings=self.settings).to_numpy()
        window_outputs(self.model,
                        pd.DataFrame(values[:, self.columns], columns=self.names))

    def _bounds(self, k: int) -> tuple[float, float]:
        """``(start, end)`` of window ``k`` uncut, as ``window_bounds`` gives it."""
        start = np.round(np.arange(k, k + 1) * self.hop, 6)
        return float(start[0]), float(np.round(start + self.window, 6)[0])

    def _last_frame(self, end: float) -> int:
        """One past the last frame centred in a window ending at ``end`` s."""
        return math.floor(end / self.settings.hop_seconds + 0.5 + 1e-9)

    def _needed(self, end: float) -> int:
        """Return the samples needed to analyse a window ending at ``end`` s."""
        return max(round(end * self.rate), self._last_frame(end) * self.frame)

    def push(self, piece: np.ndarray) -> list[pd.DataFrame]:
        """Add samples (at ``sr``); return the rows of the windows they complete."""
        x = self.checks.check(piece)
        if self.resampler is not None:
            x = self.resampler.resample_chunk(x)
        self.pending.append(x)
        self.n += x.size
        rows = []
        while self.n >= self._needed(self._bounds(self.next)[1]):
            self._take_pending()
            rows.append(self._window(self.next, *self._bounds(self.next)))
            self.next += 1
        return rows

    def close(self) -> list[pd.DataFrame]:
        """End of the audio: return the rows of the windows not yet given.

        The last window is cut short at the end, as in a file's timeline.
        Audio under 0.1 s in all gets no window.
        """
        self.checks.close()
        if self.resampler is not None:
            x = self.resampler.resample_chunk(np.empty(0), last=True)
            self.pending.append(x)
            self.n += x.size
        self._take_pending()
        if self.n < MIN_DURATION * self.rate:
            return []
        whole = self.n // self.frame * self.frame
        if whole < self.n:  # the last, partial frame counts, as in a file
            tail = self.samples[whole - self.offset:]
            self.levels = np.append(self.levels, 20 * np.log10(max(tail.std(), 1e-10)))
        bounds = window_bounds(self.n / self.rate, self.window, self.hop)
        rows = [self._window(k, *bounds[k]) for k in range(self.next, len(bounds))]
        self.next = len(bounds)
        return rows

    def _take_pending(self) -> None:
        """Join the pieces pushed to the samples; add the levels of whole frames."""
        done = self.level_offset + self.levels.size
        self.samples = np.concatenate([self.samples, *self.pending])
        self.pending = []
        whole = self.n // self.frame
        if whole > done:
            frames = self.samples[done * self.frame - self.offset:
                                  whole * self.frame - self.offset]
            std = frames.reshape(-1, self.frame).std(axis=1)
            self.levels = np.concatenate(
                [self.levels, 20 * np.log10(np.maximum(std, 1e-10))])

    def _window(self, k: int, start: float, end: float) -> pd.DataFrame:
        """Return the row of window ``k``; then forget what later ones need not."""
        last = self._last_frame(end)
        levels = self.levels[: last - self.level_offset]
        if last > self.counted:
            self.histogram.add(levels[self.counted - self.level_offset:])
            self.counted = last
        reference = self.histogram.speech_level()
        speech = speech_mask(levels, reference, self.settings.floor_dbfs,
                              self.vad_threshold_db)
        bounds = np.array([[start, end]])
        fraction = speech_fractions(speech, bounds, self.settings.hop_seconds,
                              first=self.level_offset)
        outputs = []
        if not self.vad or fraction[0] >= self.min_speech:
            first = self._first_sample(start)
            x = self.samples[first - self.offset: round(end * self.rate) - self.offset]
            try:
                values = extract_windows(
                    x, self.rate, bounds - first / self.rate, feature_set=self.analysed,
                    settings=active_settings(self.settings, reference)).to_numpy()
                if not self.vad or values[0, self.voiced_column] > 0:
                    X = pd.DataFrame(values[:, self.columns], columns=self.names)
                    outputs.append((np.array([0]), window_outputs(self.model, X)))
            except Exception as exc:  # noqa: BLE001 - one bad window must not end a stream
                self.checks.warn("analysis", f"the window {start:g}-{end:g} s could "
                                 f"not be analysed ({type(exc).__name__}: {exc}); "
                                 "such windows are given as silent")
        row = timeline_table(self.source, bounds, fraction, outputs, self.classes,
                             dimensions=hasattr(self.model, "dimension_model_"))
        self._forget(self._bounds(k + 1)[0])
        return row

    def _first_sample(self, start: float) -> int:
        """First sample analysed for a window from ``start`` s: CONTEXT before it."""
        return max(0, math.floor((start - CONTEXT) / self.settings.hop_seconds)
                   ) * self.frame

    def _forget(self, start: float) -> None:
        """Drop the samples and levels no window from ``start`` s on needs."""
        keep = min(self._first_sample(start) // self.frame - 1,
                   math.floor(start / self.settings.hop_seconds) - 1, self.counted)
        if keep > self.level_offset:
            self.levels = self.levels[keep - self.level_offset:]
            self.level_offset = keep
        if keep * self.frame > self.offset:
            self.samples = self.samples[keep * self.frame - self.offset:]
            self.offset = keep * self.frame


def _mono(piece: Any) -> np.ndarray:
    """Return a piece as mono float64: ints scaled to [-1, 1), channels averaged."""
    x = np.asarray(piece)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float64) / float(np.iinfo(x.dtype).max + 1)
    elif not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(
            f"audio pieces must be numeric arrays, got dtype {x.dtype}")
    with np.errstate(invalid="ignore"):  # signalling NaNs in garbage input
        x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise ParameterError(
            f"an audio piece must be 1-D or (samples, channels), got shape {x.shape}")
    return x


def stream(
    frames: Iterable[np.ndarray],
    model: Any,
    *,
    sr: int = 16000,
    window: float = 2.0,
    hop: float = 0.5,
    smooth: int = 0,
    vad: bool = True,
    vad_threshold_db: float = VAD_THRESHOLD_DB,
    min_speech: float = 0.5,
    source: str = "stream",
) -> Iterator[dict[str, Any]]:
    """Classify audio as it arrives: one timeline row a window, as soon as it ends.

    The windows, voice activity rule, analysis and model are those of
    :func:`sertk.timeline.predict_timeline`, applied without looking past a
    window's end (see the module documentation): the rows are those of
    :func:`causal_timeline` on a file holding the same samples, however they
    are cut into pieces.

    Parameters
    ----------
    frames : iterable of np.ndarray
        Pieces of audio in order, each of shape ``(n,)`` or
        ``(n, channels)`` (channels are averaged), of any length (1 sample
        is fine). Integer samples are scaled to [-1, 1) as a WAV file's.
        Non-finite samples are set to 0 with a warning.
    model : EmotionClassifier
        A fitted classifier with probabilities, as for
        :func:`~sertk.timeline.predict_timeline`.
    sr : int > 0, default=16000
        Sampling rate of ``frames`` in Hz; resampled to the model's rate
        (soxr, as files are, in a streaming resampler) when different.
    window, hop, vad, vad_threshold_db, min_speech
        As in :func:`~sertk.timeline.predict_timeline`.
    smooth : int >= 0, default=0
        Average each speech window's probabilities with those of the speech
        windows up to ``smooth`` places before it (never after: a row is
        final when it is yielded).
    source : str, default="stream"
        Names the audio in warnings.

    Returns
    -------
    iterator of dict
        Checked and warmed up at the call (options, model; the first
        analysis loads its code), it yields a window's row: the columns of
        a timeline less ``path``: ``start``, ``end`` (seconds from the
        first sample; the last window, given once ``frames`` ends, is cut
        short there), ``speech_fraction``, ``label``,
        ``out_of_distribution`` (None in silent windows), one
        ``prob_<class>`` a class (NaN in silent windows), and any other
        column the model's timeline has.

    Warns
    -----
    UserWarning
        Once each, when samples are not finite, when the audio clips, or
        when it is all zeros (for its first 5 s, or in all).

    Raises
    ------
    ParameterError
        If an option is out of range, a piece is not a numeric array, or the
        model cannot draw a timeline (see
        :func:`~sertk.timeline.predict_timeline`).

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.models.classifier import EmotionClassifier
    >>> from sertk.features.extractor import extract_windows
    >>> sr = 16000
    >>> t = np.arange(4 * sr) / sr
    >>> tone = 0.3 * np.sin(2 * np.pi * 150 * t)
    >>> X = extract_windows(tone, sr, [(0, 1), (1, 2), (2, 3), (3, 4)],
    ...                     feature_set="minimal")
    >>> model = EmotionClassifier(speaker_norm=False).fit(
    ...     pd.concat([X, 2 * X]), ["a"] * 4 + ["b"] * 4)
    >>> rows = list(stream(np.array_split(tone[:int(2.3 * sr)], 50), model,
    ...                    window=1.0, hop=0.5))
    >>> [(row["start"], row["end"]) for row in rows]
    [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0), (1.5, 2.3)]
    """
    check_options(window, hop, smooth, vad_threshold_db, min_speech, 60.0, 1)
    if not (isinstance(sr, int | np.integer) and sr > 0):
        raise ParameterError(f"sr={sr!r} must be a whole number of Hz > 0")
    analyser = _Analyser(model, sr=int(sr), window=window, hop=hop, vad=vad,
                         vad_threshold_db=vad_threshold_db, min_speech=min_speech,
                         source=source)
    return _rows(frames, analyser, smooth)


def _rows(frames: Iterable[np.ndarray], analyser: _Analyser, smooth: int
          ) -> Iterator[dict[str, Any]]:
    """Push the pieces; yield each window's row (causally smoothed) as it ends."""
    recent: list[pd.DataFrame] = []

    def rows(tables: list[pd.DataFrame]) -> Iterator[dict[str, Any]]:
        for table in tables:
            if smooth:
                recent.append(table)
                del recent[:-smooth - 1]
                table = smooth_timeline(pd.concat(recent, ignore_index=True), smooth,
                                        causal=True).iloc[[-1]]
            row = table.drop(columns="path").iloc[0].to_dict()
            if pd.isna(row["out_of_distribution"]):
                row["out_of_distribution"] = None
            else:
                row["out_of_distribution"] = bool(row["out_of_distribution"])
            yield row

    for piece in frames:
        yield from rows(analyser.push(_mono(piece)))
    yield from rows(analyser.close())


def row_columns(model: Any, vad: bool = True) -> list[str]:
    """Return the columns of the rows :func:`stream` yields with ``model``, in order.

    Parameters
    ----------
    model : EmotionClassifier
        The model.
    vad : bool, default=True
        As in :func:`stream`.

    Returns
    -------
    list of str

    Raises
    ------
    ParameterError
        If the model has a class named ``silence`` (with ``vad``).
    """
    empty = timeline_table("", np.empty((0, 2)), np.empty(0), [],
                            timeline_classes(model, vad),
                            dimensions=hasattr(model, "dimension_model_"))
    return [c for c in empty.columns if c != "path"]


def causal_timeline(
    model: Any,
    path: str | os.PathLike,
    *,
    window: float = 2.0,
    hop: float = 0.5,
    smooth: int = 0,
    vad: bool = True,
    vad_threshold_db: float = VAD_THRESHOLD_DB,
    min_speech: float = 0.5,
) -> pd.DataFrame:
    """Classify a file window by window as a live stream would: no look-ahead.

    The file's samples go through :func:`stream`'s analysis, so the rows are
    those ``sertk-predict --stream -`` gives when the file is piped to it:
    use it to reproduce a live session offline. Compared with
    :func:`~sertk.timeline.predict_timeline`, the speech level is that of the
    audio up to each window's end, each window is analysed with the 0.5 s
    before it only, and ``smooth`` looks back only; the work is about four
    times as much (each window analysed on its own), in one process.

    Parameters
    ----------
    model : EmotionClassifier
        As for :func:`~sertk.timeline.predict_timeline`.
    path : str or os.PathLike
        The recording, in any format libsndfile reads; read in 10 s pieces
        at its own rate and resampled as a stream is.
    window, hop, smooth, vad, vad_threshold_db, min_speech
        As in :func:`stream`.

    Returns
    -------
    pd.DataFrame
        The columns of :func:`~sertk.timeline.predict_timeline`, one row a
        window.

    Raises
    ------
    AudioError
        If the file cannot be read, or holds less than 0.1 s of audio.
    ParameterError
        If an option is out of range, or the model cannot draw a timeline.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.io.model_files import TIMELINE_MODEL, load_model
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> t = np.arange(3 * 16000) / 16000
    >>> sf.write(path, 0.3 * np.sin(2 * np.pi * 180 * t), 16000)
    >>> rows = causal_timeline(load_model(TIMELINE_MODEL), path)
    >>> rows[["start", "end"]].values.tolist()
    [[0.0, 2.0], [0.5, 2.5], [1.0, 3.0]]
    """
    check_options(window, hop, smooth, vad_threshold_db, min_speech, 60.0, 1)
    name = os.fspath(path)
    audio_duration(name)  # a clear AudioError for what cannot be read
    with sf.SoundFile(os.fsencode(name)) as f:
        analyser = _Analyser(model, sr=f.samplerate, window=window, hop=hop, vad=vad,
                             vad_threshold_db=vad_threshold_db,
                             min_speech=min_speech, source=name)
        tables = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                for block in f.blocks(blocksize=int(_READ_BLOCK * f.samplerate),
                                      dtype="float64", always_2d=True):
                    tables += analyser.push(_mono(block))
                tables += analyser.close()
        except RuntimeError as exc:
            raise AudioError(f"could not decode the audio ({exc})", name) from exc
    if not tables:
        raise AudioError("too short to analyse (under 0.1 s)", name)
    timeline = pd.concat(tables, ignore_index=True)
    return smooth_timeline(timeline, smooth, causal=True) if smooth else timeline
