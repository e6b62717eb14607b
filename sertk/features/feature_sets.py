"""Named feature sets and the column grammar.

A feature set says which functionals to take of which contours, plus which
utterance-level descriptors to include. Every column is named
``<contour>__<functional>`` (``f0_semitone__p50``, ``mfcc03__std``) or is a
descriptor of the same shape (``jitter__local``, ``pause__rate``), so a name
can always be parsed back with :func:`parse_feature_name`.

Two sets are built in:

- ``minimal``: about 110 features covering what eGeMAPS covers (F0,
  loudness, voice quality, formants, spectral balance, MFCC 1-8, rhythm),
  spectral balance also on voiced and unvoiced frames apart.
- ``default``: about 1150 features: the full functional battery on every
  contour, the distribution of every named contour's rate of change, all
  MFCCs with deltas, mel band levels, and the MFCC and spectral-balance
  contours on voiced and unvoiced frames apart.

Examples
--------
>>> fs = get_feature_set("minimal")
>>> fs.feature_names()[:2]
['f0_semitone__mean', 'f0_semitone__std']
>>> parse_feature_name("mfcc03__p80")
FeatureName(contour='mfcc03', functional='p80')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from ..errors import ParameterError
from .contours import DESCRIPTORS, contour_info
from .functionals import FUNCTIONALS

__all__ = [
    "FEATURE_SETS",
    "FeatureName",
    "FeatureSet",
    "get_feature_set",
    "parse_feature_name",
]

_ALL = ("mean", "std", "cv", "p20", "p50", "p80", "range_p20_p80", "min", "max",
        "skew", "kurtosis", "slope")
_ALL_WITH_SLOPES = (*_ALL, "rising_slope_mean", "falling_slope_mean")
_SHAPE = ("mean", "std", "p20", "p50", "p80", "range_p20_p80")
_MEAN_STD = ("mean", "std")
_FIVE = ("mean", "std", "p20", "p50", "p80")
_DISTRIBUTION = (*_SHAPE, "skew", "kurtosis")
#: Contours whose voiced and unvoiced frames are also summarised apart, as in
#: eGeMAPS: spectral balance differs between the two in emotion-specific ways.
_SPLIT = ("spectral_centroid", "alpha_ratio", "hammarberg", "spectral_slope_0_500",
          "spectral_slope_500_1500", "spectral_flux", "loudness")
#: Contours whose rate of change (``<contour>_delta``) the default set
#: summarises: every named contour, the MFCCs and mel bands left out.
_RATES = ("f0_semitone", "f0_hz", "loudness", "intensity_db", "rms_db", "hnr_db",
          "h1_h2", "f1_hz", "f2_hz", "f3_hz", "f1_bw", "f2_bw", "f3_bw",
          "spectral_centroid", "spectral_rolloff", "spectral_flatness", "spectral_flux",
          "spectral_slope_0_500", "spectral_slope_500_1500", "alpha_ratio",
          "hammarberg", "zcr")
_MINIMAL_SPLIT = ("mfcc01", "mfcc02", "mfcc03", "mfcc04", "alpha_ratio", "hammarberg",
                  "spectral_slope_0_500", "spectral_slope_500_1500", "spectral_flux",
                  "loudness")


class FeatureName(NamedTuple):
    """A column name split into its contour (or descriptor) and functional."""

    contour: str
    functional: str


def parse_feature_name(name: str) -> FeatureName:
    """Split a feature column name into contour and functional.

    Parameters
    ----------
    name : str
        A column such as ``"f0_semitone__mean"`` or ``"jitter__local"``.

    Returns
    -------
    FeatureName

    Raises
    ------
    ParameterError
        If the name does not follow the grammar or names an unknown contour or
        functional.

    Examples
    --------
    >>> parse_feature_name("loudness__rising_slope_mean").functional
    'rising_slope_mean'
    """
    contour, sep, functional = name.partition("__")
    if not sep or not contour or not functional:
        raise ParameterError(
            f"feature name {name!r} is not of the form <contour>__<functional>")
    if name in DESCRIPTORS:
        return FeatureName(contour, functional)
    contour_info(contour)  # raises for an unknown contour
    if functional not in FUNCTIONALS:
        raise ParameterError(
            f"feature name {name!r}: unknown functional {functional!r}; "
            f"choose from {list(FUNCTIONALS)}")
    return FeatureName(contour, functional)


@dataclass(frozen=True)
class FeatureSet:
    """Which functionals of which contours, and which descriptors.

    Parameters
    ----------
    name : str
        The set's name.
    contours : tuple of (str, tuple of str)
        Pairs ``(contour, functionals)`` in column order. The contour
        ``"mfcc*"`` stands for MFCC 1..n_mfcc and ``"mfcc*_delta"`` for their
        deltas.
    descriptors : tuple of str
        Descriptor columns, from :data:`sertk.features.contours.DESCRIPTORS`.
    description : str
        One line on what the set is for.

    Examples
    --------
    >>> fs = FeatureSet("tiny", (("f0_hz", ("mean",)),), ("jitter__local",))
    >>> fs.feature_names(), sorted(fs.groups())
    (['f0_hz__mean', 'jitter__local'], ['perturbation', 'pitch'])
    """

    name: str
    contours: tuple[tuple[str, tuple[str, ...]], ...]
    descriptors: tuple[str, ...] = ()
    description: str = field(default="", compare=False)

    def expanded(self, n_mfcc: int = 16, n_mels: int = 26
                 ) -> list[tuple[str, tuple[str, ...]]]:
        """Return the ``(contour, functionals)`` pairs with families expanded.

        Parameters
        ----------
        n_mfcc : int > 0, default=16
            Number of MFCCs the ``mfcc*`` families stand for.
        n_mels : int > 0, default=26
            Number of mel bands the ``melband*`` families stand for.

        Returns
        -------
        list of (str, tuple of str)
        """
        return list(_expanded(self, n_mfcc, n_mels))

    def feature_names(self, n_mfcc: int = 16, n_mels: int = 26) -> list[str]:
        """Return the set's column names, in order.

        Parameters
        ----------
        n_mfcc : int > 0, default=16
            Number of MFCCs the ``mfcc*`` families stand for.
        n_mels : int > 0, default=26
            Number of mel bands the ``melband*`` families stand for.

        Returns
        -------
        list of str
        """
        return list(_feature_names(self, n_mfcc, n_mels))

    def groups(self, n_mfcc: int = 16, n_mels: int = 26) -> set[str]:
        """Return the contour groups the set needs.

        Parameters
        ----------
        n_mfcc : int > 0, default=16
            Number of MFCCs the ``mfcc*`` families stand for.
        n_mels : int > 0, default=26
            Number of mel bands the ``melband*`` families stand for.

        Returns
        -------
        set of str
        """
        return set(_groups(self, n_mfcc, n_mels))

    def restricted_to(self, names: Sequence[str], n_mfcc: int = 16, n_mels: int = 26
                      ) -> FeatureSet | None:
        """Return the part of the set that gives exactly ``names``, or None.

        A model trained before a built-in set gained columns knows the
        columns it was trained on; this part of the set extracts them, in
        their order, and nothing else.

        Parameters
        ----------
        names : sequence of str
            Column names, each one of the set's.
        n_mfcc : int > 0, default=16
            Number of MFCCs the ``mfcc*`` families stand for.
        n_mels : int > 0, default=26
            Number of mel bands the ``melband*`` families stand for.

        Returns
        -------
        FeatureSet or None
            Of the same name; None if a name is not the set's, or the names'
            order is not one a set can give (descriptors last).

        Examples
        --------
        >>> part = get_feature_set("minimal").restricted_to(
        ...     ["loudness__mean", "f0_semitone__p50", "jitter__local"])
        >>> part.feature_names()
        ['loudness__mean', 'f0_semitone__p50', 'jitter__local']
        """
        if not set(names) <= set(self.feature_names(n_mfcc, n_mels)):
            return None
        pairs: list[tuple[str, list[str]]] = []
        descriptors = []
        for name in names:
            if name in self.descriptors:
                descriptors.append(name)
                continue
            contour, functional = parse_feature_name(name)
            if pairs and pairs[-1][0] == contour:
                pairs[-1][1].append(functional)
            else:
                pairs.append((contour, [functional]))
        part = FeatureSet(self.name, tuple((c, tuple(f)) for c, f in pairs),
                          tuple(descriptors), self.description)
        return part if part.feature_names(n_mfcc, n_mels) == list(names) else None

    def validate(self, n_mfcc: int = 16, n_mels: int = 26) -> None:
        """Check every name of the set against the grammar.

        Parameters
        ----------
        n_mfcc : int > 0, default=16
            Number of MFCCs available.
        n_mels : int > 0, default=26
            Number of mel bands available.

        Raises
        ------
        ParameterError
            If a name is unknown, or an MFCC or mel band index exceeds
            ``n_mfcc`` or ``n_mels``.
        """
        _validate(self, n_mfcc, n_mels)


# The set's derived lists are cached: extraction asks for them once a file.
@lru_cache(maxsize=64)
def _expanded(fs: FeatureSet, n_mfcc: int, n_mels: int
              ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    sizes = {"mfcc": n_mfcc, "melband": n_mels}
    pairs = []
    for contour, functionals in fs.contours:
        family, star, suffix = contour.partition("*")
        if star:
            pairs.extend((f"{family}{k:02d}{suffix}", functionals)
                         for k in range(1, sizes[family] + 1))
        else:
            pairs.append((contour, functionals))
    return tuple(pairs)


@lru_cache(maxsize=64)
def _feature_names(fs: FeatureSet, n_mfcc: int, n_mels: int) -> tuple[str, ...]:
    names = [f"{contour}__{functional}"
             for contour, functionals in _expanded(fs, n_mfcc, n_mels)
             for functional in functionals]
    return (*names, *fs.descriptors)


@lru_cache(maxsize=64)
def _groups(fs: FeatureSet, n_mfcc: int, n_mels: int) -> frozenset[str]:
    names = [c for c, _ in _expanded(fs, n_mfcc, n_mels)] + list(fs.descriptors)
    return frozenset(contour_info(name).group for name in names)


@lru_cache(maxsize=64)
def _validate(fs: FeatureSet, n_mfcc: int, n_mels: int) -> None:
    sizes = {"mfcc": ("n_mfcc", n_mfcc), "melband": ("n_mels", n_mels)}
    for name in _feature_names(fs, n_mfcc, n_mels):
        contour = parse_feature_name(name).contour
        for family, (setting, size) in sizes.items():
            index = contour[len(family):][:2]
            if contour.startswith(family) and index.isdigit() and int(index) > size:
                raise ParameterError(f"feature set {fs.name!r} uses {contour} "
                                     f"but {setting}={size}")


MINIMAL = FeatureSet(
    "minimal",
    (
        ("f0_semitone", ("mean", "std", "cv", "p20", "p50", "p80", "range_p20_p80",
                         "slope", "rising_slope_mean", "falling_slope_mean")),
        ("loudness", ("mean", "std", "cv", "p20", "p50", "p80", "range_p20_p80",
                      "slope", "rising_slope_mean", "falling_slope_mean")),
        ("intensity_db", ("mean", "std", "range_p20_p80")),
        ("hnr_db", ("mean", "std", "p80")),
        ("h1_h2", _MEAN_STD),
        ("f1_hz", ("mean", "std", "p50")),
        ("f2_hz", ("mean", "std", "p50")),
        ("f3_hz", ("mean", "std", "p50")),
        ("f1_bw", _MEAN_STD),
        ("f2_bw", _MEAN_STD),
        ("f3_bw", _MEAN_STD),
        ("alpha_ratio", ("mean", "std", "p50")),
        ("hammarberg", ("mean", "std", "p50")),
        ("spectral_slope_0_500", _MEAN_STD),
        ("spectral_slope_500_1500", _MEAN_STD),
        ("spectral_flux", ("mean", "std", "p80")),
        ("spectral_centroid", _MEAN_STD),
        ("mfcc01", _SHAPE[:5]),
        ("mfcc02", _SHAPE[:5]),
        ("mfcc03", _SHAPE[:5]),
        ("mfcc04", _SHAPE[:5]),
        ("mfcc05", _MEAN_STD),
        ("mfcc06", _MEAN_STD),
        ("mfcc07", _MEAN_STD),
        ("mfcc08", _MEAN_STD),
        *((f"{c}_{v}", ("mean",))
          for v in ("voiced", "unvoiced") for c in _MINIMAL_SPLIT),
    ),
    (
        "jitter__local", "shimmer__local_db", "voiced__fraction",
        "voiced_segment__rate", "voiced_segment__mean_length",
        "voiced_segment__std_length", "pause__mean_length", "pause__std_length",
    ),
    "About 110 features covering what eGeMAPS covers, and MFCC 5-8.",
)

DEFAULT = FeatureSet(
    "default",
    (
        ("f0_semitone", _ALL_WITH_SLOPES),
        ("f0_hz", ("mean", "std", "min", "max", "p50")),
        ("loudness", _ALL_WITH_SLOPES),
        ("intensity_db", _ALL),
        ("rms_db", _ALL),
        ("hnr_db", _ALL),
        ("h1_h2", _ALL),
        ("f1_hz", _ALL),
        ("f2_hz", _ALL),
        ("f3_hz", _ALL),
        ("f1_bw", _SHAPE),
        ("f2_bw", _SHAPE),
        ("f3_bw", _SHAPE),
        ("spectral_centroid", _ALL),
        ("spectral_rolloff", _ALL),
        ("spectral_flatness", _ALL),
        ("spectral_flux", _ALL),
        ("spectral_slope_0_500", _ALL),
        ("spectral_slope_500_1500", _ALL),
        ("alpha_ratio", _ALL),
        ("hammarberg", _ALL),
        ("zcr", _ALL),
        ("mfcc*", _ALL),
        ("mfcc*_delta", ("std", "p20", "p80", "range_p20_p80")),
        ("melband*", (*_DISTRIBUTION, "step_std")),
        *((f"{c}_{v}", _FIVE)
          for c in ("mfcc*", *_SPLIT) for v in ("voiced", "unvoiced")),
        *((f"{c}_delta", _DISTRIBUTION) for c in _RATES),
    ),
    tuple(DESCRIPTORS),
    "The full battery: every functional of every contour and of its rate of "
    "change, MFCCs with deltas, mel bands, voiced/unvoiced spectra.",
)

#: Built-in feature sets by name.
FEATURE_SETS: dict[str, FeatureSet] = {fs.name: fs for fs in (MINIMAL, DEFAULT)}


def get_feature_set(feature_set: str | FeatureSet) -> FeatureSet:
    """Return a built-in feature set by name (a FeatureSet passes through).

    Parameters
    ----------
    feature_set : str or FeatureSet
        ``"minimal"``, ``"default"`` or a custom :class:`FeatureSet`.

    Returns
    -------
    FeatureSet

    Raises
    ------
    ParameterError
        If the name is not a built-in set.

    Examples
    --------
    >>> get_feature_set("default").name
    'default'
    """
    if isinstance(feature_set, FeatureSet):
        return feature_set
    try:
        return FEATURE_SETS[feature_set]
    except (KeyError, TypeError):
        raise ParameterError(
            f"unknown feature set {feature_set!r}; choose from {list(FEATURE_SETS)} "
            "or pass a sertk.FeatureSet") from None
