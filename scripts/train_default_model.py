"""Train the model bundled with sertk and write its provenance.

Usage (from the repository root; rerun after any change to the features or
the classifier)::

    python scripts/train_default_model.py [--emodb ../shared/data/emodb] [--n-jobs 2]

Steps: read all of EMO-DB; extract the ``default`` feature set of each
recording and of its speed-perturbed copies (afresh, unless ``--cache DIR``
names a cache to reuse); evaluate ``EmotionClassifier(speaker_norm=False)``
by leave-one-speaker-out under the strict protocol, each fold trained on its
training speakers' copies too; train the same classifier on all 535
recordings and their copies; write
``sertk/models/default.joblib`` (the model, with the LOSO report in its
metadata) and ``sertk/models/default.json`` (the provenance, readable
without loading the model).

Why strict (no per-speaker normalisation): ``sertk-predict`` and
``load_model().predict(paths)`` usually see one recording of a speaker at a
time, so there are no speaker statistics to normalise with. A model trained
on per-speaker z-scores would then be shown pooled-scaled rows, unlike any
it was trained on; the strict model is trained exactly as it is used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from sertk.augment import speed_copies
from sertk.classifier import EmotionClassifier, training_speeds
from sertk.datasets import read_emodb
from sertk.evaluate import evaluate
from sertk.extract import FeatureExtractor
from sertk.persistence import DEFAULT_MODEL, load_model, save_model
from sertk.tables import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
EMODB = ROOT.parent / "shared" / "data" / "emodb"


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and write the default model; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", default=os.environ.get("SERTK_EMODB", EMODB),
                        help="EMO-DB folder (default: $SERTK_EMODB or %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--cache", default=None,
                        help="feature cache folder (default: a temporary one, so "
                             "the features come from the code as it is now)")
    parser.add_argument("--output", default=str(DEFAULT_MODEL))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sertk-default-") as temporary:
        return _train(args, args.cache or temporary)


def _train(args: argparse.Namespace, cache: str) -> int:
    started = time.perf_counter()
    corpus = read_emodb(args.emodb)
    paths, y, speakers = corpus["path"].tolist(), corpus["label"], corpus["speaker"]
    extractor = FeatureExtractor("default", n_jobs=args.n_jobs, cache=cache)
    X = extractor.transform(paths)
    clf = EmotionClassifier(
        feature_set="default",
        speaker_norm=False,
        extractor_params={"n_jobs": args.n_jobs, "cache": cache},
    )
    speeds = training_speeds(clf.speed_perturbation, normalised=False)
    copies = speed_copies(extractor, paths, speeds)
    print(f"features: {X.shape}, copies at speeds {speeds} in "
          f"{time.perf_counter() - started:.0f} s")
    report = evaluate(X, y, speakers, estimator=clf, protocol="strict", cv="loso",
                      augmented=copies, n_jobs=args.n_jobs, progress=False)
    print(report.summary())
    clf.fit(paths, y, speakers=speakers, augmented=copies)

    provenance = {
        "corpus": "EMO-DB (Berlin Database of Emotional Speech)",
        "language": "German",
        "speech": "acted; 10 actors (5 female, 5 male) reading 10 neutral sentences",
        "n_files": len(paths),
        "n_speakers": int(speakers.nunique()),
        "classes": sorted(map(str, clf.classes_)),
        "speaker_normalisation": False,
        "why_strict": "single recordings at prediction time have no speaker "
                      "batch to normalise with; trained as it is used",
    }
    output = Path(args.output)
    save_model(clf, output, cv_report=report.to_dict(), provenance=provenance)
    info = load_model(output).model_info_
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    atomic_write_json(output.with_suffix(".json"), {
        "model": output.name,
        "sha256": digest,
        "size_bytes": output.stat().st_size,
        "created": info["created"],
        "versions": info["versions"],
        "feature_set": info["features"]["feature_set"],
        "n_features": info["features"]["n_features"],
        "params": info["params"],
        "training": provenance,
        "class_counts": info["training_summary"]["class_counts"],
        "n_augmented": info["training_summary"]["n_augmented"],
        "loso_strict": {
            "protocol": report.protocol,
            "cv": report.cv,
            "uar": round(report.uar, 4),
            "war": round(report.war, 4),
            "macro_f1": round(report.macro_f1, 4),
            "recall": {k: round(v, 4) for k, v in report.recall.items()},
        },
        "command": "python scripts/train_default_model.py",
    })
    seconds = time.perf_counter() - started
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB) and "
          f"{output.with_suffix('.json').name} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
