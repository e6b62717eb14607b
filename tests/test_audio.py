import numpy as np
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone

from sertk.audio.reading import (
    MIN_DURATION,
    find_audio_files,
    iter_blocks,
    load,
    prepare_signal,
)
from sertk.errors import AudioError, ParameterError


def test_load_resamples_and_mixes(write_wav):
    tone = harmonic_tone(200.0, sr=44100)
    path = write_wav("stereo.wav", np.column_stack([tone, -tone * 0]), sr=44100)
    x = load(path)
    assert x.shape == (SR,) and x.dtype == np.float64
    assert np.max(np.abs(x)) == pytest.approx(0.15, abs=0.01)  # mean of the channels


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_sample_formats_read_the_same(write_wav, subtype):
    tone = harmonic_tone(150.0, duration=0.5)
    x = load(write_wav(f"t_{subtype}.wav", tone, subtype=subtype))
    np.testing.assert_allclose(x, tone, atol=1e-4)


def test_flac_and_ogg(write_wav):
    tone = harmonic_tone(150.0, duration=0.5)
    assert load(write_wav("t.flac", tone)).size == tone.size
    assert abs(load(write_wav("t.ogg", tone)).size - tone.size) < 0.01 * SR


def test_segment(write_wav):
    path = write_wav("t.wav", harmonic_tone(150.0, duration=2.0))
    assert load(path, start=0.5, end=1.25).size == int(0.75 * SR)
    with pytest.raises(ParameterError):
        load(path, start=1.0, end=0.5)
    with pytest.raises(AudioError, match="after the end"):
        load(path, start=5.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("hello, not audio"), "not readable as audio"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: None, "no such file"),
        (lambda p: p.symlink_to(p.parent / "gone.wav"), "broken symbolic link"),
    ],
)
def test_unreadable_files_are_audio_errors(tmp_path, make, message):
    path = tmp_path / "x.wav"
    make(path)
    with pytest.raises(AudioError, match=message) as info:
        load(path)
    assert info.value.path == str(path)


def test_too_short_and_non_finite():
    with pytest.raises(AudioError, match="shorter than the minimum"):
        prepare_signal(np.zeros(int(MIN_DURATION * SR) - 1), SR)
    bad = np.zeros(SR)
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN or infinite"):
        prepare_signal(bad, SR)
    with pytest.raises(ParameterError):
        prepare_signal(np.zeros(SR), 0)


def test_iter_blocks_covers_the_file(write_wav):
    path = write_wav("long.wav", harmonic_tone(150.0, duration=5.0))
    blocks = list(iter_blocks(path, 2.0))
    assert [start for start, _ in blocks] == [0.0, 2.0, 4.0]
    assert sum(block.size for _, block in blocks) == 5 * SR


def test_find_audio_files(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("a/1.wav", "a/2.FLAC", "b.txt", "c.mp3"):
        (tmp_path / name).write_bytes(b"x")
    found = find_audio_files([tmp_path])
    assert [p.replace(str(tmp_path), "") for p in found] == ["/a/1.wav", "/a/2.FLAC",
                                                             "/c.mp3"]
    with pytest.raises(AudioError):
        find_audio_files([tmp_path / "missing"])


def test_sf_write_roundtrip_sanity(tmp_path):
    sf.write(tmp_path / "z.wav", np.zeros(SR), SR)
    assert np.all(load(tmp_path / "z.wav") == 0)
