"""Adaptation to a corpus, batch, speaker or reference (sertk.models.adaptation)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from sertk.errors import ParameterError
from sertk.evaluation.protocols import evaluate
from sertk.models.adaptation import (
    AdaptationWarning,
    CorpusNormalizer,
    corpus_shift,
    robust_stats,
)
from sertk.models.classifier import EmotionClassifier


def _corpus(rng, n_speakers, shift, gain, n_per=12):
    """Two emotions a speaker; the corpus moves every column by shift and gain."""
    y = np.tile(["anger", "sadness"], n_speakers * n_per // 2)
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], n_per)
    voice = rng.normal(scale=0.5, size=(n_speakers, 4))
    X = rng.normal(size=(y.size, 4)) + np.where(y == "anger", 1.5, -1.5)[:, None]
    X += np.repeat(voice, n_per, axis=0)
    return X * gain + shift, y, speakers


def test_robust_stats_known_values():
    center, scale, count = robust_stats(np.array([[0.0, 5.0], [1.0, 5.0],
                                                  [2.0, 5.0], [np.nan, 5.0]]))
    assert center.tolist() == [1.0, 5.0]
    assert scale[0] == pytest.approx(1.0 / 1.3489795)
    assert scale[1] == 1.0  # a constant column is not divided by zero
    assert count.tolist() == [3, 4]


def test_each_corpus_is_z_scored_by_its_own_statistics():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 3))
    b = rng.normal(size=(200, 3)) * 10 + 50
    norm = CorpusNormalizer()
    Z = norm.fit_transform(np.vstack([a, b]), corpus=["a"] * 200 + ["b"] * 200)
    for part in (Z[:200], Z[200:]):
        assert np.abs(np.median(part, axis=0)).max() < 1e-9
        assert np.allclose(np.subtract(*np.percentile(part, [75, 25], axis=0)),
                           1.3489795)
    # known corpora keep their statistics under adapt="none"
    assert np.allclose(norm.transform(b, corpus=["b"] * 200), Z[200:])
    # a batch from elsewhere, z-scored on itself
    c = rng.normal(size=(200, 3)) * 3 - 7
    assert np.abs(np.median(norm.transform(c, adapt="batch"), axis=0)).max() < 1e-9


def test_small_batch_warns_and_uses_training_statistics():
    rng = np.random.default_rng(1)
    norm = CorpusNormalizer().fit(rng.normal(size=(50, 2)))
    one = np.array([[3.0, 3.0]])
    with pytest.warns(AdaptationWarning, match="reference"):
        out = norm.transform(one, adapt="batch")
    assert np.allclose(out, norm.transform(one, adapt="none"))
    assert np.all(out != 0)  # never a silent z-score of one row


def test_a_batch_of_one_speaker_in_one_state_warns_but_is_adapted():
    # the training corpus: speakers and emotions spread every column; a
    # batch of one speaker's one emotion varies far less
    rng = np.random.default_rng(5)
    X, y, s = _corpus(rng, 8, shift=0.0, gain=1.0)
    norm = CorpusNormalizer().fit(X)
    Xb, yb, sb = _corpus(rng, 6, shift=6.0, gain=1.0, n_per=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a corpus of mixed emotions: no warning
        norm.transform(Xb, adapt="batch")
        norm.transform(Xb[sb == "s0"], adapt="batch")  # one speaker, both
    narrow = Xb[(sb == "s0") & (yb == "anger")]
    with pytest.warns(AdaptationWarning, match=r"varies 0\.\d\d times .* one speaker"):
        out = norm.transform(narrow, adapt="batch")
    assert np.abs(np.median(out, axis=0)).max() < 1e-9  # adapted all the same
    with pytest.warns(AdaptationWarning, match="corpus 'b'"):
        norm.transform(narrow, adapt="batch", corpus=["b"] * len(narrow))


def test_speaker_mode_needs_speakers_and_reference_anchors():
    rng = np.random.default_rng(2)
    norm = CorpusNormalizer().fit(rng.normal(size=(50, 2)))
    X = rng.normal(size=(30, 2)) + 4
    with pytest.raises(ParameterError, match="speaker id"):
        norm.transform(X, adapt="speaker")
    reference = X[:12]
    out = norm.transform(X, reference=reference)
    assert np.allclose(np.median(out[:12], axis=0), 0.0)
    with pytest.raises(ParameterError, match="reference"):
        norm.transform(X, adapt="speaker", speakers=["a"] * 30, reference=reference)


def test_adaptation_recovers_a_shifted_corpus():
    rng = np.random.default_rng(3)
    Xa, ya, sa = _corpus(rng, 8, shift=0.0, gain=1.0)
    Xb, yb, sb = _corpus(rng, 6, shift=6.0, gain=3.0)
    model = EmotionClassifier(speaker_norm=False, probability=False).fit(
        Xa, ya, speakers=sa)
    uar = {mode: float(np.mean([np.mean(model.predict(Xb, speakers=sb, adapt=mode)[
        yb == c] == c) for c in ("anger", "sadness")])) for mode in
        ("none", "batch", "speaker")}
    assert uar["none"] < 0.7  # the shift alone defeats the unadapted model
    assert uar["batch"] > 0.9 and uar["speaker"] > 0.9


def test_single_corpus_model_is_unchanged_with_adapt_none():
    rng = np.random.default_rng(4)
    X, y, s = _corpus(rng, 6, 0.0, 1.0)
    model = EmotionClassifier(speaker_norm=False, probability=False).fit(X, y)
    Z = model.adapter_.transform(X)
    # an affine map a column: the scaler after it absorbs it
    for j in range(X.shape[1]):
        assert np.corrcoef(X[:, j], Z[:, j])[0, 1] == pytest.approx(1.0)


# the corpora are spread 1, 2 and 3 times as wide: adapted on itself, c0 varies
# less than the others, which the one-sided batch warning says
@pytest.mark.filterwarnings("ignore:the batch varies:UserWarning")
def test_fit_with_corpus_and_leave_one_corpus_out():
    rng = np.random.default_rng(5)
    parts = [_corpus(rng, 4, shift=k * 5.0, gain=1.0 + k) for k in range(3)]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    s = np.concatenate([[f"c{k}{v}" for v in p[2]] for k, p in enumerate(parts)])
    corpus = np.repeat(["c0", "c1", "c2"], [len(p[1]) for p in parts])
    model = EmotionClassifier(speaker_norm=False, probability=False).fit(
        X, y, speakers=s, corpus=corpus)
    assert model.adapter_.corpora_.tolist() == ["c0", "c1", "c2"]
    report = evaluate(X, y, s, protocol="strict", cv="loco", corpus=corpus,
                      adapt="batch", progress=False)
    assert report.cv.startswith("leave-one-corpus-out") and len(report.folds) == 3
    assert report.uar > 0.9
    with pytest.raises(ParameterError, match="corpus"):
        evaluate(X, y, s, protocol="strict", cv="loco", progress=False)


def test_cross_corpus_evaluate_takes_adapt():
    rng = np.random.default_rng(6)
    Xa, ya, sa = _corpus(rng, 6, 0.0, 1.0)
    Xb, yb, sb = _corpus(rng, 4, 8.0, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdaptationWarning)
        reports = {m: evaluate(Xa, ya, sa, protocol="strict", test=(Xb, yb, sb),
                               adapt=m, progress=False) for m in ("none", "batch")}
    assert reports["batch"].uar > reports["none"].uar
    assert reports["batch"].to_dict()["adapt"] == "batch"
    assert "Adapt:    batch" in reports["batch"].summary()


def test_reference_recordings_at_predict():
    rng = np.random.default_rng(7)
    Xa, ya, sa = _corpus(rng, 6, 0.0, 1.0)
    Xb, yb, _ = _corpus(rng, 1, 5.0, 1.0, n_per=40)
    model = EmotionClassifier(speaker_norm=False, probability=False).fit(
        pd.DataFrame(Xa), ya)
    reference = pd.DataFrame(Xb[:20])
    pred = model.predict(pd.DataFrame(Xb[20:]), reference=reference)
    assert np.mean(pred == yb[20:]) > 0.9


def test_corpus_shift_names_what_differs():
    rng = np.random.default_rng(8)
    names = ["loudness__p50", "alpha_ratio__mean", "f0_semitone__p50", "rms_db__p20"]
    train = rng.normal(size=(200, 4))
    norm = CorpusNormalizer().fit(train)
    assert corpus_shift(norm, rng.normal(size=(40, 4)), names) == []
    quiet = rng.normal(size=(40, 4)) + [-4.0, 0.0, 0.0, 6.0]
    shift = corpus_shift(norm, quiet, names)
    assert len(shift) == 2
    assert shift[0].startswith("level") and shift[0].endswith("lower")
    assert shift[1].startswith("noise floor") and shift[1].endswith("higher")
    assert corpus_shift(norm, quiet[:3], names) == []  # too few to say


def test_ravdess_reads_in_the_shared_layout(ravdess_root):
    from sertk.io.datasets import read_ravdess

    table = read_ravdess(ravdess_root)
    assert len(table) == 1440 and table["speaker"].nunique() == 24
    assert table["path"].str.endswith(".flac").all()
    manifest = pd.read_csv(ravdess_root / "manifest.csv", dtype=str)
    assert sorted(table["label"]) == sorted(manifest["label"])


def test_rows_of_an_unnamed_corpus_use_the_nearest_training_corpus():
    rng = np.random.default_rng(9)
    a = rng.normal(size=(100, 5))
    b = rng.normal(size=(100, 5)) * 2 + 10
    norm = CorpusNormalizer().fit(np.vstack([a, b]), corpus=["a"] * 100 + ["b"] * 100)
    new = np.vstack([rng.normal(size=(3, 5)), rng.normal(size=(3, 5)) * 2 + 10])
    assert norm.nearest_corpus(new).tolist() == [0, 0, 0, 1, 1, 1]
    out = norm.transform(new)
    assert np.abs(out).max() < 6  # each row z-scored by its own corpus
    assert np.allclose(out[3:], norm.transform(new[3:], corpus=["b"] * 3))


def test_a_small_batch_of_a_two_corpus_model_gets_what_none_gives():
    # too few rows to adapt on: the warning says they use adapt="none", and
    # with several corpora that is each row's nearest corpus, not a pooled mean
    rng = np.random.default_rng(10)
    a = rng.normal(size=(100, 5))
    b = rng.normal(size=(100, 5)) * 2 + 10
    norm = CorpusNormalizer().fit(np.vstack([a, b]), corpus=["a"] * 100 + ["b"] * 100)
    few = np.vstack([rng.normal(size=(2, 5)), rng.normal(size=(2, 5)) * 2 + 10])
    for adapt, extra in (("batch", {}), ("speaker", {"speakers": ["x"] * 4})):
        with pytest.warns(AdaptationWarning, match="fewer than"):
            out = norm.transform(few, adapt=adapt, **extra)
        np.testing.assert_allclose(out, norm.transform(few, adapt="none"))
