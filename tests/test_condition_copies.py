"""Condition copies (sertk.models.augment): extraction, classifier, CV, CLI."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone

from sertk.cli import train
from sertk.errors import ParameterError
from sertk.evaluation.protocols import evaluate
from sertk.features.extractor import FeatureExtractor
from sertk.models.augment import (
    FoldCopies,
    check_augment,
    condition_copies,
    draw_conditions,
    load_noise_folder,
    make_copies,
)
from sertk.models.classifier import EmotionClassifier


def _names(extractor):
    return list(extractor.get_feature_names_out())


@pytest.fixture
def two_speakers(write_wav):
    """Speaker a: 200 Hz tones; speaker b: digital silence (a silent talker)."""
    tones = [write_wav(f"a{i}.wav", harmonic_tone(200.0 + 10 * i, 0.8))
             for i in range(3)]
    silent = [write_wav(f"b{i}.wav", np.zeros(int(0.8 * SR))) for i in range(3)]
    return tones + silent, np.array(["a"] * 3 + ["b"] * 3)


def test_check_augment_lists_entries_and_refuses_unknown_names():
    assert [[c.name for c in e] for e in check_augment(["gsm|mu-law"])] == [
        ["gsm", "mu-law"]]
    assert check_augment(None) == ()
    with pytest.raises(ParameterError, match="telephone, mu-law"):
        check_augment(["radio"])
    with pytest.raises(ParameterError, match="list"):
        check_augment("telephone")


def test_draws_depend_on_the_entry_not_its_place():
    paths = [f"r{i}.wav" for i in range(40)]
    entry = "white-10|babble-10|telephone"
    alone = draw_conditions([entry], paths)[0]
    second = draw_conditions(["gsm", entry], paths)[1]
    assert alone == second
    assert set(alone) == {"white-10", "babble-10", "telephone"}
    twice = draw_conditions([entry, entry], paths)
    assert twice[0] == alone and twice[1] != alone  # a repeat draws anew


def test_a_telephone_copy_loses_the_energy_above_3400_hz(write_wav):
    path = write_wav("tone.wav", harmonic_tone(200.0, 1.0, n_harmonics=30))
    extractor = FeatureExtractor("minimal")
    (copy,) = condition_copies(extractor, [path], ["telephone"])[0]
    original = extractor.transform([path]).iloc[0]
    names = _names(extractor)
    # the harmonics above 3.4 kHz are gone, so the spectral centroid falls
    column = next(n for n in names if n.startswith("spectral_centroid") and
                  n.endswith("__mean"))
    assert copy[names.index(column)] < 0.9 * original[column]
    # while F0 stays where it was
    f0 = names.index("f0_semitone__mean")
    assert copy[f0] == pytest.approx(original["f0_semitone__mean"], abs=0.1)


def test_copies_are_reproducible_and_seeded(write_wav):
    path = write_wav("tone.wav", harmonic_tone(200.0, 1.0))
    extractor = FeatureExtractor("minimal")
    a = condition_copies(extractor, [path], ["white-10"], seed=1)
    b = condition_copies(extractor, [path], ["white-10"], seed=1)
    c = condition_copies(extractor, [path], ["white-10"], seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c, equal_nan=True)


def test_babble_comes_from_other_speakers_only(two_speakers):
    # a's babble can only come from b, who is silent: those copies fail (NaN);
    # b's babble comes from a's tones and is made
    paths, speakers = two_speakers
    copies = condition_copies(FeatureExtractor("minimal"), paths, ["babble-10"],
                              speakers=speakers)
    made = ~np.isnan(copies[:, 0]).all(axis=1)
    assert made.tolist() == [False] * 3 + [True] * 3


def test_rows_limits_the_copies_made(two_speakers):
    paths, speakers = two_speakers
    copies = condition_copies(FeatureExtractor("minimal"), paths, ["gain-6"],
                              speakers=speakers, rows=[1])
    made = ~np.isnan(copies[:, 0]).all(axis=1)
    assert made.tolist() == [False, True, False, False, False, False]


def test_make_copies_puts_speed_copies_first(write_wav):
    path = write_wav("tone.wav", harmonic_tone(200.0, 1.0))
    extractor = FeatureExtractor("minimal")
    both = make_copies(extractor, [path], (0.9,), ["gsm"])
    assert both.shape == (1, 2, len(_names(extractor)))
    from sertk.models.augment import speed_copies

    np.testing.assert_array_equal(both[:, :1], speed_copies(extractor, [path], [0.9]))
    np.testing.assert_array_equal(both[:, 1:],
                                  condition_copies(extractor, [path], ["gsm"]))


def test_noise_folder_without_usable_audio_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_noise_folder(tmp_path / "missing")
    with pytest.raises(ParameterError, match="holds no audio file"):
        load_noise_folder(tmp_path)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    sf.write(tmp_path / "silent.wav", np.zeros(SR), SR)
    with pytest.raises(ParameterError, match="no usable audio.*broken.wav.*silent"):
        load_noise_folder(tmp_path)
    sf.write(tmp_path / "hum.wav", 0.1 * harmonic_tone(50.0, 1.0), SR)
    assert len(load_noise_folder(tmp_path)) == 1


def test_folder_conditions_need_a_folder(write_wav):
    path = write_wav("tone.wav", harmonic_tone(200.0, 1.0))
    with pytest.raises(ParameterError, match="noise_folder"):
        condition_copies(FeatureExtractor("minimal"), [path], ["folder-10"])


def _small_corpus(write_wav):
    paths, labels, speakers = [], [], []
    for s in range(3):
        for i, (label, f0) in enumerate([("low", 120.0), ("high", 260.0)] * 3):
            paths.append(write_wav(f"s{s}_{i}.wav",
                                   harmonic_tone(f0 + 5 * s + i, 0.6)))
            labels.append(label)
            speakers.append(f"s{s}")
    return paths, np.array(labels), np.array(speakers)


def test_the_classifier_trains_on_condition_copies(write_wav):
    paths, y, speakers = _small_corpus(write_wav)
    clf = EmotionClassifier("minimal", speaker_norm=False, probability=False,
                            fallback=None, speed_perturbation=None,
                            augment=["telephone", "white-20|babble-20"])
    clf.fit(paths, y, speakers=speakers)
    assert clf.training_summary_["n_augmented"] == 2 * len(paths)
    assert set(clf.predict(paths)) <= {"low", "high"}


def test_the_classifier_refuses_unknown_conditions():
    with pytest.raises(ParameterError, match="unknown condition 'radio'"):
        EmotionClassifier(augment=["radio"]).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_fold_copies_remake_babble_from_the_fold_s_speakers(write_wav):
    # speakers a and b speak, c is silent: a babble copy holding c fails (NaN)
    paths = [write_wav(f"{s}{i}.wav", harmonic_tone(f0, 0.8) if s != "c"
                       else np.zeros(int(0.8 * SR)))
             for s, f0 in (("a", 200.0), ("b", 150.0), ("c", 0.0)) for i in range(2)]
    speakers = np.repeat(["a", "b", "c"], 2)
    copies = FoldCopies(FeatureExtractor("minimal"), paths, speakers, (0.9,),
                        ["babble-10"])

    def made(rows):
        return (~np.isnan(copies(np.array(rows))[:, 1]).all(axis=1)).tolist()

    # with c among the talkers (all of b and c are drawn), a's babble fails
    assert made(range(6)) == [False, False, False, False, True, True]
    # without c, a's babble is b's speech, and b's is a's
    assert made([0, 1, 2, 3]) == [True] * 4
    # without b, a's babble could only be c's silence
    assert made([0, 1, 4, 5]) == [False, False, True, True]
    # the speed copies are made once, for every fold alike
    np.testing.assert_array_equal(copies(np.array([0, 4]))[:, 0],
                                  copies(np.arange(6))[[0, 4], 0])


def test_cross_validation_makes_babble_copies_fold_by_fold(write_wav, monkeypatch):
    paths, y, speakers = _small_corpus(write_wav)
    calls = []
    real = FoldCopies.__call__
    monkeypatch.setattr(FoldCopies, "__call__",
                        lambda self, train: calls.append(set(speakers[train]))
                        or real(self, train))
    clf = EmotionClassifier("minimal", speaker_norm=False, probability=False,
                            fallback=None, augment=["babble-10"])
    report = evaluate(paths, y, speakers, estimator=clf, protocol="strict")
    assert 0 <= report.uar <= 1
    assert sorted(map(sorted, calls)) == [["s0", "s1"], ["s0", "s2"], ["s1", "s2"]]


def test_sertk_train_refuses_unknown_augment_names(capsys, tmp_path):
    assert train.main(["--manifest", str(tmp_path / "m.csv"), "-o",
                       str(tmp_path / "m.joblib"), "--augment", "radio"]) == 2
    err = capsys.readouterr().err
    assert "unknown condition 'radio'" in err and "telephone, mu-law" in err


def test_sertk_train_refuses_an_empty_noise_folder(capsys, tmp_path, write_wav):
    paths, y, speakers = _small_corpus(write_wav)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,speaker\n" + "".join(
        f"{p},{label},{s}\n" for p, label, s in zip(paths, y, speakers, strict=True)))
    (tmp_path / "noise").mkdir()
    assert train.main(["--manifest", str(manifest), "-o", str(tmp_path / "m.joblib"),
                       "--augment", "folder-10", "--noise-folder",
                       str(tmp_path / "noise")]) == 2
    assert "holds no audio file" in capsys.readouterr().err
    assert train.main(["--manifest", str(manifest), "-o", str(tmp_path / "m.joblib"),
                       "--augment", "babble-10", "--evaluate"]) == 2
    assert "cannot be cross-validated" in capsys.readouterr().err


def test_sertk_train_trains_on_condition_copies(tmp_path, write_wav, capsys):
    paths, y, speakers = _small_corpus(write_wav)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,speaker\n" + "".join(
        f"{p},{label},{s}\n" for p, label, s in zip(paths, y, speakers, strict=True)))
    out = tmp_path / "m.joblib"
    code = train.main(["--manifest", str(manifest), "-o", str(out), "--feature-set",
                       "minimal", "--speed-perturbation", "none", "--fallback", "none",
                       "--augment", "gsm", "babble-10"])
    assert code == 0 and out.exists()
    assert "condition copies: gsm, babble-10" in capsys.readouterr().err
