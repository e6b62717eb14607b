"""Pictures of explanations and dimensions: a bar chart a file, a circumplex a batch.

:func:`plot_explanation` draws one file's rows of
:func:`sertk.models.explanations.explain` as horizontal bars (each feature's share
of the label's margin, its phrase beside it); :func:`plot_circumplex` draws
the arousal and valence of a batch of files (``predict_files`` of a model
trained with ``dimensions``) as points on Russell's circumplex, with the
anchors of :data:`sertk.models.dimensions.RUSSELL_ANCHORS` around the circle. Both
write atomically with matplotlib's Agg renderer (no display needed).

Examples
--------
>>> import os, tempfile
>>> import pandas as pd
>>> table = pd.DataFrame({"path": ["a.wav", "b.wav"], "label": ["anger", "sadness"],
...                       "arousal": [0.7, -0.6], "valence": [-0.5, -0.4]})
>>> plot_circumplex(table, os.path.join(tempfile.mkdtemp(), "c.png")).name
'c.png'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sertk.errors import ParameterError
from sertk.features.tables import replace_durably, temporary_beside
from sertk.models.dimensions import RUSSELL_ANCHORS

__all__ = ["plot_circumplex", "plot_explanation"]


def _figure(path: str | os.PathLike, size: tuple[float, float]) -> tuple[Any, str]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in figure.canvas.get_supported_filetypes():
        raise ParameterError(
            f"cannot write a figure as {Path(path).name!r}; end the name in .png, "
            ".svg or .pdf")
    return figure, fmt


def _save(figure: Any, fmt: str, path: str | os.PathLike) -> Path:
    temporary = temporary_beside(os.fspath(path))
    try:
        figure.savefig(temporary, format=fmt, dpi=100)
        replace_durably(temporary, os.fspath(path))
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return Path(path)


def plot_explanation(rows: pd.DataFrame, path: str | os.PathLike, *,
                     title: str | None = None) -> Path:
    """Draw one file's explanation as a bar chart.

    Parameters
    ----------
    rows : pd.DataFrame
        The rows of one file from :func:`sertk.models.explanations.explain`
        (``rank``, ``share``, ``text``, ``label``).
    path : str or os.PathLike
        Image to write (``.png``, ``.svg``, ``.pdf``); its folder must exist.
    title : str, optional
        Figure title (default: the label).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        If ``rows`` is empty or ``path`` has an ending matplotlib cannot write.

    Examples
    --------
    >>> import os, tempfile
    >>> rows = pd.DataFrame({"rank": [1, 2], "share": [0.5, 0.2], "label": "anger",
    ...                      "text": ["loudness +1.4 SD", "pitch +0.9 SD"]})
    >>> plot_explanation(rows, os.path.join(tempfile.mkdtemp(), "e.png")).name
    'e.png'
    """
    if rows.empty:
        raise ParameterError("no explanation rows to draw (a silent or failed file)")
    rows = rows.sort_values("rank")
    figure, fmt = _figure(path, (8.0, 0.5 + 0.45 * len(rows)))
    ax = figure.subplots()
    positions = np.arange(len(rows))[::-1]
    shares = 100 * rows["share"].to_numpy(dtype=float)
    ax.barh(positions, shares, color="tab:red", height=0.6)
    ax.set_yticks(positions, rows["text"].tolist(), fontsize=8)
    ax.set_xlabel("share of the margin toward the label (%)")
    ax.set_xlim(0, max(5.0, float(np.nanmax(shares)) * 1.1))
    label = str(rows["label"].iloc[0])
    ax.set_title(title if title is not None else f"why {label}", fontsize=10)
    return _save(figure, fmt, path)


def plot_circumplex(table: pd.DataFrame, path: str | os.PathLike, *,
                    title: str | None = None) -> Path:
    """Draw the arousal and valence of a batch of files on the circumplex.

    Parameters
    ----------
    table : pd.DataFrame
        One row a file with ``arousal`` and ``valence`` (rows without them,
        silent or failed files, are left out) and ``label``; ``path`` names
        the points when there are at most 12; ``out_of_distribution`` rows
        are drawn hollow.
    path : str or os.PathLike
        Image to write; its folder must exist.
    title : str, optional
        Figure title.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        If ``table`` lacks the columns, or ``path`` has an ending matplotlib
        cannot write.
    """
    missing = [c for c in ("arousal", "valence", "label") if c not in table]
    if missing:
        raise ParameterError(
            f"the table lacks {missing}; predict with a model trained with "
            "dimensions (sertk-train --dimensions)")
    figure, fmt = _figure(path, (6.4, 6.4))
    ax = figure.subplots()
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.7", linewidth=0.8)
    ax.axhline(0, color="0.8", linewidth=0.6)
    ax.axvline(0, color="0.8", linewidth=0.6)
    for word, angle in RUSSELL_ANCHORS.items():
        a = np.deg2rad(angle)
        ax.text(1.12 * np.cos(a), 1.12 * np.sin(a), word, ha="center", va="center",
                fontsize=8, color="0.4")
    shown = table.dropna(subset=["arousal", "valence"])
    labels = shown["label"].astype(str)
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    novel = (shown["out_of_distribution"].fillna(False).to_numpy(dtype=bool)
             if "out_of_distribution" in shown else np.zeros(len(shown), bool))
    for k, label in enumerate(sorted(labels.unique())):
        mine = (labels == label).to_numpy()
        for hollow in (False, True):
            rows = mine & (novel == hollow)
            if rows.any():
                ax.scatter(shown["valence"][rows], shown["arousal"][rows],
                           s=40, label=label + (" (out of distribution)" * hollow),
                           facecolors="none" if hollow else cmap(k % 10),
                           edgecolors=cmap(k % 10))
    if "path" in shown and len(shown) <= 12:
        for _, row in shown.iterrows():
            ax.annotate(Path(str(row["path"])).stem, (row["valence"], row["arousal"]),
                        fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    ax.set_title(title if title is not None else "arousal and valence", fontsize=10)
    return _save(figure, fmt, path)
