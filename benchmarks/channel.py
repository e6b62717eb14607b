"""Noise, telephone and room: UAR of the chosen training mix against clean training.

Test audio of a manifest (EMO-DB by default) is put in each condition of
:data:`CONDITIONS` (:mod:`sertk.audio.conditions`: noise at an SNR on active
speech power, the telephone band, G.711 mu-law, the GSM 06.10 codec,
synthetic rooms of RT60 0.3, 0.6 and 1.0 s, 12 dB of clipping). Models are
trained leave-one-speaker-out, *strict* protocol, on clean audio (the
``EmotionClassifier()`` defaults: recordings and their speed copies), or
with the condition copies of the chosen training mix too
(``augment=sertk.models.augment.AUGMENT_MIX``, chosen by ``benchmarks.noise_mix``).
sertk ``default`` and openSMILE eGeMAPSv02 side by side, trained the same
way on the same audio: every copy and every test signal comes from
:func:`sertk.models.augment.copy_signal`, the function sertk's own copies are
made with, and is analysed by each extractor.

Copies of training recordings are remade in each fold when they draw
babble, from that fold's training speakers other than the recording's own;
test babble comes from every speaker but the recording's own (in
leave-one-speaker-out, training speakers). Test audio uses another seed
than the training copies. The tables keep their column names, so sertk's
features get the classifier's out-of-distribution fallback, as the bundled
models do; eGeMAPS columns get none.

Prints the table and writes it to the ``channel`` section of
``docs/benchmarks.md``. Run from the repository root::

    python -m benchmarks.channel            # EMO-DB
    python -m benchmarks.channel --quick    # 4 speakers
"""

from __future__ import annotations

import functools
import sys
import time

import numpy as np
import pandas as pd

from benchmarks._common import (
    benchmark_parser,
    cached_table,
    command_line,
    conditions_hash,
    corpus_or_exit,
    freeze_sertk,
    made_with,
    markdown_table,
    provenance,
    sertk_source_hash,
)
from benchmarks._report import update_section

SR = 16000
N_JOBS = 2
CHUNK = 16
SEED, TEST_SEED = 0, 1000
SETS = ("default", "eGeMAPSv02")
CONDITIONS = ("white-10", "babble-10", "telephone", "mu-law", "gsm", "reverb-0.3",
              "reverb-0.6", "reverb-1.0", "clip-12")
#: Issue 21's targets for the recipe, strict: most points lost from clean.
TARGETS = {"white-10": 8, "babble-10": 8, "telephone": 4, "mu-law": 4,
           "reverb-0.6": 8}
QUICK_SPEAKERS = 4


@functools.cache
def _smile():
    import opensmile

    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def _columns(fs: str) -> list[str]:
    if fs == "eGeMAPSv02":
        return list(_smile().feature_names)
    from sertk.features.extractor import FeatureExtractor

    return list(FeatureExtractor(fs).get_feature_names_out())


def _analyse(fs: str, signal: np.ndarray) -> np.ndarray:
    if fs == "eGeMAPSv02":
        return _smile().process_signal(signal, SR).to_numpy(dtype=np.float64)[0]
    from sertk.features.extractor import extract_signal

    return extract_signal(signal, SR, feature_set=fs).to_numpy()


def _rows(fs: str, jobs: list[tuple]) -> np.ndarray:
    """Worker: each job's signal, analysed (NaN when it fails)."""
    from sertk.audio import load
    from sertk.errors import SertkError
    from sertk.models.augment import copy_signal

    out = np.full((len(jobs), len(_columns(fs))), np.nan)
    for j, (paths, i, entry, speakers, seed, speed) in enumerate(jobs):
        try:
            signal = (load(paths[i], SR, speed=speed) if entry is None else
                      copy_signal(paths, i, [entry], speakers=speakers, seed=seed)[0])
            out[j] = _analyse(fs, signal)
        except SertkError:
            continue
    return out


def features(fs: str, paths: list[str], speakers: np.ndarray, entry: str | None,
             rows: list[int], name: str, *, seed: int = SEED, speed: float = 1.0
             ) -> np.ndarray:
    """Features of recordings ``rows`` (cached): clean, at a speed, or a copy.

    ``entry`` None: the recording itself (at ``speed``); else its copy for
    that ``augment`` entry, babble from the other speakers of ``paths``.
    Returns (len(paths), n_features), NaN outside ``rows``.
    """
    from joblib import Parallel, delayed

    def compute() -> pd.DataFrame:
        shared = (paths, speakers.tolist())
        jobs = [(shared[0], i, entry, shared[1], seed, speed) for i in rows]
        chunks = [jobs[k : k + CHUNK] for k in range(0, len(jobs), CHUNK)]
        blocks = Parallel(n_jobs=N_JOBS)(delayed(_rows)(fs, c) for c in chunks)
        table = np.full((len(paths), len(_columns(fs))), np.nan)
        if blocks:
            table[rows] = np.vstack(blocks)
        return pd.DataFrame(table, columns=_columns(fs))

    started = time.perf_counter()
    key = {"set": fs, "paths": paths, "speakers": speakers.tolist(), "entry": entry,
           "rows": rows, "seed": seed, "speed": speed, "source": sertk_source_hash(),
           "conditions": conditions_hash()}
    if fs == "eGeMAPSv02":
        import opensmile

        key["opensmile"] = opensmile.__version__
    table = cached_table(f"channel-{fs}-{name}", key, compute)
    print(f"  {fs} {name}: {len(rows)} signals, "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return table.to_numpy()


def training_copies(fs: str, corpus, augment: tuple[str, ...]) -> tuple:
    """Speed copies of every recording, and per fold the recipe's copies.

    Returns (n, 2, f) speed copies and ``{test speaker: (n, n_entries, f)}``,
    the rows that drew babble remade from the fold's training speakers.
    """
    from sertk.models.augment import SPEED_FACTORS, draw_conditions

    paths, spk = corpus.paths, corpus.speakers
    everyone = list(range(len(paths)))
    speed = np.stack([features(fs, paths, spk, None, everyone, f"speed{f}", speed=f)
                      for f in SPEED_FACTORS], axis=1)
    folds = {s: [] for s in sorted(set(spk))}
    for n, entry in enumerate(augment):
        drawn = np.array(draw_conditions([entry], paths, SEED)[0]).astype(str)
        babble = np.flatnonzero(np.char.startswith(drawn, "babble"))
        others = np.setdiff1d(np.arange(len(paths)), babble).tolist()
        shared = features(fs, paths, spk, entry, others, f"entry{n}")
        for s in folds:
            copies = shared.copy()
            fold = babble[spk[babble] != s]
            if fold.size:
                sub = corpus.subset([x for x in sorted(set(spk)) if x != s])
                index = {p: i for i, p in enumerate(sub.paths)}
                rows = [index[paths[i]] for i in fold]
                made = features(fs, sub.paths, sub.speakers, entry, rows,
                                f"entry{n}-not{s}")
                copies[fold] = made[rows]
            folds[s].append(copies)
    return speed, {s: np.stack(c, axis=1) if c else None for s, c in folds.items()}


def _fit_predict(X_train, copies, y_train, spk_train, tests):
    """Fit a strict model on one fold; return each test condition's labels."""
    from sertk.evaluation.protocols import ProtocolClassifier
    from sertk.models.classifier import EmotionClassifier

    model = ProtocolClassifier(EmotionClassifier(probability=False), protocol="strict")
    model.fit(X_train, y_train, speakers=spk_train, augmented=copies)
    return {c: model.predict(X) for c, X in tests.items()}


def evaluate_set(fs: str, corpus, augment: tuple[str, ...], conditions) -> dict:
    """UAR by (regime, condition), strict leave-one-speaker-out."""
    from joblib import Parallel, delayed
    from sklearn.metrics import balanced_accuracy_score

    paths, y, spk = corpus.paths, corpus.labels, corpus.speakers
    columns = _columns(fs)
    everyone = list(range(len(paths)))
    clean = features(fs, paths, spk, None, everyone, "clean")
    tests = {"clean": clean} | {
        c: features(fs, paths, spk, c, everyone, f"test-{c}", seed=TEST_SEED)
        for c in conditions}
    speed, recipe = training_copies(fs, corpus, augment)
    jobs, keys = [], []
    for s in sorted(set(spk)):
        tr, te = spk != s, spk == s
        test_rows = {c: pd.DataFrame(X[te], columns=columns) for c, X in tests.items()}
        for regime in ("clean", "recipe"):
            copies = speed[tr] if regime == "clean" else np.concatenate(
                [speed[tr], recipe[s][tr]], axis=1)
            jobs.append(delayed(_fit_predict)(
                pd.DataFrame(clean[tr], columns=columns), copies, y[tr], spk[tr],
                test_rows))
            keys.append((s, regime))
    outputs = Parallel(n_jobs=N_JOBS)(jobs)
    uar = {}
    for regime in ("clean", "recipe"):
        for c in tests:
            pred = np.empty(len(y), dtype=y.dtype)
            for (s, r), out in zip(keys, outputs, strict=True):
                if r == regime:
                    pred[spk == s] = out[c]
            uar[regime, c] = balanced_accuracy_score(y, pred)
    return uar


FIGURE = "img/channel.png"  # under docs/


def plot(results: dict, conditions, path) -> None:
    """Bar chart: UAR in each condition, clean-trained and recipe-trained."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["clean", *conditions]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / (2 * len(results))
    x = np.arange(len(names))
    bars = 0
    for fs, uar in results.items():
        for regime, hatch in (("clean", ""), ("recipe", "//")):
            label = f"{fs}, " + ("clean training" if regime == "clean"
                                 else "with the recipe's copies")
            ax.bar(x + (bars - len(results) + 0.5) * width,
                   [uar[regime, c] for c in names], width, label=label, hatch=hatch,
                   color=f"C{list(results).index(fs)}",
                   alpha=1.0 if regime == "recipe" else 0.55)
            bars += 1
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylabel("UAR (strict, leave-one-speaker-out)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=2, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(results, corpus, augment, conditions, command, seconds) -> str:
    """Return the Markdown section."""
    names = ["clean", *conditions]
    rows = []
    for fs, uar in results.items():
        for regime in ("clean", "recipe"):
            label = "recordings + speed copies" if regime == "clean" else \
                "+ the chosen mix's condition copies"
            rows.append([f"`{fs}`", label, *(f"{uar[regime, c]:.3f}" for c in names)])
    for fs, uar in results.items():
        for regime in ("clean", "recipe"):
            rows.append([f"`{fs}`", f"points lost, {regime}", "",
                         *(f"{100 * (uar[regime, 'clean'] - uar[regime, c]):.1f}"
                           for c in conditions)])
    parts = [
        f"Strict UAR, leave-one-speaker-out on {len(corpus.paths)} files of "
        f"{len(set(corpus.speakers))} speakers, test audio in each condition "
        "(`sertk.audio.conditions`: SNR on active speech power; telephone: 300-3400 "
        "Hz at 8 kHz; mu-law: G.711 at 8 kHz; gsm: telephone band and GSM 06.10 "
        "at 13 kbit/s; reverb-RT60: synthetic room; clip-12: peaks driven 12 dB "
        "over the clipping level). "
        + " and ".join(f"`{fs}`" for fs in results) + " through `EmotionClassifier()` "
        "(its speed copies 0.9 and 1.1), trained on clean recordings or also on "
        "the chosen mix's condition copies (`augment=AUGMENT_MIX`: "
        + ", ".join(f"`{e}`" for e in augment) + "), the same signals analysed by "
        f"each extractor. One seed ({SEED} for copies, {TEST_SEED} for test "
        "audio). Points lost = 100 × (UAR clean − UAR in the condition), same "
        "training.",
        markdown_table(["features", "trained on", *names], rows,
                       align="ll" + "r" * len(names))]
    if "default" in results:
        uar = results["default"]
        lines = []
        for c, limit in TARGETS.items():
            if c not in conditions:
                continue
            lost = 100 * (uar["recipe", "clean"] - uar["recipe", c])
            verdict = "met" if lost <= limit else f"NOT met (by {lost - limit:.1f})"
            lines.append(f"- {c}: {lost:.1f} points lost, target <= {limit}: "
                         f"**{verdict}**")
        parts += ["Issue 21 targets for the recipe (sertk `default`, strict):",
                  "\n".join(lines)]
    parts += [provenance("opensmile", "praat-parselmouth", "soxr", "soundfile",
                         "scipy", "numpy", "scikit-learn"),
              made_with(command, seconds, cached="features")]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(
        "channel", __doc__, quick=f"the first {QUICK_SPEAKERS} speakers; nothing "
        "is written to the docs")
    parser.add_argument("--sets", default=",".join(SETS),
                        help="comma-separated feature sets (default: %(default)s)")
    args = parser.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if not sets or any(s not in SETS for s in sets):
        parser.error(f"--sets {args.sets!r}: choose from {', '.join(SETS)}")
    freeze_sertk()
    from sertk.models.augment import AUGMENT_MIX

    corpus = corpus_or_exit(parser, args.manifest)
    if args.quick:
        corpus = corpus.first_speakers(QUICK_SPEAKERS)
    command = command_line("benchmarks.channel", sys.argv[1:] if argv is None else argv)
    print(f"command: {command}", flush=True)
    started = time.perf_counter()
    results = {}
    for fs in sets:
        results[fs] = evaluate_set(fs, corpus, AUGMENT_MIX, CONDITIONS)
        print(f"  {fs}: " + ", ".join(f"{r} {c} {v:.3f}"
                                      for (r, c), v in results[fs].items()),
              flush=True)
    markdown = report(results, corpus, AUGMENT_MIX, CONDITIONS, command,
                      time.perf_counter() - started)
    print("\n" + markdown)
    if not (args.quick or args.no_docs):
        page = update_section(
            "channel", markdown,
            title="Noise, telephone and room: the chosen training mix")
        plot(results, CONDITIONS, page.parent / FIGURE)
        print(f"\nwritten to {page} and {page.parent / FIGURE}")
    return 0


if __name__ == "__main__":
    from benchmarks.channel import main as _main

    sys.exit(_main())
