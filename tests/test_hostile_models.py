"""Hostile model files: a model file holds a model, never run-time settings.

A model file someone else made must not make sertk read a cache folder
(joblib.Memory unpickles what it finds there), reach a Dask scheduler
(which sends pickles back), or unpickle anything before sertk has checked
it. Each test crafts the file an attacker would hand over.
"""

import hashlib
import pickle
import shutil
from pathlib import Path

import pytest
import soundfile as sf
from hostile import SR, tone, two_class_clips

from sertk.cli import predict as predict_cli
from sertk.errors import ModelFileError, UntrustedModelError
from sertk.io.model_files import (
    DEFAULT_MODEL,
    RUNTIME_PARAMS,
    TIMELINE_MODEL,
    is_bundled,
    load_model,
    save_model,
)
from sertk.models.classifier import EmotionClassifier
from sertk.timeline.files import predict_files

sio = pytest.importorskip("skops.io", reason="the .skops format needs skops")


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    paths, labels = two_class_clips(folder)
    clf = EmotionClassifier(feature_set="minimal", speaker_norm=False,
                            fallback=None, extractor_params={"progress": False})
    return clf.fit(paths, labels), paths


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _poison(model, cache, scheduler):
    """Set the run-time settings an attacker would store in a model."""
    model.extractor_.set_params(cache=str(cache), scheduler=scheduler, n_jobs=7,
                                progress=True)
    model.extractor_params = {"cache": str(cache), "scheduler": scheduler,
                              "n_jobs": 7, "sr": 16000}
    model.pipeline_.memory = str(cache)
    return model


def _assert_clean(model):
    extractor = model.extractor_
    assert extractor.cache is None and extractor.scheduler is None
    assert extractor.n_jobs == 1 and extractor.progress == "auto"
    assert model.pipeline_.memory is None
    assert model.extractor_params == {"sr": 16000}


@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
def test_a_crafted_model_file_cannot_name_a_cache_or_a_scheduler(audio, tmp_path,
                                                                  suffix):
    clf, paths = audio
    cache = tmp_path / "attacker-cache"
    cache.mkdir()
    good = save_model(clf, tmp_path / f"good{suffix}")
    if suffix == ".skops":  # edit the file by hand, as an attacker would
        payload = sio.load(good, trusted=sio.get_untrusted_types(file=good))
        _poison(payload["model"], cache, "tcp://203.0.113.9:8786")
        evil = tmp_path / "evil.skops"
        sio.dump(payload, evil)
        assert "attacker-cache" in str(sio.load(
            evil, trusted=sio.get_untrusted_types(file=evil))["model"].extractor_.cache)
    else:
        import joblib

        payload = joblib.load(good)
        _poison(payload["model"], cache, "tcp://203.0.113.9:8786")
        evil = tmp_path / "evil.joblib"
        joblib.dump(payload, evil)
    model = load_model(evil, trusted=suffix == ".joblib" or None)
    _assert_clean(model)
    table = predict_files(model, paths[:2], progress=False)
    assert table["error"].isna().all()
    assert list(cache.iterdir()) == []  # the cache folder was never used


def test_the_cli_ignores_the_settings_of_a_crafted_skops(audio, tmp_path, capsys):
    clf, paths = audio
    cache = tmp_path / "attacker-cache"
    cache.mkdir()
    good = save_model(clf, tmp_path / "good.skops")
    payload = sio.load(good, trusted=sio.get_untrusted_types(file=good))
    _poison(payload["model"], cache, "tcp://203.0.113.9:8786")
    sio.dump(payload, tmp_path / "evil.skops")
    for _ in range(2):  # the second run is the one a cache would serve
        status = predict_cli.main(["-m", str(tmp_path / "evil.skops"), "-q",
                                   "--safe", *paths[:2]])
        assert status == 0
    assert list(cache.iterdir()) == []
    assert "203.0.113.9" not in capsys.readouterr().err


def test_saving_strips_the_settings_from_the_file(audio, tmp_path):
    clf, _ = audio
    poisoned = _poison(pickle.loads(pickle.dumps(clf)), tmp_path, "tcp://h:1")
    path = save_model(poisoned, tmp_path / "m.skops")
    stored = sio.load(path, trusted=sio.get_untrusted_types(file=path))["model"]
    _assert_clean(stored)
    assert {"n_jobs", "cache", "scheduler", "progress", "memory"} <= RUNTIME_PARAMS


def test_a_pickle_is_never_opened_under_trusted_false(tmp_path):
    marker = tmp_path / "pwned"
    for name in ("evil.joblib", "evil.pkl", "evil"):
        evil = tmp_path / name
        evil.write_bytes(pickle.dumps({"format": "sertk-model", "x": _Evil(marker)}))
        with pytest.raises(UntrustedModelError, match="not a model bundled"):
            load_model(evil, trusted=False)
    assert not marker.exists()


def test_the_bundled_models_are_vouched_for_by_their_hash(tmp_path):
    for bundled in (DEFAULT_MODEL, TIMELINE_MODEL):
        assert is_bundled(bundled.read_bytes())
        copy = tmp_path / f"copy-{bundled.name}"
        shutil.copyfile(bundled, copy)
        # both: EMO-DB + RAVDESS (9 classes)
        assert load_model(copy, trusted=False).classes_.size == 9
    changed = bytearray(DEFAULT_MODEL.read_bytes())
    changed[-1] ^= 1
    (tmp_path / "changed.joblib").write_bytes(bytes(changed))
    assert not is_bundled(bytes(changed))
    with pytest.raises(UntrustedModelError):
        load_model(tmp_path / "changed.joblib", trusted=False)


def test_the_recorded_hashes_are_those_of_the_bundled_files():
    import json

    for bundled in (DEFAULT_MODEL, TIMELINE_MODEL):
        info = json.loads(bundled.with_suffix(".json").read_text())
        assert info["sha256"] == hashlib.sha256(bundled.read_bytes()).hexdigest(), (
            f"{bundled.name} changed without its .json: rerun "
            "scripts/train_default_model.py, which records the hash")


def test_cli_refuses_a_pickle_without_trust_before_opening_it(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "m.joblib"
    evil.write_bytes(pickle.dumps({"format": "sertk-model", "x": _Evil(marker)}))
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(0.5), SR)
    for extra in ([], ["--safe"]):
        assert predict_cli.main(["-m", str(evil), str(wav), *extra]) == 2
        err = capsys.readouterr().err
        assert not marker.exists()
        assert "--trust" in err and "trusted=" not in err
        assert len(err.strip().splitlines()) == 1
    assert predict_cli.main(["-m", str(evil), str(wav), "--trust", "-q"]) == 2
    assert marker.exists()  # --trust does what it says: it unpickles
    assert "not a sertk model" in capsys.readouterr().err


def test_trust_and_safe_together_are_a_usage_error(tmp_path, capsys):
    assert predict_cli.main(["--trust", "--safe", "x.wav"]) == 2
    assert "--trust" in capsys.readouterr().err


def test_the_bundled_model_works_with_safe(tmp_path, capsys):
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(1.0), SR)
    assert predict_cli.main(["--safe", "-q", str(wav)]) == 0
    assert "a.wav" in capsys.readouterr().out


def test_cli_loads_a_pickle_with_trust(audio, tmp_path, capsys):
    clf, paths = audio
    path = save_model(clf, tmp_path / "mine.joblib")
    assert predict_cli.main(["-m", str(path), "--trust", "-q", paths[0]]) == 0
    capsys.readouterr()


def test_a_foreign_type_in_a_skops_file_names_trust_on_the_cli(audio, tmp_path,
                                                               capsys):
    clf, paths = audio
    good = save_model(clf, tmp_path / "good.skops")
    payload = sio.load(good, trusted=sio.get_untrusted_types(file=good))
    payload["extra"] = ModelFileError("x")
    sio.dump(payload, tmp_path / "odd.skops")
    assert predict_cli.main(["-m", str(tmp_path / "odd.skops"), paths[0]]) == 2
    err = capsys.readouterr().err
    assert "--trust" in err and "trusted=" not in err


def test_a_training_folder_is_not_kept_in_the_model_file(audio, tmp_path):
    clf, paths = audio
    copy = pickle.loads(pickle.dumps(clf))
    copy.noise_folder = str(tmp_path / "my-noise")  # a path of this machine
    import joblib

    for suffix in (".skops", ".joblib"):
        path = save_model(copy, tmp_path / f"m{suffix}")
        stored = (sio.load(path, trusted=sio.get_untrusted_types(file=path))
                  if suffix == ".skops" else joblib.load(path))  # the raw file
        assert stored["model"].noise_folder is None
        assert "noise_folder" not in stored["metadata"]["params"]
        assert load_model(path, trusted=True).noise_folder is None
