import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import harmonic_tone
from sklearn.exceptions import NotFittedError

from sertk.errors import ModelFileError, ParameterError
from sertk.features.extractor import FeatureExtractor
from sertk.io import model_files as persistence
from sertk.io.model_files import (
    ALLOWED_TYPES,
    ModelVersionWarning,
    load_model,
    save_model,
)
from sertk.models.classifier import EmotionClassifier

pytest.importorskip("skops")
import skops.io as sio  # noqa: E402

LABELS = np.array(["anger", "neutral", "sadness"])


def features(rng, n_per_class=12, n_features=6):
    y = np.repeat(LABELS, n_per_class)
    centres = rng.normal(0, 2, size=(len(LABELS), n_features))
    X = rng.normal(size=(len(y), n_features)) + centres[np.searchsorted(LABELS, y)]
    columns = [f"feat{i}__mean" for i in range(n_features)]
    speakers = np.tile(["s1", "s2", "s3"], len(y) // 3)
    return pd.DataFrame(X, columns=columns), y, speakers


@pytest.fixture
def model(rng):
    X, y, spk = features(rng)
    return EmotionClassifier().fit(X, y, speakers=spk), X, spk


def assert_same_predictions(a, b, X, **kwargs):
    assert a.predict(X, **kwargs).tolist() == b.predict(X, **kwargs).tolist()
    # The LDA step keeps only the components it uses: equal up to rounding.
    np.testing.assert_allclose(
        a.predict_proba(X, **kwargs), b.predict_proba(X, **kwargs), rtol=0,
        atol=1e-12)


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
def test_round_trip_on_features(model, tmp_path, suffix):
    clf, X, spk = model
    report = {"uar": 0.9, "war": 0.91, "protocol": "strict"}
    path = save_model(clf, tmp_path / f"m{suffix}", cv_report=report,
                      provenance={"corpus": "synthetic"})
    assert path == tmp_path / f"m{suffix}"
    loaded = load_model(path, trusted=False if suffix == ".skops" else None)
    assert loaded is not clf
    assert_same_predictions(clf, loaded, X, speakers=spk)
    info = loaded.model_info_
    assert info["labels"] == LABELS.tolist()
    assert set(info["versions"]) == {
        "sertk", "scikit-learn", "numpy", "praat-parselmouth", "soxr"}
    assert info["features"]["input"] == "features"
    assert info["features"]["feature_names"] == list(X.columns)
    assert info["training_summary"] == clf.training_summary_
    assert info["cv_report"] == report and loaded.cv_report_ == report
    assert info["provenance"] == {"corpus": "synthetic"}
    assert info["params"]["speaker_norm"] is True
    assert info["created"].endswith("Z") and len(info["created"]) == 20
    json.dumps(info)  # plain JSON
    # No temporary file left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m{suffix}"]


def test_cv_report_attribute_is_saved(model, tmp_path):
    clf, X, spk = model
    clf.cv_report_ = {"uar": 0.5}
    loaded = load_model(save_model(clf, tmp_path / "m.joblib"))
    assert loaded.cv_report_ == {"uar": 0.5}
    assert_same_predictions(clf, loaded, X, speakers=spk)


def test_the_saved_model_is_compact_and_the_original_untouched(rng, tmp_path):
    X, y, _ = features(rng, n_per_class=40, n_features=300)
    clf = EmotionClassifier(speaker_norm=False).fit(X, y)
    lda = clf.pipeline_.named_steps["project"]
    path = save_model(clf, tmp_path / "m.joblib")
    assert lda.covariance_.shape == (300, 300)  # the fitted model is intact
    assert lda.scalings_.shape == (300, 300)
    loaded = load_model(path)
    assert loaded.pipeline_.named_steps["project"].scalings_.shape == (300, 2)
    assert os.path.getsize(path) < 300 * 300 * 8 / 4
    assert_same_predictions(clf, loaded, X)


@pytest.mark.parametrize("params", [
    {"speaker_norm": False},
    {"projection": None, "kernel": "linear"},
    {"probability": False, "class_weight": None},
])
def test_allow_list_covers_every_configuration(rng, tmp_path, params):
    X, y, spk = features(rng)
    clf = EmotionClassifier(**params).fit(X, y, speakers=spk)
    path = save_model(clf, tmp_path / "m.skops")
    assert set(sio.get_untrusted_types(file=path)) <= ALLOWED_TYPES
    loaded = load_model(path, trusted=False)
    assert loaded.predict(X, speakers=spk).tolist() == clf.predict(
        X, speakers=spk).tolist()


@pytest.fixture(scope="module")
def audio_corpus(tmp_path_factory):
    """14 short files: low, steady tones vs high, rising ones; 2 speakers."""
    import soundfile as sf

    folder = tmp_path_factory.mktemp("audio")
    paths, labels, speakers = [], [], []
    for i in range(14):
        label = "sadness" if i % 2 else "anger"
        speaker = f"s{i % 4 // 2}"
        if label == "sadness":
            f0 = np.full(8000, 110.0 + 3 * i)
        else:
            f0 = np.linspace(220.0, 330.0, 8000) + 3 * i
        path = folder / f"{speaker}_{i:02d}_{label}.wav"
        sf.write(path, harmonic_tone(f0), 16000)
        paths.append(str(path))
        labels.append(label)
        speakers.append(speaker)
    return paths, np.array(labels), np.array(speakers)


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
@pytest.mark.parametrize("given", ["extractor_params", "features"])
def test_round_trip_of_a_model_trained_on_audio(audio_corpus, tmp_path, suffix,
                                                given):
    paths, y, _ = audio_corpus
    settings = {"n_jobs": 1, "cache": str(tmp_path / "cache"), "progress": False}
    clf = EmotionClassifier(
        feature_set="minimal", speaker_norm=False,
        **({"extractor_params": settings} if given == "extractor_params" else
           {"features": FeatureExtractor("minimal", **settings)}),
    ).fit(paths, y)
    path = save_model(clf, tmp_path / f"audio{suffix}")
    loaded = load_model(path)
    assert_same_predictions(clf, loaded, paths)
    assert loaded.predict(paths).tolist() == y.tolist()
    info = loaded.model_info_["features"]
    assert info["input"] == "audio" and info["feature_set"] == "minimal"
    assert info["n_features"] == 114 and len(info["feature_names"]) == 114
    assert info["extraction"]["settings"]["sr"] == 16000
    # Machine-specific extractor arguments are not carried to other machines.
    assert loaded.extractor_.cache is None and loaded.extractor_.n_jobs == 1
    assert "cache" not in (loaded.extractor_params or {})
    assert clf.extractor_.cache == str(tmp_path / "cache")
    if given == "features":  # the sub-estimator: saved as its settings, no cache
        assert loaded.features.cache is None and loaded.features.f0_min == 75.0
        assert loaded.model_info_["params"]["features"]["feature_set"] == "minimal"


def test_save_refuses_bad_models_and_endings(model, tmp_path):
    clf, _, _ = model
    with pytest.raises(ParameterError, match=r"\.joblib .* or \.skops"):
        save_model(clf, tmp_path / "m.pkl")
    with pytest.raises(ParameterError, match="EmotionClassifier"):
        save_model(object(), tmp_path / "m.joblib")
    with pytest.raises(NotFittedError):
        save_model(EmotionClassifier(), tmp_path / "m.joblib")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_leaves_the_old_file_intact(model, tmp_path, monkeypatch):
    clf, _, _ = model
    path = save_model(clf, tmp_path / "m.joblib")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(clf, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.joblib"]


@pytest.mark.parametrize("content", [
    {"weights": [1, 2, 3]},
    [1, 2, 3],
    {"format": "sertk-model", "format_version": 1, "metadata": {}, "model": "x"},
    {"format": "sertk-model", "format_version": 1, "metadata": {},
     "model": EmotionClassifier()},
])
def test_a_joblib_file_that_is_not_a_model_is_refused(tmp_path, content):
    path = tmp_path / "other.joblib"
    joblib.dump(content, path)
    with pytest.raises(ModelFileError, match="sertk model"):
        load_model(path)


def test_a_newer_layout_is_refused(tmp_path):
    path = tmp_path / "new.joblib"
    joblib.dump({"format": "sertk-model", "format_version": 99}, path)
    with pytest.raises(ModelFileError, match="newer than this sertk reads"):
        load_model(path)


def test_broken_files_are_refused(model, tmp_path):
    clf, _, _ = model
    good = save_model(clf, tmp_path / "good.joblib").read_bytes()
    cases = {
        "truncated.joblib": good[: len(good) // 2],
        "random.joblib": np.random.default_rng(1).bytes(500),
        "empty.joblib": b"",
        "model.json": json.dumps({"format": "sertk-model"}).encode(),
        "text.skops": b"not a zip archive",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFileError, match=name):
            load_model(tmp_path / name)
    skops_file = save_model(clf, tmp_path / "good.skops").read_bytes()
    (tmp_path / "cut.skops").write_bytes(skops_file[:-200])
    with pytest.raises(ModelFileError, match="cut.skops"):
        load_model(tmp_path / "cut.skops")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.joblib")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def test_a_skops_file_named_joblib_gets_a_hint(model, tmp_path):
    clf, _, _ = model
    path = save_model(clf, tmp_path / "m.skops")
    renamed = path.rename(tmp_path / "m.joblib")
    with pytest.raises(ModelFileError, match="rename it to end in .skops"):
        load_model(renamed)


class Foreign:
    """A class no sertk model contains."""

    def __init__(self):
        self.value = 1


def test_a_skops_file_with_an_unknown_class_is_refused(model, tmp_path):
    clf, _, _ = model
    path = save_model(clf, tmp_path / "m.skops")
    payload = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    payload["model"].extra_ = Foreign()
    sio.dump(payload, tmp_path / "tampered.skops")
    with pytest.raises(ModelFileError, match=r"test_persistence\.Foreign"):
        load_model(tmp_path / "tampered.skops")
    # Whoever trusts the file can still load it.
    loaded = load_model(tmp_path / "tampered.skops", trusted=True)
    assert isinstance(loaded.extra_, Foreign)


def _rewrite_schema(source, target, edit):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                data = json.dumps(edit(json.loads(data))).encode()
            zout.writestr(item, data)


def test_a_skops_file_referencing_os_system_is_refused(model, tmp_path):
    clf, _, _ = model
    path = save_model(clf, tmp_path / "m.skops")

    def to_os_system(schema):
        node = schema["content"]["model"]
        assert node["__class__"] == "EmotionClassifier"
        node["__class__"], node["__module__"] = "system", "os"
        return schema

    _rewrite_schema(path, tmp_path / "evil.skops", to_os_system)
    with pytest.raises(ModelFileError, match=r"os\.system"):
        load_model(tmp_path / "evil.skops")


class _Evil:
    """Unpickling this creates a marker file: what a malicious pickle does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_malicious_pickle_is_never_run_by_the_safe_paths(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.joblib"
    evil.write_bytes(pickle.dumps({"format": "sertk-model", "x": _Evil(marker)}))
    with pytest.raises(ModelFileError, match="not a model bundled with sertk"):
        load_model(evil, trusted=False)
    assert not marker.exists()
    disguised = tmp_path / "evil.skops"
    disguised.write_bytes(evil.read_bytes())
    for trusted in (None, False, True):
        with pytest.raises(ModelFileError, match=r"cannot read .* \.skops"):
            load_model(disguised, trusted=trusted)
    assert not marker.exists()
    # What the docs warn about: the trusting (pickle) path runs the file's
    # code before it can tell that the file is no model.
    with pytest.raises(ModelFileError, match="not a sertk model"):
        load_model(evil)
    assert marker.exists()


def test_a_version_mismatch_warns(model, tmp_path, monkeypatch):
    clf, X, spk = model
    real = persistence._versions()
    path = save_model(clf, tmp_path / "m.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(path)  # same versions: silent
    monkeypatch.setattr(
        persistence, "_versions",
        lambda: {**real, "sertk": "0.0.1", "scikit-learn": "1.0"})
    old = save_model(clf, tmp_path / "old.joblib")
    monkeypatch.undo()
    with pytest.warns(ModelVersionWarning, match=r"sertk 0\.0\.1 .*scikit-learn 1\.0"):
        loaded = load_model(old)
    assert loaded.model_info_["versions"]["sertk"] == "0.0.1"
    assert_same_predictions(clf, loaded, X, speakers=spk)


def test_an_unimportant_version_difference_is_silent(model, tmp_path, monkeypatch):
    clf, _, _ = model
    real = persistence._versions()
    monkeypatch.setattr(persistence, "_versions",
                        lambda: {**real, "numpy": "0.1"})
    path = save_model(clf, tmp_path / "m.joblib")
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(path)
