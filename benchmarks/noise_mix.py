"""Which condition copies to train on: the training mix chosen by nested CV.

Candidates are ``augment`` settings of :class:`sertk.EmotionClassifier`
(see :mod:`sertk.models.augment`), each on top of the strict defaults (speed
copies 0.9 and 1.1): none; noise; noise + phone; noise + phone + room; one
copy drawn from all of them. Outer loop: leave-one-speaker-out on the
manifest (EMO-DB by default), *strict* protocol, sertk ``default``
features. Inner loop: 3 grouped folds of the outer training speakers. The
rule (issue 21): among the candidates whose inner clean UAR is within
:data:`CLEAN_MARGIN` of the no-copies candidate's, the one with the highest
mean inner UAR over the degraded test conditions (:data:`TEST`); each outer
fold's choice is then scored on the held-out speaker in every condition.

Copies are made by the library (:func:`sertk.models.augment.condition_copies`,
the path ``EmotionClassifier.fit`` takes): a copy's condition is drawn from
its entry by the seed, the entry and the recording's path, so it is the
same in every fold; a babble copy is remade in each outer fold from that
fold's training speakers other than the recording's own, so the held-out
speaker is never heard in training. Inner folds reuse the outer fold's
copies: an inner validation speaker can be among the talkers of an inner
training copy's babble (this can sway the choice, not the outer score).
Test audio is degraded by the same functions with another seed; test
babble comes from every speaker but the recording's own.

Prints the tables and writes them to the ``noise-mix`` section of
``docs/benchmarks.md``. Run from the repository root::

    python -m benchmarks.noise_mix            # EMO-DB
    python -m benchmarks.noise_mix --quick    # 4 speakers, 2 candidates
"""

from __future__ import annotations

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
    sertk_features,
    sertk_source_hash,
)
from benchmarks._report import update_section

N_JOBS = 2
SEED, TEST_SEED = 0, 1000
FEATURE_SET = "default"
CLEAN_MARGIN = 0.02
INNER_FOLDS = 3
#: Degraded test conditions the rule averages over (issue 21's targets).
TEST = ("white-10", "babble-10", "telephone", "mu-law", "reverb-0.6")
NOISE = "white-20|white-10|white-0|pink-10|brown-10|babble-20|babble-10|babble-0"
PHONE = "telephone|mu-law|a-law|gsm"
ROOM = "reverb-0.3|reverb-0.6|reverb-1.0"
CANDIDATES = {
    "none": (),
    "noise": (NOISE,),
    "noise, phone": (NOISE, PHONE),
    "noise, phone, room": (NOISE, PHONE, ROOM),
    "one of all": (f"{NOISE}|{PHONE}|{ROOM}",),
}
QUICK_SPEAKERS = 4
QUICK_CANDIDATES = ("none", "noise, phone, room")


def _extractor():
    from sertk.features.extractor import FeatureExtractor

    return FeatureExtractor(FEATURE_SET, n_jobs=N_JOBS)


def _table(copies: np.ndarray, columns, paths) -> pd.DataFrame:
    n, k, f = copies.shape
    return pd.DataFrame(copies.reshape(n * k, f), columns=columns,
                        index=pd.MultiIndex.from_product(
                            [paths, range(k)], names=["path", "copy"]))


def _array(table: pd.DataFrame, n: int) -> np.ndarray:
    return table.to_numpy().reshape(n, -1, table.shape[1])


def copies_of(corpus, augment: tuple[str, ...], seed: int, name: str, key: dict,
              speakers=None, rows=None) -> np.ndarray:
    """Condition copies (cached): (n_recordings, n_entries, n_features)."""
    from sertk.models.augment import condition_copies

    extractor = _extractor()
    columns = extractor.get_feature_names_out()

    def compute() -> pd.DataFrame:
        return _table(condition_copies(
            extractor, corpus.paths, list(augment), speakers=speakers, seed=seed,
            rows=rows), columns, corpus.paths)

    started = time.perf_counter()
    table = cached_table(f"noisemix-{name}", {
        **key, "augment": augment, "seed": seed, "rows": rows,
        "speakers": None if speakers is None else list(speakers),
        "source": sertk_source_hash(), "conditions": conditions_hash()},
        compute)
    print(f"  {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return _array(table, len(corpus.paths))


def training_copies(corpus, key: dict) -> tuple[np.ndarray, dict]:
    """Speed copies of every recording and, per fold, each entry's copies.

    Returns the speed copies (n, 2, f) and ``{test speaker: {entry index in
    entry: (n, f) array}}``, babble rows remade per fold.
    """
    from sertk.models.augment import SPEED_FACTORS, draw_conditions, speed_copies

    speed = cached_table("noisemix-speed", {**key, "source": sertk_source_hash()},
                         lambda: _table(speed_copies(_extractor(), corpus.paths,
                                                     SPEED_FACTORS),
                                        _extractor().get_feature_names_out(),
                                        corpus.paths))
    speed = _array(speed, len(corpus.paths))
    entries = sorted({e for aug in CANDIDATES.values() for e in aug})
    per_fold = {s: {} for s in sorted(set(corpus.speakers))}
    for n, entry in enumerate(entries):
        drawn = np.array(draw_conditions([entry], corpus.paths, SEED)[0])
        babble = np.flatnonzero(np.char.startswith(drawn.astype(str), "babble"))
        others = np.setdiff1d(np.arange(len(corpus.paths)), babble)
        shared = copies_of(corpus, (entry,), SEED, f"entry{n}", key,
                           corpus.speakers, others.tolist())[:, 0]
        for s in per_fold:
            copies = shared.copy()
            fold = babble[corpus.speakers[babble] != s]
            if fold.size:
                sub = corpus.subset([x for x in sorted(set(corpus.speakers)) if x != s])
                index = {p: i for i, p in enumerate(sub.paths)}
                rows = [index[corpus.paths[i]] for i in fold]
                made = copies_of(sub, (entry,), SEED, f"entry{n}-not{s}", key,
                                 sub.speakers, rows)[:, 0]
                copies[fold] = made[rows]
            per_fold[s][entry] = copies
    return speed, per_fold


def _fit_predict(X_train, copies, y_train, spk_train, tests):
    """Fit a strict model; return each test condition's labels."""
    from sertk.evaluation.protocols import ProtocolClassifier
    from sertk.models.classifier import EmotionClassifier

    model = ProtocolClassifier(EmotionClassifier(probability=False), protocol="strict")
    model.fit(X_train, y_train, speakers=spk_train, augmented=copies)
    return {c: model.predict(X) for c, X in tests.items()}


def _copies(speed, fold_copies, candidate, rows):
    parts = [speed[rows]] + [fold_copies[e][rows][:, None]
                             for e in CANDIDATES[candidate]]
    return np.concatenate(parts, axis=1)


def run(corpus, candidates, tests, clean, speed, per_fold):
    """Outer and inner fits; return inner scores and outer predictions."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold

    y, spk = corpus.labels, corpus.speakers
    jobs, keys = [], []
    for s in sorted(set(spk)):
        outer_tr = np.flatnonzero(spk != s)
        outer_te = np.flatnonzero(spk == s)
        for cand in candidates:
            jobs.append(delayed(_fit_predict)(
                clean[outer_tr], _copies(speed, per_fold[s], cand, outer_tr),
                y[outer_tr], spk[outer_tr],
                {c: X[outer_te] for c, X in tests.items()}))
            keys.append(("outer", s, cand, None))
            inner = GroupKFold(INNER_FOLDS).split(outer_tr, groups=spk[outer_tr])
            for f, (i_tr, i_va) in enumerate(inner):
                tr, va = outer_tr[i_tr], outer_tr[i_va]
                jobs.append(delayed(_fit_predict)(
                    clean[tr], _copies(speed, per_fold[s], cand, tr), y[tr], spk[tr],
                    {c: X[va] for c, X in tests.items()}))
                keys.append(("inner", s, cand, (f, va)))
    outputs = Parallel(n_jobs=N_JOBS, verbose=5)(jobs)
    return list(zip(keys, outputs, strict=True))


def choose(results, corpus, candidates, conditions):
    """Apply the rule per outer fold; return choices, inner and outer UARs."""
    from sklearn.metrics import balanced_accuracy_score

    y, spk = corpus.labels, corpus.speakers
    choices, inner_uar = {}, {}
    for s in sorted(set(spk)):
        for cand in candidates:
            preds = {c: np.empty(len(y), dtype=y.dtype) for c in conditions}
            mask = np.zeros(len(y), dtype=bool)
            for (kind, fs, fc, extra), out in results:
                if kind == "inner" and fs == s and fc == cand:
                    va = extra[1]
                    mask[va] = True
                    for c in conditions:
                        preds[c][va] = out[c]
            inner_uar[s, cand] = {c: balanced_accuracy_score(y[mask], preds[c][mask])
                                  for c in conditions}
        base = inner_uar[s, "none"]["clean"] if "none" in candidates else -1
        allowed = [c for c in candidates
                   if inner_uar[s, c]["clean"] >= base - CLEAN_MARGIN]
        choices[s] = max(allowed, key=lambda c: np.mean(
            [inner_uar[s, c][t] for t in TEST if t in conditions]))
    outer = {}
    for cand in [*candidates, "nested"]:
        for c in conditions:
            pred = np.empty(len(y), dtype=y.dtype)
            for (kind, fs, fc, _), out in results:
                wanted = choices[fs] if cand == "nested" else cand
                if kind == "outer" and fc == wanted:
                    pred[spk == fs] = out[c]
            outer[cand, c] = balanced_accuracy_score(y, pred)
    return choices, inner_uar, outer


def report(corpus, candidates, conditions, choices, outer, command, seconds) -> str:
    """Return the Markdown section."""
    n_spk = len(set(corpus.speakers))
    counts = pd.Series(list(choices.values())).value_counts()
    rows = []
    for cand in [*candidates, "nested"]:
        name = "**chosen by nested CV**" if cand == "nested" else f"`{cand}`"
        lost = [100 * (outer[cand, "clean"] - outer[cand, c]) for c in TEST
                if c in conditions]
        rows.append([name, *(f"{outer[cand, c]:.3f}" for c in conditions),
                     f"{np.mean(lost):.1f}",
                     "" if cand == "nested" else str(int(counts.get(cand, 0)))])
    header = ["training copies", *conditions, "mean points lost", "chosen in folds"]
    entries = "; ".join(f"`{name}`: " + (", ".join(f"`{e}`" for e in aug) or "-")
                        for name, aug in CANDIDATES.items() if name in candidates)
    return "\n\n".join([
        f"Strict UAR, leave-one-speaker-out on {len(corpus.paths)} files of "
        f"{n_spk} speakers, sertk `{FEATURE_SET}` with `EmotionClassifier()` "
        "defaults (speed copies 0.9, 1.1) plus the condition copies of each "
        f"candidate `augment` setting ({entries}; an entry is one copy of each "
        "recording, its condition drawn from the `|` alternatives). Test audio "
        "degraded as named (`sertk.audio.conditions`; SNR on active speech power). "
        f"Nested CV: in each outer fold, {INNER_FOLDS} grouped inner folds "
        "score every candidate; the rule keeps those whose inner clean UAR is "
        f"within {100 * CLEAN_MARGIN:.0f} points of `none`'s and picks the "
        "highest mean inner UAR over " + ", ".join(TEST) + ". Rows by "
        "candidate are each fixed candidate's outer score (for comparison, not "
        "a choice); the last row scores each fold's own choice. One noise "
        f"seed ({SEED} for training copies, {TEST_SEED} for test audio); an "
        "inner validation speaker can be among the babble talkers of an inner "
        "training copy (never the outer test speaker).",
        markdown_table(header, rows, align="l" + "r" * (len(header) - 1)),
        provenance("praat-parselmouth", "soxr", "soundfile", "scipy", "numpy",
                   "scikit-learn"),
        made_with(command, seconds, cached="features")])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(
        "noise_mix", __doc__, quick=f"the first {QUICK_SPEAKERS} speakers and "
        f"candidates {', '.join(QUICK_CANDIDATES)}; nothing is written to the docs")
    args = parser.parse_args(argv)
    freeze_sertk()
    corpus = corpus_or_exit(parser, args.manifest)
    candidates = list(CANDIDATES)
    if args.quick:
        corpus = corpus.first_speakers(QUICK_SPEAKERS)
        candidates = list(QUICK_CANDIDATES)
    command = command_line("benchmarks.noise_mix",
                           sys.argv[1:] if argv is None else argv)
    print(f"command: {command}", flush=True)
    started = time.perf_counter()
    key = {"manifest": str(corpus.manifest), "files": corpus.paths}
    clean = sertk_features(corpus, FEATURE_SET).loc[corpus.paths].to_numpy()
    degraded = copies_of(corpus, TEST, TEST_SEED, "test", key, corpus.speakers)
    tests = {"clean": clean} | {c: degraded[:, i] for i, c in enumerate(TEST)}
    speed, per_fold = training_copies(corpus, key)
    results = run(corpus, candidates, tests, clean, speed, per_fold)
    choices, inner, outer = choose(results, corpus, candidates, list(tests))
    for s, c in choices.items():
        print(f"  fold {s}: chose {c!r}; inner: " + "; ".join(
            f"{cand} clean {inner[s, cand]['clean']:.3f} degraded "
            f"{np.mean([inner[s, cand][t] for t in TEST]):.3f}"
            for cand in candidates), flush=True)
    markdown = report(corpus, candidates, list(tests), choices, outer, command,
                      time.perf_counter() - started)
    print("\n" + markdown)
    if not (args.quick or args.no_docs):
        page = update_section("noise-mix", markdown,
                              title="Training mix for noise and channels")
        print(f"\nwritten to {page}")
    return 0


if __name__ == "__main__":
    from benchmarks.noise_mix import main as _main

    sys.exit(_main())
