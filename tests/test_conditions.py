"""Recording conditions (sertk.audio.conditions) on signals of known answer."""

import math

import numpy as np
import pytest

from sertk.audio.conditions import (
    CONDITION_NAMES,
    active_power,
    add_noise,
    apply_condition,
    babble,
    brown_noise,
    check_condition,
    clip,
    g711,
    gain,
    gsm,
    pink_noise,
    reverb,
    room_response,
    telephone,
    white_noise,
)
from sertk.errors import ParameterError

SR = 16000


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def tone(freq, seconds=1.0, sr=SR, amplitude=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return amplitude * np.sin(2 * np.pi * freq * t)


def level_db(y, skip=2000):
    """RMS of a signal past its start transient, dB re a unit-amplitude sine."""
    return 20 * math.log10(np.sqrt(np.mean(y[skip:] ** 2)) / math.sqrt(0.5) + 1e-12)


def schroeder_rt60(h, sr):
    """RT60 from Schroeder's backward integral, fitted between -5 and -35 dB."""
    energy = np.cumsum((h ** 2)[::-1])[::-1]
    decay = 10 * np.log10(energy / energy[0])
    t = np.arange(h.size) / sr
    fit = (decay <= -5) & (decay >= -35)
    slope = np.polyfit(t[fit], decay[fit], 1)[0]
    return -60 / slope


def spectral_slope(x, sr, lo=50, hi=4000):
    """Slope of power (dB) against log10 frequency, per decade."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / sr)
    band = (f >= lo) & (f <= hi)
    return np.polyfit(np.log10(f[band]), 10 * np.log10(spectrum[band]), 1)[0]


@pytest.mark.parametrize("rt60", [0.3, 0.6, 1.0])
def test_room_response_decays_at_its_rt60(rt60):
    # Energy falls 60 dB in rt60: measured back with Schroeder's integral
    # over several responses (a single one wobbles by a few percent).
    measured = [schroeder_rt60(room_response(rt60, SR, np.random.default_rng(s)), SR)
                for s in range(5)]
    assert np.mean(measured) == pytest.approx(rt60, rel=0.05)


def test_reverb_smears_a_tone_burst_in_time(rng):
    x = np.zeros(SR)
    x[1000:2000] = tone(500, 1000 / SR)
    short = reverb(x, SR, 0.3, rng)
    long = reverb(x, SR, 1.0, rng)
    after = slice(2000 + int(0.2 * SR), 2000 + int(0.3 * SR))
    # 200-300 ms after the burst ends the longer room still rings louder
    assert np.mean(long[after] ** 2) > 10 * np.mean(short[after] ** 2)
    assert active_power(short) == pytest.approx(active_power(x), rel=1e-9)


@pytest.mark.parametrize("freq, inside", [(1000, True), (2500, True), (100, False),
                                          (3900, False), (6000, False)])
def test_telephone_keeps_300_to_3400_hz_only(freq, inside):
    y = telephone(tone(freq), SR)
    assert y.shape == (SR,)
    if inside:
        assert abs(level_db(y) - level_db(tone(freq))) < 1.0
    else:
        assert level_db(y) - level_db(tone(freq)) < -30


@pytest.mark.parametrize("law", ["mu", "a"])
def test_g711_round_trip_error_is_bounded(law):
    # 8-bit companding at 8 kHz: at most about 1/32 of the sample plus a
    # step near zero; overall SNR of a sine about 38 dB.
    x = tone(440, sr=8000, amplitude=0.9)
    y = g711(x, 8000, law)
    assert np.all(np.abs(y - x) <= np.abs(x) / 32 + 2e-3)
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    assert 30 < snr < 45


def test_g711_differs_from_the_input_but_keeps_its_level():
    x = tone(440, amplitude=0.05)
    y = g711(x, SR, "mu")
    assert not np.allclose(x, y)
    assert abs(level_db(y) - level_db(x)) < 0.5
    with pytest.raises(ParameterError, match="'mu' or 'a'"):
        g711(x, SR, "b")


def test_gsm_is_band_limited_and_keeps_its_level():
    x = tone(440) + tone(6000)
    y = gsm(x, SR)
    assert y.shape == x.shape
    spectrum = np.abs(np.fft.rfft(y[2000:])) ** 2
    f = np.fft.rfftfreq(y.size - 2000, 1 / SR)
    assert spectrum[f > 4000].sum() < 1e-3 * spectrum.sum()
    assert abs(level_db(y) - level_db(tone(440))) < 3


@pytest.mark.parametrize("make, slope", [(white_noise, 0), (pink_noise, -10),
                                         (brown_noise, -20)])
def test_noise_colours_have_their_spectral_slope(make, slope):
    # dB per decade: white 0, pink -10 (3 dB an octave), brown -20
    x = make(16 * SR, np.random.default_rng(1))
    assert spectral_slope(x, SR) == pytest.approx(slope, abs=1.0)


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble"])
@pytest.mark.parametrize("snr", [0, 10, 20])
def test_noise_conditions_reach_their_snr_on_active_speech(kind, snr, rng):
    # half the signal is silence: the SNR counts active speech power only
    x = np.concatenate([np.zeros(SR // 2), tone(220, 0.5)])
    talkers = [tone(f, 0.7) for f in (150, 180, 210, 240)]
    y = apply_condition(x, SR, f"{kind}-{snr}", rng, talkers)
    noise = y - x
    measured = 10 * np.log10(active_power(x) / np.mean(noise ** 2))
    assert measured == pytest.approx(snr, abs=1e-6)


def test_babble_is_the_sum_of_its_talkers_at_equal_power(rng):
    a, b = tone(200, 0.5, amplitude=1.0), tone(300, 0.5, amplitude=0.01)
    y = babble([a, b], SR, rng)
    spectrum = np.abs(np.fft.rfft(y))
    f = np.fft.rfftfreq(y.size, 1 / SR)
    power_a = spectrum[np.argmin(abs(f - 200))]
    power_b = spectrum[np.argmin(abs(f - 300))]
    assert power_a == pytest.approx(power_b, rel=0.05)
    with pytest.raises(ParameterError, match="another talker"):
        babble([], SR, rng)
    with pytest.raises(ParameterError, match="silent"):
        babble([np.zeros(SR)], SR, rng)


def test_folder_noise_draws_one_recording(rng):
    x = tone(220)
    hum = tone(50, 0.3)
    y = apply_condition(x, SR, "folder-5", rng, [hum])
    assert 10 * np.log10(active_power(x) / np.mean((y - x) ** 2)) == pytest.approx(5)
    with pytest.raises(ParameterError, match="needs recordings"):
        apply_condition(x, SR, "folder-5", rng)


def test_clip_cuts_at_the_overdrive_level():
    x = tone(100, amplitude=1.0)
    y = clip(x, SR, 6.0)
    limit = 10 ** (-6 / 20)
    assert np.max(np.abs(y)) == pytest.approx(limit)
    unclipped = np.abs(x) <= limit
    np.testing.assert_array_equal(y[unclipped], x[unclipped])
    # a sine is beyond the limit 1 - 2 asin(limit) / pi of the time
    assert np.mean(~unclipped) == pytest.approx(1 - 2 * math.asin(limit) / math.pi,
                                                abs=0.01)


def test_gain_scales_exactly():
    x = tone(100)
    np.testing.assert_allclose(gain(x, SR, 20), 10 * x)
    np.testing.assert_allclose(apply_condition(x, SR, "gain-20", None), x / 10)


def test_conditions_are_seeded(rng):
    x = tone(220)
    for name in ("white-10", "pink-10", "reverb-0.6"):
        a = apply_condition(x, SR, name, np.random.default_rng(3))
        b = apply_condition(x, SR, name, np.random.default_rng(3))
        c = apply_condition(x, SR, name, np.random.default_rng(4))
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


@pytest.mark.parametrize("name", ["telephone", "mu-law", "a-law", "gsm", "reverb-0.6",
                                  "clip-12", "gain+6", "gain-12", "white-10",
                                  "pink-0", "brown-20"])
def test_every_condition_keeps_length_and_is_finite(name, rng):
    x = tone(220, 0.5)
    y = apply_condition(x, SR, name, rng)
    assert y.shape == x.shape and np.all(np.isfinite(y))


def test_check_condition_parses_and_refuses_with_the_list():
    assert check_condition("white-10").value == 10.0
    assert check_condition("gain-12").value == -12.0
    assert check_condition("gsm").kind == "gsm"
    for bad in ("whisper", "white", "white-100", "reverb-0", "reverb-5", "gain12", 3):
        with pytest.raises(ParameterError) as info:
            check_condition(bad)
        if isinstance(bad, str):
            for name in CONDITION_NAMES:
                assert name in str(info.value)


def test_bad_signals_are_refused(rng):
    with pytest.raises(ParameterError, match="1-D"):
        telephone(np.zeros((2, 100)), SR)
    with pytest.raises(ParameterError, match="sr"):
        telephone(np.zeros(100), 0)
    with pytest.raises(ParameterError, match="silent"):
        add_noise(tone(100), np.zeros(SR), 10)
    with pytest.raises(ParameterError, match="rt60"):
        room_response(0, SR, rng)
