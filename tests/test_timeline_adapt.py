"""Timelines adapted to the recording or to reference recordings (issue 22)."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR
from synthetic_corpus import write_audio_corpus

from sertk.cli.predict import main as predict
from sertk.cli.train import main as train
from sertk.errors import ParameterError
from sertk.io.model_files import load_model
from sertk.timeline.windows import predict_timeline, reference_windows

CLIP = 0.4  # seconds a clip of the synthetic corpus, and a window here


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timeline-adapt")
    manifest = write_audio_corpus(folder / "corpus", per_class=5)
    path = folder / "model.skops"
    assert train(["--manifest", str(manifest), "-o", str(path),
                  "--feature-set", "minimal", "--no-cache", "-q"]) == 0
    return load_model(path), path, manifest


def _recording(manifest, folder, order, gain):
    """Clips of speaker 0 back to back (one a window), scaled by ``gain``."""
    clips = [sf.read(manifest.parent / f"s0_{label}_{i % 5}.wav")[0]
             for i, label in enumerate(order)]
    path = folder / "talk.wav"
    sf.write(path, gain * np.concatenate(clips), SR)
    return path


def _windows(model, path):
    return predict_timeline(model, path, window=CLIP, hop=CLIP, progress=False)


def test_batch_adapts_the_recordings_windows_together(trained, tmp_path):
    model, _, manifest = trained
    order = ["anger", "sadness"] * 6
    path = _recording(manifest, tmp_path, order, gain=0.2)  # another setting
    plain = _windows(model, path)
    batch = predict_timeline(model, path, window=CLIP, hop=CLIP, adapt="batch",
                             progress=False)
    assert batch[["path", "start", "end", "speech_fraction"]].equals(
        plain[["path", "start", "end", "speech_fraction"]])
    assert not np.allclose(batch.filter(like="prob_"), plain.filter(like="prob_"))
    # the same as the model adapting the windows' features as one batch
    from sertk.timeline.windows import model_analysis, window_features

    fs, settings, names = model_analysis(model)
    features = window_features(path, fs, settings, window=CLIP, hop=CLIP,
                               progress=False)
    expected = model.predict_proba(features[names], adapt="batch")
    np.testing.assert_allclose(batch.filter(like="prob_").to_numpy(), expected)


def test_reference_windows_anchor_the_timeline(trained, tmp_path):
    model, _, manifest = trained
    order = ["anger", "sadness"] * 4
    path = _recording(manifest, tmp_path, order, gain=0.2)
    ref_folder = tmp_path / "ref"
    ref_folder.mkdir()
    ref = _recording(manifest, ref_folder, ["sadness", "anger"] * 3, gain=0.2)
    anchors = reference_windows(model, [ref], window=CLIP, hop=CLIP, progress=False)
    assert len(anchors) == 6
    from_paths = predict_timeline(model, path, window=CLIP, hop=CLIP,
                                  reference=[ref], progress=False)
    from_table = predict_timeline(model, path, window=CLIP, hop=CLIP,
                                  reference=anchors, progress=False)
    pd.testing.assert_frame_equal(from_paths, from_table)
    assert not np.allclose(from_paths.filter(like="prob_"),
                           _windows(model, path).filter(like="prob_"))


def test_reference_without_speech_and_speaker_mode_are_errors(trained, tmp_path):
    model, _, manifest = trained
    path = _recording(manifest, tmp_path, ["anger", "sadness"], gain=1.0)
    quiet = tmp_path / "zeros.wav"
    sf.write(quiet, np.zeros(SR), SR)
    with pytest.raises(ParameterError, match="window of speech"):
        predict_timeline(model, path, window=CLIP, hop=CLIP, reference=[quiet],
                         progress=False)
    with pytest.raises(ParameterError, match="one speaker"):
        predict_timeline(model, path, window=CLIP, hop=CLIP, adapt="speaker",
                         progress=False)


def test_cli_window_with_adapt_and_reference(trained, tmp_path, capsys):
    model, model_path, manifest = trained
    order = ["anger", "sadness"] * 6
    path = _recording(manifest, tmp_path, order, gain=0.2)
    out = tmp_path / "batch.csv"
    assert predict(["-m", str(model_path), "--safe", str(path), "--window", str(CLIP),
                    "--hop", str(CLIP), "--adapt", "batch", "-o", str(out), "-q"]) == 0
    rows = pd.read_csv(out)
    expected = predict_timeline(model, path, window=CLIP, hop=CLIP, adapt="batch",
                                progress=False)
    assert rows["label"].tolist() == expected["label"].tolist()
    out = tmp_path / "reference.csv"
    assert predict(["-m", str(model_path), "--safe", str(path), "--window", str(CLIP),
                    "--hop", str(CLIP), "--reference", str(path), "-o", str(out),
                    "-q"]) == 0
    assert len(pd.read_csv(out)) == len(order)
    for extra, said in ((["--adapt", "speaker"], "one speaker"),
                        (["--adapt", "batch", "--causal"], "--causal")):
        assert predict(["-m", str(model_path), "--safe", str(path), "--window",
                        "1", *extra]) == 2
        assert said in capsys.readouterr().err
