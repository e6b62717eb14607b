"""Timeline speed: an hour of EMO-DB speech and pauses through predict_timeline.

Builds a recording of ``--minutes`` minutes (one hour by default) by
concatenating the files of a manifest (EMO-DB by default) in a seeded random
order, each followed by a seeded random pause of 0.2-2 s of digital silence,
reshuffling whenever the corpus runs out; it is written as a 16 kHz 16-bit
WAV file in a temporary folder. Then, for each worker count of ``--n-jobs``,
a fresh Python process loads the model ``sertk-predict --window`` uses, the
bundled timeline model (``load_model(sertk.io.model_files.TIMELINE_MODEL)``; if
there is none, the bundled model, or else a quick ``EmotionClassifier()``
trained on the corpus with the ``default`` feature set, as the output then
says) and times
:func:`sertk.timeline.windows.predict_timeline` on the file (window 2 s, hop 0.5 s,
60 s blocks), while this process samples the memory of its process tree
(peak RSS summed over the process and its worker processes, psutil, every
0.2 s) and the CPU time of that tree.

Reported a worker count: wall-clock seconds of the call, times real time,
CPU seconds, peak RSS, and the start-up (imports and model loading, not in
the call's time); whether the rows are identical whatever the worker count;
and, as a sanity check, how often a window lying wholly inside one utterance
gets that utterance's label (the bundled models were trained on all of
EMO-DB, so this is not an accuracy).

Then the two bundled models' kinds, held out by speaker
(:func:`held_out_windows`): leave-one-speaker-out over the manifest, each
fold's models trained as the bundled model (on recordings and their
speed-perturbed copies) and as the bundled timeline model (on their speech
windows too) on the other speakers' cached ``default`` features; the
speech windows of each held-out recording, the rows ``predict_timeline``
classifies in it as a file of its own, are labelled as a timeline labels
them. Reported for each: window UAR (each window given its recording's label)
with the fallback answering the out-of-distribution windows, as the
timeline does, and with the SVM answering every window; how many windows
are out of distribution, against the held-out recordings themselves; the
UAR of the held-out recordings whole; and the window UAR of one long
recording of each held-out speaker (its recordings joined with pauses),
on the windows lying wholly inside one utterance.

Prints the table and the command, and writes them to the ``timeline``
section of ``docs/benchmarks.md``. Run from the repository root::

    python -m benchmarks.timeline               # a few minutes on 2 cores
    python -m benchmarks.timeline --minutes 5   # quick look
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import soundfile as sf

from benchmarks._common import (
    REPO,
    benchmark_parser,
    command_line,
    corpus_or_exit,
    load_corpus,
    markdown_table,
    provenance,
    sertk_copies,
    sertk_features,
)
from benchmarks._report import update_section
from sertk.timeline.windows import SILENCE

SR = 16000
PAUSE = (0.2, 2.0)  # seconds of silence after each file
SAMPLE_EVERY = 0.2  # seconds between memory samples
TARGET_X = 60.0  # one hour in under a minute


def build_recording(paths: Sequence[str], labels: Sequence[str],
                    seconds: float | None, out: Path, seed: int) -> pd.DataFrame:
    """Write the recording, file by file; return its utterances (start, end, label).

    ``seconds=None`` takes each file once, in a random order.
    """
    from sertk.audio.reading import load

    rng = np.random.default_rng(seed)
    total = np.inf if seconds is None else int(round(seconds * SR))
    written, rows = 0, []
    with sf.SoundFile(out, "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        while written < total:
            for i in rng.permutation(len(paths)):
                x = load(paths[i], SR)
                x = x[: int(min(x.size, total - written))]
                pause = np.zeros(int(min(int(rng.uniform(*PAUSE) * SR),
                                         total - written - x.size)))
                f.write(np.concatenate([x, pause]))
                rows.append((written / SR, (written + x.size) / SR, labels[i]))
                written += x.size + pause.size
                if written >= total:
                    break
            if seconds is None:
                break
    return pd.DataFrame(rows, columns=["start", "end", "label"])


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def run_child(wav: Path, out: Path, n_jobs: int, args: argparse.Namespace
              ) -> dict:
    """Run one timed timeline in a fresh process; return its figures."""
    command = [sys.executable, "-m", "benchmarks.timeline", "--child", str(wav),
               str(out), str(n_jobs), str(args.window), str(args.hop),
               str(args.block), str(args.manifest)]
    began = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    parent = psutil.Process(child.pid)
    peak, cpu = 0, {}
    while child.poll() is None:
        rss = 0
        for p in _tree(parent):
            try:
                rss += p.memory_info().rss
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, rss)
        time.sleep(SAMPLE_EVERY)
    stdout, _ = child.communicate()
    total = time.perf_counter() - began
    if child.returncode != 0:
        raise SystemExit(f"the timed run failed (exit {child.returncode})")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures.update(peak_rss_mb=peak / 2**20, tree_cpu=sum(cpu.values()),
                   startup=total - figures["seconds"])
    return figures


def child_main(argv: Sequence[str]) -> None:
    """Time predict_timeline in this fresh process; print JSON figures."""
    wav, out, n_jobs, window, hop, block, manifest = argv
    from sertk.io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model
    from sertk.timeline.windows import predict_timeline

    if TIMELINE_MODEL.exists():
        model, source = load_model(TIMELINE_MODEL), "the bundled timeline model"
    elif DEFAULT_MODEL.exists():
        model, source = load_model(), "the bundled model"
    else:
        from sertk.models.classifier import EmotionClassifier

        corpus = load_corpus(manifest)
        model = EmotionClassifier(speaker_norm=False,
                                  extractor_params={"n_jobs": 2, "progress": False})
        model.fit(corpus.paths, corpus.labels)
        source = ("a quick EmotionClassifier(speaker_norm=False) trained here on "
                  "the corpus (no bundled model found)")
    began = time.perf_counter()
    timeline = predict_timeline(model, wav, window=float(window), hop=float(hop),
                                block=float(block), n_jobs=int(n_jobs),
                                progress=False)
    seconds = time.perf_counter() - began
    timeline.to_pickle(out)
    print(json.dumps({"seconds": seconds, "model": source}))


def inside_utterances(timeline: pd.DataFrame, utterances: pd.DataFrame
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Mask of the windows lying wholly inside one utterance, and its labels."""
    idx = np.searchsorted(utterances["start"].to_numpy(), timeline["start"],
                          side="right") - 1
    inside = (idx >= 0) & (timeline["end"].to_numpy()
                           <= utterances["end"].to_numpy()[np.maximum(idx, 0)])
    return inside, utterances["label"].to_numpy()[idx[inside]]


def agreement(timeline: pd.DataFrame, utterances: pd.DataFrame
              ) -> tuple[float, int, int]:
    """Return, of the windows lying wholly inside one utterance, three figures.

    The share labelled as that utterance, how many such windows there are,
    and how many of them are out of distribution.
    """
    inside, truth = inside_utterances(timeline, utterances)
    novel = timeline["out_of_distribution"].fillna(False).to_numpy(bool)
    return (float(np.mean(timeline["label"].to_numpy()[inside] == truth)),
            int(inside.sum()), int(novel[inside].sum()))


def corpus_windows(corpus, window: float, hop: float) -> tuple[pd.DataFrame,
                                                                 np.ndarray]:
    """Return ``default`` features of every speech window, and the index of its file."""
    from joblib import Parallel, delayed

    from sertk.timeline.windows import window_features

    tables = Parallel(n_jobs=2)(
        delayed(window_features)(path, "default", window=window, hop=hop,
                                 progress=False)
        for path in corpus.paths)
    files = np.concatenate([np.full(len(t), i) for i, t in enumerate(tables)])
    return pd.concat(tables, ignore_index=True), files


def _window_verdicts(model, windows: pd.DataFrame
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the labels of speech windows, the SVM's alone, and the novel ones.

    Labels as a timeline gives them: the most probable class, the fallback's
    probabilities on out-of-distribution rows. The SVM's alone come from a
    copy of the model with the fallback off (the threshold at infinity).
    """
    no_fallback = copy.copy(model)
    no_fallback.novelty_threshold_ = np.inf
    labels = model.classes_[model.predict_proba(windows).argmax(axis=1)]
    svm = model.classes_[no_fallback.predict_proba(windows).argmax(axis=1)]
    return labels, svm, model.out_of_distribution(windows)


def held_out_windows(corpus, window: float, hop: float) -> dict[str, dict]:
    """Timelines of held-out speakers' recordings, from two kinds of model.

    Leave-one-speaker-out. Each fold trains, on the other speakers' ``default``
    features, a clone of the bundled model (an
    ``EmotionClassifier(speaker_norm=False)`` without one) on the recordings
    and, as its ``speed_perturbation`` asks, their speed-perturbed copies
    (*recordings*); and a clone of the bundled timeline model (the same
    without copies of its own, without one) on those rows and the speech
    windows of the same recordings (:func:`corpus_windows`), each labelled as
    its recording (*recordings and windows*). The test speaker's windows are
    classified from the same rows: those
    :func:`~sertk.timeline.windows.predict_timeline` classifies in each recording on
    its own.

    Returns
    -------
    dict
        For each kind: ``windows`` (speech windows), ``novel`` (of them out of
        distribution), ``recordings_novel`` (share of the held-out
        recordings themselves), ``uar_routed`` and ``uar_svm`` (window UAR,
        each window given its recording's label, with the fallback answering
        the novel windows or the SVM answering all), ``fallback_right`` and
        ``svm_right`` (share of the novel windows each labels right),
        ``uar_recordings`` (UAR of the held-out recordings, whole), and
        ``uar_long`` over ``long_windows``: window UAR in one recording of
        the test speaker's recordings joined with pauses
        (:func:`build_recording`), on the windows wholly inside one
        utterance.
    """
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score

    from sertk.io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model
    from sertk.models.augment import with_copies
    from sertk.models.classifier import EmotionClassifier, training_speeds
    from sertk.timeline.windows import predict_timeline

    template = (clone(load_model()) if DEFAULT_MODEL.exists()
                else EmotionClassifier(speaker_norm=False))
    window_template = (clone(load_model(TIMELINE_MODEL)) if TIMELINE_MODEL.exists()
                       else clone(template).set_params(speed_perturbation=None))
    X = sertk_features(corpus, "default")
    speeds = training_speeds(template.speed_perturbation, normalised=False)
    copies = sertk_copies(corpus, "default", speeds) if speeds else None
    windows, window_file = corpus_windows(corpus, window, hop)
    windows = windows[X.columns]
    y, speakers = corpus.labels, corpus.speakers

    def recordings(train):
        return clone(template).fit(
            X[train], y[train], speakers=speakers[train],
            augmented=None if copies is None else copies[train])

    def with_windows(train):
        own = train[window_file]
        rows, labels, voices = X[train].to_numpy(), y[train], speakers[train]
        if copies is not None:
            rows, labels, voices, _ = with_copies(rows, labels, voices,
                                                  copies[train])
        rows = pd.DataFrame(np.vstack([rows, windows[own]]), columns=X.columns)
        return clone(window_template).fit(
            rows, np.concatenate([labels, y[window_file][own]]),
            speakers=np.concatenate([voices, speakers[window_file][own]]))

    kinds = {"recordings": recordings, "recordings and windows": with_windows}
    found = {k: {"truth": [], "routed": [], "svm": [], "novel": [],
                 "long_truth": [], "long_labels": [],
                 "whole": np.empty(len(y), dtype=object),
                 "whole_novel": np.zeros(len(y), dtype=bool)} for k in kinds}
    for speaker in np.unique(speakers):
        test = speakers == speaker
        with tempfile.TemporaryDirectory(prefix="sertk-held-out-") as folder:
            wav = Path(folder) / "speaker.wav"
            utterances = build_recording(
                [corpus.paths[i] for i in np.flatnonzero(test)], y[test], None,
                wav, seed=0)
            for kind, fit in kinds.items():
                model, out = fit(~test), found[kind]
                out["whole"][test] = model.predict(X[test])
                out["whole_novel"][test] = model.out_of_distribution(X[test])
                own = test[window_file]
                labels, svm, flagged = _window_verdicts(model, windows[own])
                out["truth"].append(y[window_file][own])
                out["routed"].append(labels)
                out["svm"].append(svm)
                out["novel"].append(flagged)
                timeline = predict_timeline(model, wav, window=window, hop=hop,
                                            progress=False)
                inside, truth = inside_utterances(timeline, utterances)
                out["long_truth"].append(truth)
                out["long_labels"].append(timeline["label"].to_numpy()[inside])
        print(f"  held out {speaker}: {int(test.sum())} recordings", flush=True)
    figures = {}
    for kind, out in found.items():
        truth, routed, svm, novel, long_truth, long_labels = (
            np.concatenate(out[k]) for k in
            ("truth", "routed", "svm", "novel", "long_truth", "long_labels"))
        figures[kind] = {
            "long_windows": long_truth.size,
            "uar_long": balanced_accuracy_score(long_truth, long_labels),
            "windows": truth.size,
            "novel": int(novel.sum()),
            "recordings_novel": float(out["whole_novel"].mean()),
            "uar_routed": balanced_accuracy_score(truth, routed),
            "uar_svm": balanced_accuracy_score(truth, svm),
            "fallback_right": float(np.mean(routed[novel] == truth[novel]))
            if novel.any() else np.nan,
            "svm_right": float(np.mean(svm[novel] == truth[novel]))
            if novel.any() else np.nan,
            "uar_recordings": balanced_accuracy_score(y, out["whole"].astype(str)),
        }
    return figures


def held_out_text(held: dict[str, dict]) -> str:
    """Return the held-out check's table and what it shows."""
    rows = [[kind, f"{f['windows']}", f"{f['novel'] / max(f['windows'], 1):.1%}",
             f"{f['recordings_novel']:.1%}", f"{f['uar_routed']:.3f}",
             f"{f['uar_svm']:.3f}",
             "-" if np.isnan(f["fallback_right"]) else f"{f['fallback_right']:.1%}",
             "-" if np.isnan(f["svm_right"]) else f"{f['svm_right']:.1%}",
             f"{f['uar_recordings']:.3f}", f"{f['uar_long']:.3f}"]
            for kind, f in held.items()]
    table = markdown_table(
        ["trained on", "speech windows", "out of distribution",
         "recordings out of distribution", "window UAR", "window UAR, SVM only",
         "fallback right (novel windows)", "SVM right (novel windows)",
         "recording UAR", "window UAR, one long recording"], rows)
    return (
        "Held out by speaker (leave-one-speaker-out): each fold's models are "
        "trained as the bundled model, on the other speakers' recordings and "
        "their speed-perturbed copies, and, in the second row, as the bundled "
        "timeline model, on the speech windows of those recordings too "
        "(`sertk.timeline.windows.window_features`, each labelled as its recording); "
        "the speech windows of each held-out recording (the rows "
        "`predict_timeline` classifies in it as a file of its own) are "
        "labelled as a timeline labels them and scored against the "
        "recording's label. Window UAR: with "
        "the fallback answering the out-of-distribution windows, as the "
        "timeline does, or the SVM answering all; recording UAR: the "
        "held-out recordings whole. Last column: the held-out speaker's "
        "recordings joined into one, each once in a random order with 0.2-2 s "
        "pauses, through `predict_timeline`, scored on the "
        f"{next(iter(held.values()))['long_windows']} windows lying wholly "
        "inside one utterance.\n\n" + table)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        child_main(argv[1:])
        return 0
    parser = benchmark_parser("timeline", __doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument("--block", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    corpus = corpus_or_exit(parser, args.manifest)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="sertk-timeline-") as folder:
        wav = Path(folder) / "long.wav"
        began = time.perf_counter()
        utterances = build_recording(corpus.paths, corpus.labels, seconds, wav,
                                     args.seed)
        print(f"built {wav.name}: {seconds / 60:.0f} min, {len(utterances)} "
              f"utterances, {wav.stat().st_size / 2**20:.0f} MB, in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        runs, tables = {}, {}
        for n_jobs in args.n_jobs:
            out = Path(folder) / f"timeline-{n_jobs}.pkl"
            runs[n_jobs] = run_child(wav, out, n_jobs, args)
            tables[n_jobs] = pd.read_pickle(out)
            print(f"n_jobs={n_jobs}: {runs[n_jobs]['seconds']:.1f} s", flush=True)
    first = tables[args.n_jobs[0]]
    identical = all(t.equals(first) for t in tables.values())
    speech = int((first["label"] != SILENCE).sum())
    novel = int(first["out_of_distribution"].sum())
    share, n_inside, novel_inside = agreement(first, utterances)
    began = time.perf_counter()
    held = held_out_windows(corpus, args.window, args.hop)
    print(f"held-out timelines in {time.perf_counter() - began:.0f} s", flush=True)
    rows = [[n, f"{r['seconds']:.1f}", f"{seconds / r['seconds']:.0f}x",
             f"{r['tree_cpu']:.0f}", f"{seconds / r['tree_cpu']:.0f}x",
             f"{r['peak_rss_mb']:.0f}", f"{r['startup']:.1f}"]
            for n, r in runs.items()]
    table = markdown_table(["n_jobs", "seconds", "x real time", "CPU s (tree)",
                            "x real time a CPU s", "peak RSS (MB)", "start-up s"],
                           rows)
    met = [str(n) for n, r in runs.items() if seconds / r["seconds"] >= TARGET_X]
    command = command_line("benchmarks.timeline", argv)
    text = "\n\n".join([
        f"`predict_timeline` on {seconds / 60:.0f} minutes of EMO-DB utterances "
        f"({len(utterances)}, in random order) separated by {PAUSE[0]}-{PAUSE[1]} "
        "s pauses of digital silence, a 16 kHz WAV file; window "
        f"{args.window} s, hop {args.hop} s, {args.block:.0f} s blocks, "
        f"{runs[args.n_jobs[0]]['model']} (`default` feature set). Seconds are "
        "the wall-clock time of the call; CPU is the user + system time, over "
        "its life, of the process and its workers; RSS is summed over them "
        f"(sampled every {SAMPLE_EVERY} s); start-up is the rest of the "
        "process's life (Python, imports, loading the model, saving the rows), "
        "not in the seconds.",
        table,
        f"{len(first)} windows, {speech} with speech ({novel}, "
        f"{novel / max(speech, 1):.1%}, out of distribution: labelled by the "
        f"model's fallback), {len(first) - speech} "
        f"silent. Rows identical whatever `n_jobs`: {'yes' if identical else 'NO'}. "
        f"Target {TARGET_X:.0f}x real time (an hour in under a minute of wall "
        "clock): " + (f"met with n_jobs = {', '.join(met)}." if met else "missed.")
        + " The wall clock depends on how busy the shared machine is (load "
        "average below), the CPU time much less: audio seconds a CPU second "
        "is the speed of one process with a core of its own."
        + f" Sanity check: {share:.1%} of the {n_inside} windows lying wholly "
        "inside one utterance get its label (the model was trained on all of "
        "EMO-DB: not an accuracy); "
        f"{novel_inside / max(n_inside, 1):.1%} of them are out of distribution "
        f"({novel_inside}); the other flagged windows straddle an utterance's "
        "edge (into the next utterance or a pause).",
        held_out_text(held),
        provenance("praat-parselmouth", "numpy", "joblib"),
        f"Made with `{command}`.",
    ])
    print()
    print(text)
    if not args.no_docs:
        page = update_section("timeline", text, title="Timeline speed")
        print(f"\nwritten to {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
