"""Contours against signals whose answer is known by construction."""

import numpy as np
import pytest
from conftest import SR, harmonic_tone, synthetic_vowel

from sertk.errors import ParameterError
from sertk.features.contours import Analysis, compute_group, contour_info
from sertk.features.contours._analysis import mel_filterbank
from sertk.features.contours.spectral import dct_matrix
from sertk.settings import AnalysisSettings


def analyse(x, **settings):
    return Analysis(np.asarray(x, dtype=float), AnalysisSettings(**settings))


@pytest.mark.parametrize("f0", [110.0, 200.0, 320.0])
def test_f0_of_harmonic_tone_within_one_percent(f0):
    contours = compute_group("pitch", analyse(harmonic_tone(f0)))
    assert np.nanmean(contours["f0_hz"]) == pytest.approx(f0, rel=0.01)
    expected_semitones = 12 * np.log2(f0 / 27.5)
    assert np.nanmean(contours["f0_semitone"]) == pytest.approx(expected_semitones,
                                                                abs=0.2)


def test_rising_glide_has_rising_f0():
    f0 = np.linspace(120, 240, SR)
    contour = compute_group("pitch", analyse(harmonic_tone(f0)))["f0_hz"]
    valid = np.isfinite(contour)
    slope = np.polyfit(np.flatnonzero(valid) * 0.01, contour[valid], 1)[0]
    assert slope == pytest.approx(120, rel=0.1)  # 120 Hz over one second


def test_clean_tone_has_high_hnr_and_noise_lowers_it(rng):
    tone = harmonic_tone(150.0)
    noisy = tone + 0.1 * rng.standard_normal(tone.size)
    clean_hnr = np.nanmean(compute_group("pitch", analyse(tone))["hnr_db"])
    noisy_hnr = np.nanmean(compute_group("pitch", analyse(noisy))["hnr_db"])
    assert clean_hnr > 30
    assert noisy_hnr < clean_hnr - 10


def test_intensity_of_known_amplitude():
    t = np.arange(SR) / SR
    quiet = 0.1 * np.sin(2 * np.pi * 200 * t)
    loud = 0.2 * np.sin(2 * np.pi * 200 * t)
    quiet_db = np.nanmedian(compute_group("energy", analyse(quiet))["intensity_db"])
    loud_db = np.nanmedian(compute_group("energy", analyse(loud))["intensity_db"])
    # RMS 0.1/sqrt(2) Pa re 2e-5 Pa
    assert quiet_db == pytest.approx(20 * np.log10(0.1 / np.sqrt(2) / 2e-5), abs=0.5)
    assert loud_db - quiet_db == pytest.approx(20 * np.log10(2), abs=0.1)


def test_rms_db_of_full_scale_sine():
    t = np.arange(SR) / SR
    rms_db = compute_group("energy", analyse(np.sin(2 * np.pi * 200 * t)))["rms_db"]
    assert np.median(rms_db) == pytest.approx(-3.01, abs=0.1)


@pytest.mark.parametrize("f0", [120.0, 220.0])
def test_formants_of_synthetic_vowel_within_ten_percent(f0):
    contours = compute_group("formants", analyse(synthetic_vowel(f0=f0)))
    for name, expected in (("f1_hz", 700), ("f2_hz", 1200), ("f3_hz", 2600)):
        assert np.nanmedian(contours[name]) == pytest.approx(expected, rel=0.1), name


def test_formants_are_nan_on_unvoiced_frames(rng):
    noise = 0.1 * rng.standard_normal(SR)
    contours = compute_group("formants", analyse(noise))
    assert np.isnan(contours["f1_hz"]).mean() > 0.9


def test_h1_h2_of_two_harmonics():
    t = np.arange(SR) / SR
    x = 0.4 * np.sin(2 * np.pi * 150 * t) + 0.1 * np.sin(2 * np.pi * 300 * t)
    h1_h2 = compute_group("harmonics", analyse(x))["h1_h2"]
    assert np.nanmedian(h1_h2) == pytest.approx(20 * np.log10(4), abs=0.5)


def test_spectral_centroid_of_pure_tone_is_its_frequency():
    t = np.arange(SR) / SR
    contours = compute_group("spectral", analyse(np.sin(2 * np.pi * 1500 * t)))
    assert np.nanmedian(contours["spectral_centroid"]) == pytest.approx(1500, rel=0.03)
    assert np.nanmedian(contours["zcr"]) == pytest.approx(3000, rel=0.05)


def test_white_noise_is_flat_and_mostly_unvoiced(rng):
    analysis = analyse(0.1 * rng.standard_normal(SR))
    spectral = compute_group("spectral", analysis)
    temporal = compute_group("temporal", analysis)
    assert np.nanmedian(spectral["spectral_flatness"]) > 0.4
    assert temporal["voiced__fraction"] < 0.1


def test_tone_has_small_jitter_and_shimmer():
    descriptors = compute_group("perturbation", analyse(harmonic_tone(140.0)))
    assert 0 <= descriptors["jitter__local"] < 0.005
    assert 0 <= descriptors["shimmer__local"] < 0.02


def test_silence_gives_nan_not_errors():
    analysis = analyse(np.zeros(SR))
    assert np.all(np.isnan(compute_group("pitch", analysis)["f0_hz"]))
    assert np.all(np.isnan(compute_group("spectral", analysis)["mfcc01"]))
    assert np.all(np.isnan(compute_group("energy", analysis)["intensity_db"]))
    assert np.isnan(compute_group("perturbation", analysis)["jitter__local"])
    temporal = compute_group("temporal", analysis)
    assert temporal["voiced__fraction"] == 0.0
    assert temporal["voiced_segment__count"] == 0.0
    assert np.isnan(temporal["voiced_segment__mean_length"])


def test_temporal_counts_voiced_segments_and_pauses():
    tone = harmonic_tone(180.0, duration=0.3)
    gap = np.zeros(int(0.2 * SR))
    x = np.concatenate([gap, tone, gap, tone, gap, tone, gap])
    temporal = compute_group("temporal", analyse(x))
    assert temporal["voiced_segment__count"] == 3
    assert temporal["pause__count"] == 2
    assert temporal["voiced_segment__mean_length"] == pytest.approx(0.3, abs=0.05)
    assert temporal["pause__mean_length"] == pytest.approx(0.2, abs=0.05)
    assert temporal["duration__seconds"] == pytest.approx(x.size / SR)


def test_all_contours_share_the_frame_grid(rng):
    analysis = analyse(harmonic_tone(200.0, duration=0.73))
    for group in ("pitch", "energy", "formants", "harmonics", "spectral"):
        for name, values in compute_group(group, analysis).items():
            assert values.shape == (analysis.n_frames,), name


def test_every_contour_is_documented():
    analysis = analyse(harmonic_tone(200.0))
    for group in ("pitch", "energy", "formants", "harmonics", "spectral",
                  "perturbation", "temporal"):
        for name in compute_group(group, analysis):
            assert contour_info(name).group == group


def test_unknown_group_and_contour_are_parameter_errors():
    with pytest.raises(ParameterError, match="unknown contour group"):
        compute_group("nope", analyse(np.zeros(SR)))
    with pytest.raises(ValueError, match="unknown contour"):
        contour_info("f9_hz")


def test_intensity_fills_every_inner_frame_of_a_steady_tone():
    intensity = compute_group("energy", analyse(harmonic_tone(200.0, duration=3.0)))
    inner = intensity["intensity_db"][5:-5]
    assert np.isfinite(inner).all()


@pytest.mark.parametrize("sr, n_fft, n_mels",
                         [(16000, 512, 26), (16000, 400, 40), (8000, 256, 20),
                          (22050, 2048, 128), (44100, 1024, 64)])
def test_mel_filterbank_is_librosas_htk_filterbank(sr, n_fft, n_mels):
    # Pinned against librosa.filters.mel(htk=True, norm="slaney"), which sertk
    # used before it computed the filters itself, so the two cannot drift.
    import librosa

    ours = mel_filterbank(sr, n_fft, n_mels)
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=True,
                                 dtype=np.float64)
    assert ours.shape == theirs.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_mel_filters_are_triangles_of_equal_area():
    weights = mel_filterbank(16000, 4096, 26)
    bin_hz = 16000 / 4096
    areas = weights.sum(axis=1) * bin_hz  # each triangle: 2 / width * width / 2
    np.testing.assert_allclose(areas, 1.0, rtol=0.02)


@pytest.mark.parametrize("n", [1, 2, 26, 40])
def test_dct_matrix_is_scipys_orthonormal_dct2(n, rng):
    import scipy.fft

    x = rng.normal(size=(7, n)) * 30
    np.testing.assert_allclose(x @ dct_matrix(n).T,
                               scipy.fft.dct(x, type=2, norm="ortho", axis=1),
                               rtol=1e-12, atol=1e-11)


def _tone_in_noise(rng, noise_db: float) -> np.ndarray:
    """0.5 s of white noise, 1 s of a 200 Hz tone over it, 0.5 s of noise.

    The tone has RMS 0.1 (-23 dBFS); the noise is ``noise_db`` below it.
    """
    t = np.arange(SR) / SR
    sine = 0.1 * np.sqrt(2) * np.sin(2 * np.pi * 200 * t)
    tone = np.concatenate([np.zeros(SR // 2), sine, np.zeros(SR // 2)])
    return tone + 0.1 * 10 ** (-noise_db / 20) * rng.standard_normal(tone.size)


def _tone_frames(n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of frames well inside the tone and well inside the noise."""
    centre = np.arange(n_frames) * 0.01
    return (centre > 0.55) & (centre < 1.45), (centre < 0.45) | (centre > 1.55)


def test_noise_only_frames_are_not_active(rng):
    # The noise is 30 dB below the tone: within silence_db (40) of the
    # loudest frame, so only the noise-floor test can tell it is not speech.
    a = Analysis(_tone_in_noise(rng, 30.0), AnalysisSettings())
    tone, noise = _tone_frames(a.n_frames)
    assert a.active[tone].all()
    assert not a.active[noise].any()
    # Parseval: a frame of white noise of variance v has one-sided power
    # v * sum(window**2) * n_fft / 2 on average; the floor is a low
    # percentile of it, a fraction of the mean.
    s = AnalysisSettings()
    window = np.hanning(s.win_length + 2)[1:-1]
    mean_power = 0.1**2 * 10 ** (-30 / 10) * np.sum(window**2) * s.n_fft / 2
    assert 0.25 * mean_power < a.noise_floor < mean_power


def test_noise_snr_db_none_keeps_the_level_rule_only(rng):
    a = Analysis(_tone_in_noise(rng, 30.0), AnalysisSettings(noise_snr_db=None))
    tone, noise = _tone_frames(a.n_frames)
    assert a.active[tone].all() and a.active[noise].all()


def test_a_recording_without_pauses_stays_active(rng):
    # No pause: the noise floor is the tone's own level, and the frames are
    # kept because they are within LOUD_DB of the loudest.
    a = Analysis(harmonic_tone(200.0, 1.0) + 1e-3 * rng.standard_normal(SR),
                 AnalysisSettings())
    assert a.active[2:-2].all()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "10"])
def test_noise_snr_db_must_be_a_finite_number(value):
    with pytest.raises(ParameterError, match="noise_snr_db"):
        AnalysisSettings(noise_snr_db=value)
