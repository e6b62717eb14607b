"""Write ``docs/features.md`` from the code, so the page cannot drift.

Everything on the page comes from :mod:`sertk.features.contours` (``CONTOURS``,
``DESCRIPTORS``, ``GROUPS``, ``contour_info`` and the group modules'
docstrings), :mod:`sertk.features.functionals` (``FUNCTIONALS``),
:mod:`sertk.features.feature_sets` (``FEATURE_SETS``) and
:class:`sertk.settings.AnalysisSettings`; the "what is NaN when" tables are
measured by extracting a silent and an unvoiced clip.

Run from the repository root after changing any of those::

    python docs/gen/features.py          # rewrite docs/features.md
    python docs/gen/features.py --check  # exit 1 if the page is stale

Examples
--------
>>> unit_of("slope", "Hz")
'Hz/s'
>>> unit_of("std", "semitones re 27.5 Hz")
'semitones re 27.5 Hz'
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

import numpy as np
from _common import DOCS, docstring_body, md_cell, rst_to_md  # puts sertk on the path

from sertk import audio
from sertk.features import contours, feature_sets, functionals
from sertk.features.contours._analysis import LOUD_DB
from sertk.features.extractor import FeatureExtractor, extract_signal
from sertk.settings import AnalysisSettings

#: Where the page is written.
PAGE = DOCS / "features.md"

_FRAMES = {
    "voiced": "frames where Praat's pitch analysis found a pitch (F0 between "
              "`f0_min` and `f0_max`); NaN elsewhere",
    "active": "non-silent frames: RMS level within `silence_db` "
              "({silence_db:g} dB) of the loudest frame and above `floor_dbfs` "
              "({floor_dbfs:g} dBFS), and power at least `noise_snr_db` "
              "({noise_snr_db:g} dB) above the recording's noise floor unless "
              "within {loud_db:g} dB of the loudest frame; NaN elsewhere",
    "unvoiced": "frames where Praat found no pitch",
    "all": "every frame of the grid",
    "utterance": "one value for the whole clip (a descriptor, already a column)",
}


def unit_of(functional: str, unit: str) -> str:
    """Return the unit of a functional of a contour measured in ``unit``.

    Parameters
    ----------
    functional : str
        A key of :data:`sertk.features.functionals.FUNCTIONALS`.
    unit : str
        The contour's unit.

    Returns
    -------
    str
        ``unit`` itself, ``"ratio"``, or ``unit`` per second.

    Examples
    --------
    >>> unit_of("cv", "Hz")
    'ratio'
    """
    template = functionals.FUNCTIONALS[functional][1]
    if template == "unit":
        return unit
    wrapped = f"({unit})" if re.search(r"[\s/]", unit) else unit
    return re.sub(r"\bunit\b", wrapped, template)


def _settings_rows() -> list[str]:
    doc = inspect.getdoc(AnalysisSettings) or ""
    params = doc.split("Parameters\n----------\n", 1)[1]
    entries = re.findall(r"^(\w+) : ([^\n]*)\n((?:    [^\n]*\n?)+)", params, re.M)
    described = {name: (kind, " ".join(text.split()))
                 for name, kind, text in entries}
    rows = ["| setting | default | type | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(AnalysisSettings):
        kind, text = described.get(field.name, ("", ""))
        kind = kind.split(", default=")[0]
        rows.append(f"| `{field.name}` | `{field.default!r}` | {md_cell(kind)} "
                    f"| {md_cell(rst_to_md(text))} |")
    return rows


def _extractor_settings() -> list[str]:
    """Return the settings that are also ``FeatureExtractor`` parameters."""
    parameters = inspect.signature(FeatureExtractor).parameters
    fields = dataclasses.fields(AnalysisSettings)
    return [field.name for field in fields if field.name in parameters]


def _group_modules() -> dict[str, list[str]]:
    """Return group modules in GROUPS order -> the groups each one computes."""
    modules: dict[str, list[str]] = {}
    for group, function in contours.GROUPS.items():
        modules.setdefault(function.__module__, []).append(group)
    return modules


def _family_members(pattern: str) -> list[str]:
    """Return the contours a family pattern (``mfcc*_delta``) stands for."""
    probe = feature_sets.FeatureSet("probe", ((pattern, ()),))
    return [name for name, _ in probe.expanded()]


def _contour_names() -> dict[str, list[str]]:
    """Return group -> contours, family patterns and descriptors, in order.

    The contours of :data:`CONTOURS`, then every other contour or family
    (``mfcc*``) a built-in feature set uses, then the descriptors.
    """
    names: list[str] = list(contours.CONTOURS)
    for fs in feature_sets.FEATURE_SETS.values():
        names += [c for c, _ in fs.contours if c not in names]
    names += list(contours.DESCRIPTORS)
    by_group: dict[str, list[str]] = {group: [] for group in contours.GROUPS}
    for name in names:
        first = _family_members(name)[0] if "*" in name else name
        by_group[contours.contour_info(first).group].append(name)
    return by_group


def _family_description(members: list[str]) -> str:
    """Return the description of a family's members, its index written k."""
    first = contours.contour_info(members[0]).description
    if len(members) < 2:
        return first
    marked = re.sub(r"(?<![\w.])1(?![\w.])", "\0", first)
    if marked.replace("\0", "2") == contours.contour_info(members[1]).description:
        return marked.replace("\0", "k")
    return first


def _contour_rows(names: list[str]) -> list[str]:
    rows = []
    for name in names:
        members = _family_members(name) if "*" in name else [name]
        info = contours.contour_info(members[0])
        label = f"`{name}`"
        description = info.description
        if "*" in name:
            label = f"`{members[0]}` ... `{members[-1]}`"
            description = _family_description(members)
        rows.append(f"| {label} | `{info.group}` | {md_cell(info.unit)} | "
                    f"{info.frames} | {md_cell(description)} | "
                    f"{md_cell(info.library)} |")
    return rows


def _functional_rows() -> list[str]:
    rows = ["| functional | definition | unit of the result |", "|---|---|---|"]
    for name, (definition, unit) in functionals.FUNCTIONALS.items():
        rows.append(f"| `{name}` | {md_cell(definition)} | {unit} |")
    return rows


def _set_rows(fs: feature_sets.FeatureSet) -> list[str]:
    rows = ["| column | contour | functional | unit |", "|---|---|---|---|"]
    for column in fs.feature_names():
        contour, functional = feature_sets.parse_feature_name(column)
        if column in contours.DESCRIPTORS:
            unit = contours.DESCRIPTORS[column].unit
        else:
            unit = unit_of(functional, contours.contour_info(contour).unit)
        rows.append(f"| `{column}` | `{contour}` | `{functional}` | {md_cell(unit)} |")
    return rows


def _nan_sentences(doc: str | None) -> list[str]:
    """Return the list items, and other paragraphs' sentences, that mention NaN."""
    found = []
    for paragraph in docstring_body(doc).split("\n\n"):
        items = re.split(r"\n(?=- )", paragraph)
        if len(items) > 1 or paragraph.startswith("- "):
            found += [" ".join(i[2:].split()) for i in items if "NaN" in i]
            continue
        sentences = re.split(r"(?<=\.)\s+(?=[A-Z`(])", " ".join(paragraph.split()))
        found += [s for s in sentences if "NaN" in s]
    return found


def _measure(signal: np.ndarray, sr: int) -> dict[str, float]:
    """Return column -> value over the built-in sets, largest set first."""
    row: dict[str, float] = {}
    sets = sorted(feature_sets.FEATURE_SETS.values(),
                  key=lambda fs: -len(fs.feature_names()))
    for fs in sets:
        for column, value in extract_signal(signal, sr, feature_set=fs).items():
            row.setdefault(column, value)
    return row


def _by_contour(row: dict[str, float], nan: bool) -> dict[str, str]:
    """Return contour -> its NaN (or defined) columns: ``"all"`` or a list."""
    entries: dict[str, list[str]] = {}
    chosen: dict[str, list[str]] = {}
    for column, value in row.items():
        contour, functional = feature_sets.parse_feature_name(column)
        entries.setdefault(contour, []).append(functional)
        if bool(np.isnan(value)) == nan:
            chosen.setdefault(contour, []).append(functional)
    return {c: "all" if len(f) == len(entries[c]) else ", ".join(f"`{x}`" for x in f)
            for c, f in chosen.items()}


def _collapsed_rows(which: dict[str, str]) -> list[str]:
    """Return table rows, MFCC families with the same entry folded into one row."""
    rows: list[str] = []
    families: dict[tuple[str, str], list[str]] = {}
    for contour, text in which.items():
        family = re.sub(r"^mfcc\d\d", "mfccNN", contour)
        if family != contour:
            if (family, text) not in families:
                families[(family, text)] = []
                rows.append((family, text))
            families[(family, text)].append(contour)
        else:
            rows.append((contour, text))
    out = []
    for name, text in rows:
        members = families.get((name, text))
        label = (f"`{members[0]}` ... `{members[-1]}`" if members and len(members) > 1
                 else f"`{members[0] if members else name}`")
        out.append(f"| {label} | {text} |")
    return out


def _nan_section(settings: AnalysisSettings) -> list[str]:
    sr = settings.sr
    silent = _measure(np.zeros(sr), sr)
    noise = _measure(0.1 * np.random.default_rng(0).standard_normal(sr), sr)
    lines = [
        "## What is NaN when",
        "",
        "Undefined is NaN on purpose: unvoiced frames, Praat's 0 Hz pitch and "
        "digital silence become NaN before any statistic is taken, and a "
        "statistic with too few valid frames is NaN. The rules, as the modules "
        "state them:",
        "",
    ]
    modules = [*_group_modules(), functionals.__name__]
    for name in modules:
        for sentence in _nan_sentences(sys.modules[name].__doc__):
            lines.append(f"- `{name}`: {sentence}")
    lines += [
        "",
        f"A clip shorter than `sertk.audio.MIN_DURATION` ({audio.MIN_DURATION:g} s) "
        "is not analysed at all: `extract_signal` raises `AudioError`, and "
        "`FeatureExtractor(on_error=\"nan\")` gives a row of NaN with the reason "
        "in `errors_`. A scikit-learn pipeline therefore needs an imputer before "
        "the scaler and classifier.",
        "",
        "### A silent clip",
        "",
        f"Measured on 1 s of digital silence (`np.zeros({sr})` at {sr} Hz) over "
        "every column of the built-in sets. NaN columns:",
        "",
        "| contour | NaN columns |",
        "|---|---|",
        *_collapsed_rows(_by_contour(silent, nan=True)),
        "",
        "Defined columns and their values:",
        "",
        "| column | value |",
        "|---|---|",
        *[f"| `{c}` | {v:g} |" for c, v in silent.items() if not np.isnan(v)],
        "",
        "### An unvoiced clip",
        "",
        "Measured on 1 s of white noise (standard deviation 0.1, "
        f"`np.random.default_rng(0)`; `voiced__fraction` = "
        f"{noise['voiced__fraction']:g}). NaN columns; every other column is "
        "defined:",
        "",
        "| contour | NaN columns |",
        "|---|---|",
        *_collapsed_rows(_by_contour(noise, nan=True)),
    ]
    return lines


def render() -> str:
    """Return the Markdown of the features page.

    Returns
    -------
    str
        The whole page, ending in a newline.
    """
    settings = AnalysisSettings()
    lines = [
        "# Features",
        "",
        "<!-- Generated by docs/gen/features.py from the code: do not edit. "
        "Run `python docs/gen/features.py` to rewrite it. -->",
        "",
        "sertk computes frame-level *contours* (10 ms apart by default) with "
        "Praat (through parselmouth): pitch, intensity, formants, voice "
        "quality; and librosa: the short-time spectrum, its mel bands, MFCCs and "
        "spectral shape (the *computed by* column of each table below names the "
        "library), "
        "then summarises each contour over the utterance with *functionals* "
        "(statistics that ignore NaN frames). A *feature set* chooses which "
        "functionals of which contours become columns, plus utterance-level "
        "*descriptors*. This page is generated from the code.",
        "",
        "## Column names",
        "",
        "Every column is `<contour>__<functional>` (two underscores), or a "
        "descriptor of the same shape, and `sertk.parse_feature_name` "
        "splits it back:",
        "",
        "| column | contour | functional |",
        "|---|---|---|",
    ]
    for example in ("f0_semitone__p50", "mfcc03__std", "mfcc03_delta__range_p20_p80",
                    "loudness__rising_slope_mean", "jitter__local", "pause__rate"):
        contour, functional = feature_sets.parse_feature_name(example)
        lines.append(f"| `{example}` | `{contour}` | `{functional}` |")
    families = [n for group in _contour_names().values() for n in group if "*" in n]
    lines += [
        "",
        "Numbered contours form families, which a feature set writes with a "
        "`*`: " + "; ".join(
            f"`{f}` is `{_family_members(f)[0]}` ... `{_family_members(f)[-1]}`"
            for f in families) + " (with the default settings; the MFCC count "
        "is `n_mfcc`, and the 0th coefficient is left out).",
        "",
        "The unit of a column follows from its contour's unit and the "
        "functional (see [Functionals](#functionals)). For spreads, ranges and "
        "slopes the reference of a level unit drops out: the standard "
        "deviation of `f0_semitone` is in semitones, whatever the reference.",
        "",
        "## Analysis settings",
        "",
        "`sertk.settings.AnalysisSettings` holds every parameter that changes "
        "the numbers; `FeatureExtractor` exposes "
        + ", ".join(f"`{name}`" for name in _extractor_settings())
        + " as its own parameters. Defaults:",
        "",
        *_settings_rows(),
        "",
        "Frames a contour is defined on:",
        "",
    ]
    values = {"loud_db": LOUD_DB, **settings.to_dict()}
    for frames, text in _FRAMES.items():
        lines.append(f"- **{frames}**: {text.format(**values)}.")
    lines += ["", "## Contours", "",
              docstring_body(inspect.getdoc(contours)).split("\n\n", 1)[-1], ""]
    names = _contour_names()
    for module_name, groups in _group_modules().items():
        module = sys.modules[module_name]
        title = module_name.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        lines += [f"### {title}", "",
                  f"Module `{module_name}`; group{'s' if len(groups) > 1 else ''} "
                  + ", ".join(f"`{g}`" for g in groups) + ".", "",
                  docstring_body(inspect.getdoc(module)), ""]
        lines += ["| name | group | unit | frames | what and how | computed by |",
                  "|---|---|---|---|---|---|"]
        for group in groups:
            lines += _contour_rows(names[group])
        lines.append("")
    lines += [
        "## Functionals",
        "",
        docstring_body(inspect.getdoc(functionals)),
        "",
        *_functional_rows(),
        "",
        "In the unit column, *unit* is the contour's unit and *ratio* means "
        "dimensionless.",
        "",
        "## Feature sets",
        "",
    ]
    for fs in feature_sets.FEATURE_SETS.values():
        columns = fs.feature_names()
        lines += [
            f"### `{fs.name}` ({len(columns)} columns)",
            "",
            f"{fs.description} Contour groups computed: "
            + ", ".join(f"`{g}`" for g in sorted(fs.groups()))
            + ". Numbered families (`mfcc*`) are counted with the default "
            "settings.",
            "",
            *_set_rows(fs),
            "",
        ]
    lines += _nan_section(settings)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or check) ``docs/features.md``.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success; 1 with ``--check`` when the page is out of date.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that the page is up to date")
    parser.add_argument("--output", type=Path, default=PAGE,
                        help=f"where to write (default: {PAGE})")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        exists = args.output.exists()
        current = args.output.read_text(encoding="utf-8") if exists else ""
        if current != text:
            print(f"{args.output} is out of date: run python docs/gen/features.py",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
