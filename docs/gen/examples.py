"""Make the figures of ``docs/examples.md`` (worked examples on EMO-DB).

Every figure on the page is drawn by this script from the Berlin Emotional
Speech Database; the code excerpts on the page are cut from it (the
``--8<--`` markers), so page and script cannot disagree. It needs the corpus
and a few minutes on two cores, so the documentation tests do not run it::

    python docs/gen/examples.py                      # EMO-DB beside the repo
    python docs/gen/examples.py --emodb ../shared/data/emodb --only timeline

The figures go to ``docs/img/examples/`` (the script works in that folder,
so the excerpts save to bare file names); the figures' numbers (UAR, WAR,
importances) are printed, for the page's captions. Features are cached under
``~/.cache/sertk-docs`` (``--cache``), so a rerun takes seconds.

Examples
--------
>>> groups_of(["f0_semitone__p50", "loudness__mean", "jitter__local", "mfcc03__std"])
['pitch', 'energy', 'perturbation', 'spectral']
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import soundfile as sf
from _common import DOCS, ROOT  # puts sertk on the path
from matplotlib.figure import Figure
from sklearn.metrics import recall_score

import sertk
from sertk import (
    EmotionClassifier,
    FeatureExtractor,
    evaluate,
    load_model,
    plot_timeline,
    predict_timeline,
)
from sertk.features.contours import DESCRIPTORS, contour_info
from sertk.io.datasets import read_emodb
from sertk.io.model_files import TIMELINE_MODEL

#: Where the figures are written.
OUT = DOCS / "img" / "examples"
#: EMO-DB in the shared folder beside the repository.
DEFAULT_EMODB = ROOT.parent / "shared" / "data" / "emodb"
#: Feature cache, kept between runs.
DEFAULT_CACHE = Path.home() / ".cache" / "sertk-docs"
#: Resolution of every figure (keeps each PNG well under 150 kB).
DPI = 100
#: Contour groups in the order of the importance heatmap's columns.
GROUP_ORDER = ("pitch", "energy", "formants", "harmonics", "spectral",
               "perturbation", "temporal")
#: Seed of every random choice (timeline files and pauses, permutations).
SEED = 0


def groups_of(columns: Sequence[str]) -> list[str]:
    """Return the contour group of each feature column.

    Parameters
    ----------
    columns : sequence of str
        Feature names of a built-in set (``"f0_hz__mean"``, ``"jitter__local"``).

    Returns
    -------
    list of str
        Keys of :data:`sertk.features.contours.GROUPS`, one a column.

    Raises
    ------
    ParameterError
        If a name is not a sertk feature name.

    Examples
    --------
    >>> groups_of(["mfcc01_delta__mean", "voiced__fraction"])
    ['spectral', 'temporal']
    """
    # --8<-- [start:groups]
    return [contour_info(name if name in DESCRIPTORS  # jitter__local, ...
                         else sertk.parse_feature_name(name).contour).group
            for name in columns]
    # --8<-- [end:groups]


def extract(emodb: Path, cache: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return EMO-DB's manifest and the ``default`` features of its files."""
    # --8<-- [start:extract]
    corpus = read_emodb(emodb)  # path, label, speaker, gender, text
    extractor = FeatureExtractor(feature_set="default", n_jobs=2, cache=cache)
    features = extractor.transform(corpus["path"])  # 535 rows x 976 columns
    # --8<-- [end:extract]
    return corpus, features


def confusion(corpus: pd.DataFrame, features: pd.DataFrame) -> str:
    """Figure 1: confusion matrix of a strict leave-one-speaker-out run."""
    # --8<-- [start:confusion]
    report = evaluate(features, corpus["label"], corpus["speaker"],
                      protocol="strict", cv="loso", n_jobs=2)
    print(f"UAR {report.uar:.3f}  WAR {report.war:.3f}")
    report.plot_confusion("confusion.png", title=f"EMO-DB, strict LOSO: "
                          f"UAR {report.uar:.3f}, WAR {report.war:.3f}")
    # --8<-- [end:confusion]
    return (f"confusion.png: strict LOSO, {report.n_samples} files, "
            f"{report.n_speakers} speakers: UAR {report.uar:.3f}, "
            f"WAR {report.war:.3f}, macro-F1 {report.macro_f1:.3f}; recall "
            + ", ".join(f"{k} {v:.2f}" for k, v in report.recall.items()))


def prosody(corpus: pd.DataFrame, features: pd.DataFrame) -> str:
    """Figure 2: median F0, mean loudness and alpha ratio of each file, by emotion."""
    # --8<-- [start:prosody]
    columns = ["f0_semitone__p50", "loudness__mean", "alpha_ratio__mean"]
    table = features.assign(emotion=corpus["label"].to_numpy())
    medians = table.groupby("emotion")[columns].median()
    order = medians.sort_values("f0_semitone__p50").index  # lowest pitch first
    figure = Figure(figsize=(12, 3.8), layout="tight")
    for ax, column in zip(figure.subplots(1, 3), columns, strict=True):
        ax.boxplot([table.loc[table["emotion"] == e, column] for e in order],
                   tick_labels=order)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set_title(column)
    figure.savefig("prosody.png")
    # --8<-- [end:prosody]
    return "prosody.png: medians by emotion\n" + medians.loc[order].round(2).to_string()


def _concatenate(corpus: pd.DataFrame, speaker: str, n_files: int, path: Path,
                 rng: np.random.Generator) -> pd.DataFrame:
    """Write ``n_files`` utterances of one speaker, with pauses, to one wav."""
    rows = corpus[corpus["speaker"] == speaker]
    chosen = rows.iloc[rng.choice(len(rows), size=n_files, replace=False)]
    pieces, spans, t = [], [], 0.0
    for file, label in zip(chosen["path"], chosen["label"], strict=True):
        signal, sr = sf.read(file, dtype="float32")
        pause = np.zeros(int(rng.uniform(0.5, 1.5) * sr), dtype="float32")
        pieces += [signal, pause]
        spans.append((t, t + len(signal) / sr, label))
        t += (len(signal) + len(pause)) / sr
    sf.write(path, np.concatenate(pieces), sr)
    return pd.DataFrame(spans, columns=["start", "end", "label"])


def timeline(corpus: pd.DataFrame, features: pd.DataFrame) -> str:
    """Figure 3: the bundled model's timeline of a one-minute recording."""
    rng = np.random.default_rng(SEED)
    speaker = str(rng.choice(sorted(corpus["speaker"].unique())))
    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / f"speaker{speaker}.wav"
        truth = _concatenate(corpus, speaker, 20, recording, rng)
        # --8<-- [start:timeline]
        model = load_model(TIMELINE_MODEL)  # bundled, trained on 2 s windows
        timeline = predict_timeline(model, recording, window=2.0, hop=0.5)
        plot_timeline(timeline, "timeline.png",
                      title=f"EMO-DB speaker {speaker}: 20 utterances, one file")
        # --8<-- [end:timeline]
    speech = timeline[timeline["label"] != "silence"]
    centre = (speech["start"] + speech["end"]).to_numpy() / 2
    inside = (centre[:, None] >= truth["start"].to_numpy()) & (
        centre[:, None] < truth["end"].to_numpy())
    matched = inside.any(axis=1)
    true_label = truth["label"].to_numpy()[inside.argmax(axis=1)][matched]
    agree = int(np.sum(speech["label"].to_numpy()[matched] == true_label))
    return (f"timeline.png: speaker {speaker}, {len(truth)} files, "
            f"{truth['end'].iloc[-1]:.1f} s of audio incl. pauses, {len(timeline)} "
            f"windows, {len(speech)} speech windows; label of the utterance under "
            f"the window centre agrees in {agree} of {matched.sum()} "
            f"(training data: not accuracy)\ntrue order: "
            + " ".join(truth["label"]))


def group_importance(features: pd.DataFrame, y: np.ndarray, train: np.ndarray,
                     n_repeats: int = 3, seed: int = SEED) -> pd.DataFrame:
    """Drop in each class's recall when one contour group's columns are shuffled.

    Parameters
    ----------
    features : pd.DataFrame
        Feature table of a built-in set.
    y : np.ndarray
        Labels of its rows.
    train : np.ndarray of bool
        Rows to train on; the others are the test rows.
    n_repeats : int, default=3
        Shuffles of each group.
    seed : int, default=SEED
        Seed of the shuffles.

    Returns
    -------
    pd.DataFrame
        Emotions x groups: test recall of the emotion with every column
        intact minus its mean recall with the group's columns permuted
        jointly (one permutation of the rows for all of them); NaN for an
        emotion absent from the test rows.
    """
    # --8<-- [start:importance]
    model = EmotionClassifier(speaker_norm=False, probability=False)
    model.fit(features[train], y[train])
    test, y_test = features[~train], y[~train]
    labels = sorted(set(y))

    def recalls(X):  # recall of each emotion, one-vs-rest; NaN if absent
        return recall_score(y_test, model.predict(X), labels=labels, average=None,
                            zero_division=np.nan)

    baseline = recalls(test)
    groups = pd.Series(groups_of(features.columns), index=features.columns)
    rng = np.random.default_rng(seed)
    drops = {}
    for group in GROUP_ORDER:
        columns = groups.index[groups == group]
        permuted = []
        for _ in range(n_repeats):
            shuffled = test.copy()
            shuffled[columns] = test[columns].to_numpy()[rng.permutation(len(test))]
            permuted.append(recalls(shuffled))
        drops[group] = baseline - np.mean(permuted, axis=0)
    # --8<-- [end:importance]
    return pd.DataFrame(drops, index=labels)


def importance(corpus: pd.DataFrame, features: pd.DataFrame) -> str:
    """Figure 4: heatmap of the group importances, averaged over held-out speakers."""
    y = corpus["label"].to_numpy()
    speakers = corpus["speaker"].to_numpy()
    # --8<-- [start:importance-loop]
    per_speaker = [group_importance(features, y, train=speakers != held_out)
                   for held_out in sorted(set(speakers))]
    drops = pd.concat(per_speaker).groupby(level=0).mean()  # NaN skipped
    # --8<-- [end:importance-loop]
    sizes = pd.Series(groups_of(features.columns)).value_counts()
    figure = Figure(figsize=(10, 4.4), layout="tight")
    ax = figure.subplots()
    limit = float(np.abs(drops.to_numpy()).max())
    image = ax.imshow(drops.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit,
                      aspect="auto")
    figure.colorbar(image, ax=ax, label="drop in recall when shuffled")
    ax.set_xticks(range(drops.shape[1]),
                  [f"{g}\n({sizes.get(g, 0)})" for g in drops.columns])
    ax.set_yticks(range(drops.shape[0]), drops.index)
    for (i, j), value in np.ndenumerate(drops.to_numpy()):
        ax.text(j, i, f"{round(value, 2) + 0:.2f}", ha="center", va="center",
                fontsize=8, color="white" if abs(value) > 0.6 * limit else "black")
    ax.set_title("Permutation importance of each contour group "
                 "(mean over 10 held-out speakers)", fontsize=10)
    figure.savefig("importance.png")
    top = "\n".join(f"  {e}: " + ", ".join(f"{g} {v:.2f}" for g, v in
                                         row.sort_values(ascending=False)[:3].items())
                    for e, row in drops.iterrows())
    return ("importance.png: drop in recall, mean over held-out speakers\n"
            + drops.round(3).to_string() + "\ntop groups per emotion:\n" + top)


#: The figures, in page order.
FIGURES: dict[str, Callable[[pd.DataFrame, pd.DataFrame], str]] = {
    "confusion": confusion,
    "prosody": prosody,
    "timeline": timeline,
    "importance": importance,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Make the figures; print their numbers. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emodb", type=Path, default=DEFAULT_EMODB,
                        help="EMO-DB folder (with manifest.csv)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="feature cache folder")
    parser.add_argument("--only", choices=list(FIGURES), action="append",
                        help="make only this figure (repeatable)")
    args = parser.parse_args(argv)
    if not (args.emodb / "manifest.csv").is_file():
        parser.error(f"no EMO-DB manifest at {args.emodb / 'manifest.csv'}; "
                     "give the corpus folder with --emodb")
    emodb, cache = args.emodb.resolve(), args.cache.expanduser().resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    os.chdir(OUT)  # the excerpts on the page save to bare file names
    matplotlib.rcParams["savefig.dpi"] = DPI
    corpus, features = extract(emodb, cache)
    for name in args.only or FIGURES:
        print(FIGURES[name](corpus, features), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
