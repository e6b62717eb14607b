"""Contours against signals whose answer is known by construction."""

import numpy as np
import pytest
from conftest import SR, harmonic_tone, synthetic_vowel

from sertk.errors import ParameterError
from sertk.features.contours import (
    Analysis,
    _librosa,
    compute_group,
    contour_info,
    contour_values,
)
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


def test_rate_of_change_of_an_octave_a_second_glide_is_12_semitones_a_second():
    f0 = 110 * 2 ** (np.arange(SR) / SR)  # 110 -> 220 Hz, exponentially
    a = analyse(harmonic_tone(f0))
    computed = compute_group("pitch", a)
    rate = contour_values("f0_semitone_delta", computed, a)
    assert np.isfinite(rate).sum() > 80
    assert np.nanmedian(rate) == pytest.approx(12.0, abs=0.3)
    # A voicing variant of a rate keeps the rate on voiced frames only.
    voiced = contour_values("f0_semitone_delta_voiced", computed, a)
    np.testing.assert_array_equal(voiced[a.voiced], rate[a.voiced])
    assert contour_info("f0_semitone_delta").unit == "semitones re 27.5 Hz per s"


def test_a_rate_is_nan_where_either_neighbour_is():
    a = analyse(np.zeros(1600))
    x = np.arange(a.n_frames, dtype=float)
    x[5] = np.nan
    rate = contour_values("loudness_delta", {"loudness": x}, a)
    assert np.isnan(rate[[0, 4, 6, a.n_frames - 1]]).all()
    np.testing.assert_allclose(rate[[1, 2, 3, 7]], 1 / 0.01)


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
    for name in ("f9_hz", "f9_hz_delta", "jitter__local_delta", "mfcc01_delta_delta"):
        with pytest.raises(ParameterError, match="unknown contour"):
            contour_info(name)


def test_intensity_fills_every_inner_frame_of_a_steady_tone():
    intensity = compute_group("energy", analyse(harmonic_tone(200.0, duration=3.0)))
    inner = intensity["intensity_db"][5:-5]
    assert np.isfinite(inner).all()


@pytest.mark.parametrize("n_fft, win_length, hop_length",
                         [(512, 400, 160), (513, 401, 160), (400, 399, 100)])
def test_frames_are_centred_on_the_grid_for_odd_and_even_lengths(
        n_fft, win_length, hop_length):
    # A click on the centre of frame 7 (or 8 samples after it) puts its
    # power, RMS and zero crossings in frame 7 (frames 7 and 8) and keeps
    # the one frame grid of 1 + n // hop_length frames.
    x = np.zeros(20 * hop_length + 37)
    x[7 * hop_length] = 1.0
    a = analyse(x, n_fft=n_fft, win_length=win_length, hop_length=hop_length)
    assert a.power.shape == (n_fft // 2 + 1, a.n_frames) == (n_fft // 2 + 1, 21)
    assert a.mel_power.shape == (26, a.n_frames)
    assert int(np.argmax(a.power.sum(axis=0))) == 7
    assert np.flatnonzero(a.rms).tolist() == [6, 7, 8]
    # the window peaks on its centre frame: the neighbours see the click at
    # hop_length / win_length of the frame off centre, where Hann is lower
    assert a.rms[7] == pytest.approx(1 / np.sqrt(win_length))
    # one sign change, at the click: one crossing in frame 7's window
    step = np.where(np.arange(x.size) < 7 * hop_length, -0.1, 0.1)
    zcr = compute_group("spectral", analyse(step, n_fft=n_fft, win_length=win_length,
                                            hop_length=hop_length))["zcr"]
    assert zcr.shape == (a.n_frames,)
    assert zcr[7] == pytest.approx(SR / win_length)
    assert np.all(zcr[10:-3] == 0)


def test_mel_bands_are_triangles_of_equal_area():
    # White power (1 in every bin) through Slaney-normalised triangles gives
    # each band its area: 1 / bin spacing, whatever its width.
    n_fft = 4096
    a = analyse(np.zeros(SR), n_fft=n_fft)
    a.__dict__["power"] = np.ones((n_fft // 2 + 1, a.n_frames))
    areas = a.mel_power[:, 0] * SR / n_fft
    np.testing.assert_allclose(areas, 1.0, rtol=0.02)


def test_mfcc_delta_is_the_regression_slope_with_repeated_edges():
    # A log mel power rising by 1 dB a frame in every band moves MFCC 0 only
    # (left out); a ramp in band 1 alone makes every MFCC a ramp, whose
    # delta is its slope inside and 0.5, 0.8 of it on the edge frames.
    a = analyse(np.zeros(SR // 10))
    ramp = np.zeros((26, a.n_frames))
    ramp[0] = np.arange(a.n_frames)
    a.__dict__["power"] = np.ones((257, a.n_frames))
    a.__dict__["mel_power"] = 10 ** (ramp / 10)
    a.__dict__["active"] = np.ones(a.n_frames, dtype=bool)
    out = compute_group("spectral", a)
    slope = out["mfcc01"][5] - out["mfcc01"][4]
    assert slope != 0
    expected = slope * np.r_[0.5, 0.8, np.ones(a.n_frames - 4), 0.8, 0.5]
    np.testing.assert_allclose(out["mfcc01_delta"], expected, rtol=1e-9)


def test_numba_cache_falls_back_to_a_temporary_folder(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "numba", raising=False)
    monkeypatch.setattr(_librosa, "_writable", lambda folder: True)
    assert _librosa.numba_cache_dir() is None  # librosa's own cache works
    monkeypatch.setattr(_librosa, "_writable", lambda folder: False)
    folder = _librosa.numba_cache_dir()
    assert folder is not None and "sertk-numba-cache" in folder
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere")
    assert _librosa.numba_cache_dir() is None  # the user's choice stands


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


def _vowels_between_noise(rng):
    """Two vowels among noise and silence: voiced and unvoiced stretches."""
    vowel = synthetic_vowel(f0=130.0, duration=0.4)
    return np.concatenate([0.01 * rng.standard_normal(SR // 2), vowel,
                           np.zeros(SR // 3), 0.05 * rng.standard_normal(SR // 4),
                           synthetic_vowel(f0=210.0, duration=0.3),
                           0.01 * rng.standard_normal(SR // 2)])


def test_formants_read_the_same_as_praat_on_the_whole_signal(rng):
    # the zeros put where no voiced read reaches change no formant read
    import parselmouth
    import soxr

    analysis = analyse(_vowels_between_noise(rng))
    contours = compute_group("formants", analysis)
    s = analysis.settings
    voiced = np.flatnonzero(analysis.voiced)
    assert 0.2 < voiced.size / analysis.n_frames < 0.8
    sr = int(round(2 * s.max_formant))
    sound = parselmouth.Sound(soxr.resample(analysis.signal, s.sr, sr, quality="HQ"),
                              sampling_frequency=sr)
    formant = sound.to_formant_burg(time_step=2 * s.hop_seconds,
                                    max_number_of_formants=s.n_formants,
                                    maximum_formant=s.max_formant,
                                    window_length=0.025, pre_emphasis_from=50.0)
    for k in (1, 2, 3):
        for name, read in (("hz", formant.get_value_at_time),
                           ("bw", formant.get_bandwidth_at_time)):
            whole = [read(k, i * s.hop_seconds) for i in voiced]
            np.testing.assert_array_equal(contours[f"f{k}_{name}"][voiced], whole)


def test_keep_near_zeroes_only_what_no_time_reaches():
    from sertk.features.contours.formants import keep_near

    x = np.arange(1.0, 101.0)
    kept = keep_near(x, 100, np.array([0.2, 0.5]), 0.05)
    np.testing.assert_array_equal(np.flatnonzero(kept), np.r_[15:26, 45:56])
    np.testing.assert_array_equal(kept[kept > 0], x[kept > 0])
    assert not keep_near(x, 100, np.array([]), 0.05).any()


@pytest.mark.parametrize("frame_length", [400, 401])
def test_zero_crossing_rate_counts_as_librosa_does(rng, frame_length):
    from sertk.features.contours.spectral import _zero_crossing_rate

    x = rng.standard_normal(SR // 2)
    x[::7] = 0.0  # zeros count as positive
    x[::11] = -0.0
    n_frames = 1 + x.size // 160
    padded = np.pad(x, (frame_length // 2, frame_length // 2 + frame_length))
    expected = _librosa.load_librosa().feature.zero_crossing_rate(
        padded, frame_length=frame_length, hop_length=160, center=False,
        threshold=0.0)[0, :n_frames]
    np.testing.assert_array_equal(
        _zero_crossing_rate(x, frame_length, 160, n_frames), expected)


def test_spectral_measures_of_a_frame_are_those_of_the_active_frames(rng):
    # computed on the active frames alone, they equal the same measures of
    # every frame, kept where active
    analysis = analyse(_vowels_between_noise(rng))
    active = analysis.active
    assert 0 < active.sum() < active.size
    contours = compute_group("spectral", analysis)
    feature = _librosa.load_librosa().feature
    every_frame = feature.spectral_centroid(S=np.sqrt(analysis.power),
                                            freq=analysis.frequencies)[0]
    np.testing.assert_allclose(contours["spectral_centroid"][active],
                               every_frame[active], rtol=1e-12)
    assert np.isnan(contours["spectral_centroid"][~active]).all()
    assert np.isnan(contours["alpha_ratio"][~active]).all()
