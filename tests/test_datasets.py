import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from sertk.errors import DatasetError, ParameterError
from sertk.io.datasets import (
    CORPORA,
    LABEL_MAPS,
    LABELS,
    read_corpus,
    read_crema_d,
    read_emodb,
    read_folders,
    read_manifest,
    read_ravdess,
    read_savee,
    read_tess,
    to_common_label,
)

REPO = Path(__file__).resolve().parents[1]


def touch(root, *names):
    """Create empty files (and their folders) under root."""
    for name in names:
        path = Path(root, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def check_frame(frame, corpus=None, *, common=True):
    """What every reader promises, whatever the corpus."""
    assert list(frame.columns[:3]) == ["path", "label", "speaker"]
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
    assert frame["path"].tolist() == sorted(frame["path"])
    assert all(os.path.isabs(p) for p in frame["path"])
    if common:
        assert set(frame["label"]) <= set(LABELS)
    if corpus is not None:
        native = LABEL_MAPS[corpus]
        assert set(frame["corpus_label"]) <= set(native)
        mapped = frame["corpus_label"].map(native)
        assert mapped.tolist() == frame["label"].tolist()


def rows_by_name(frame):
    return frame.set_index(frame["path"].map(lambda p: Path(p).name))


# --- labels -----------------------------------------------------------------


def test_labels_vocabulary():
    assert LABELS == (
        "anger",
        "happiness",
        "sadness",
        "fear",
        "disgust",
        "boredom",
        "neutral",
        "surprise",
        "calm",
    )
    for corpus, mapping in LABEL_MAPS.items():
        assert set(mapping.values()) <= set(LABELS), corpus


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("anger", "anger"),
        ("Angry", "anger"),
        ("HAPPY", "happiness"),
        ("joy", "happiness"),
        ("sad", "sadness"),
        ("fearful", "fear"),
        ("afraid", "fear"),
        ("disgusted", "disgust"),
        ("bored", "boredom"),
        ("surprised", "surprise"),
        ("pleasant_surprise", "surprise"),
        ("Pleasant Surprise", "surprise"),
        ("pleasant-surprised", "surprise"),
        ("ps", "surprise"),
        (" calm ", "calm"),
        ("Neutral", "neutral"),
    ],
)
def test_to_common_label_synonyms(label, expected):
    assert to_common_label(label) == expected


def test_to_common_label_native_codes():
    assert to_common_label("W", "emodb") == "anger"
    assert to_common_label("A", "emodb") == "fear"
    assert to_common_label("a", "savee") == "anger"
    assert to_common_label("SA", "savee") == "sadness"
    assert to_common_label("02", "ravdess") == "calm"
    assert to_common_label("hap", "cremad") == "happiness"
    assert to_common_label("ps", "tess") == "surprise"
    # common names still work when a corpus is given
    assert to_common_label("boredom", "emodb") == "boredom"
    for corpus, mapping in LABEL_MAPS.items():
        for code, common in mapping.items():
            assert to_common_label(code, corpus) == common


def test_to_common_label_unknown():
    with pytest.raises(ParameterError, match=r"'grumpy'.*anger, happiness") as info:
        to_common_label("grumpy")
    assert isinstance(info.value, ValueError)
    for label in LABELS:
        assert label in str(info.value)
    with pytest.raises(ParameterError, match=r"'X'.*EMO-DB code \(W, L"):
        to_common_label("X", "emodb")
    with pytest.raises(ParameterError, match="'W'"):
        to_common_label("W")  # a code means nothing without its corpus
    with pytest.raises(ParameterError, match="must be a string"):
        to_common_label(float("nan"))


def test_to_common_label_unknown_corpus():
    with pytest.raises(ParameterError, match=r"'iemocap'.*emodb, ravdess"):
        to_common_label("anger", "iemocap")


# --- EMO-DB -----------------------------------------------------------------


def test_read_emodb_file_names(tmp_path):
    touch(tmp_path / "wav", "03a01Fa.wav", "08b02Wc.WAV", "16a05Tb.wav", "13b09Ld.wav")
    frame = read_emodb(tmp_path)
    check_frame(frame, "emodb")
    assert list(frame.columns) == [
        "path",
        "label",
        "speaker",
        "gender",
        "text",
        "version",
        "corpus_label",
    ]
    rows = rows_by_name(frame)
    assert rows.loc["03a01Fa.wav", ["label", "speaker", "gender", "text"]].tolist() == [
        "happiness",
        "03",
        "m",
        "a01",
    ]
    assert rows.loc["08b02Wc.WAV", "label"] == "anger"
    assert rows.loc["08b02Wc.WAV", "gender"] == "f"
    assert rows.loc["16a05Tb.wav", "label"] == "sadness"
    assert rows.loc["13b09Ld.wav", ["label", "version"]].tolist() == ["boredom", "d"]


def test_read_emodb_flat_folder_and_skips(tmp_path):
    touch(tmp_path, "03a01Fa.wav", "notes.wav", "03a01Xa.wav", "readme.txt")
    with pytest.warns(UserWarning, match=r"skipped 2 audio file\(s\)") as record:
        frame = read_emodb(tmp_path)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the caller
    assert frame["label"].tolist() == ["happiness"]


def test_read_emodb_manifest(tmp_path):
    touch(tmp_path / "wav", "03a01Fa.wav", "10a02Wa.wav")
    (tmp_path / "manifest.csv").write_text(
        "path,label,speaker,gender,text\n"
        "wav/10a02Wa.wav,anger,10,m,a02\n"
        "wav/03a01Fa.wav,happiness,03,m,a01\n"
    )
    frame = read_emodb(tmp_path)
    check_frame(frame)
    assert list(frame.columns) == ["path", "label", "speaker", "gender", "text"]
    assert frame["speaker"].tolist() == ["03", "10"]
    assert frame["path"].tolist() == [
        str(tmp_path / "wav" / "03a01Fa.wav"),
        str(tmp_path / "wav" / "10a02Wa.wav"),
    ]


def test_read_emodb_manifest_bad_label(tmp_path):
    (tmp_path / "manifest.csv").write_text(
        "path,label,speaker,gender,text\nwav/x.wav,grumpy,10,m,a02\n"
    )
    with pytest.raises(DatasetError, match=r"manifest\.csv.*'grumpy'"):
        read_emodb(tmp_path)


# --- RAVDESS ----------------------------------------------------------------


def test_read_ravdess(tmp_path):
    touch(
        tmp_path,
        "Actor_01/03-01-05-02-01-01-01.wav",
        "Actor_01/03-01-01-01-02-02-01.wav",
        "Actor_12/03-01-02-01-01-02-12.wav",
        "Actor_24/03-01-08-02-02-01-24.wav",
        "Actor_12/03-02-03-01-01-01-12.wav",  # song
        "Actor_24/03-02-06-02-02-02-24.wav",  # song
    )
    with pytest.warns(UserWarning, match=r"skipped 2 audio file\(s\).*RAVDESS speech"):
        frame = read_ravdess(tmp_path)
    check_frame(frame, "ravdess")
    assert len(frame) == 4
    assert not frame["path"].str.contains("03-02-").any()
    rows = rows_by_name(frame)
    first = rows.loc["03-01-05-02-01-01-01.wav"]
    assert first[["label", "speaker", "gender", "intensity"]].tolist() == [
        "anger",
        "01",
        "m",
        "strong",
    ]
    assert first[["statement", "repetition", "corpus_label"]].tolist() == [
        "01",
        "01",
        "05",
    ]
    calm = rows.loc["03-01-02-01-01-02-12.wav"]
    assert calm[["label", "speaker", "gender", "intensity", "repetition"]].tolist() == [
        "calm",
        "12",
        "f",
        "normal",
        "02",
    ]
    assert rows.loc["03-01-08-02-02-01-24.wav", "label"] == "surprise"
    assert rows.loc["03-01-01-01-02-02-01.wav", "statement"] == "02"


def test_read_ravdess_song_only_is_an_error(tmp_path):
    touch(tmp_path, "Actor_01/03-02-05-02-01-01-01.wav")
    with pytest.raises(DatasetError, match="no RAVDESS speech files"):
        read_ravdess(tmp_path)


# --- TESS -------------------------------------------------------------------


def test_read_tess(tmp_path):
    touch(
        tmp_path,
        "OAF_angry/OAF_back_angry.wav",
        "OAF_neutral/OA_bite_neutral.wav",
        "YAF_pleasant_surprised/YAF_dog_ps.wav",
        "yaf_sad/yaf_Dog_SAD.WAV",
        "YAF_happy/YAF_bar_happy.wav",
        "YAF_disgust/YAF_bar_disgust.flac",
        "OAF_Fear/OAF_bar_fear.wav",
    )
    frame = read_tess(tmp_path)
    check_frame(frame, "tess")
    assert list(frame.columns) == [
        "path",
        "label",
        "speaker",
        "gender",
        "text",
        "corpus_label",
    ]
    rows = rows_by_name(frame)
    assert rows.loc["OAF_back_angry.wav", ["label", "speaker", "text"]].tolist() == [
        "anger",
        "OAF",
        "back",
    ]
    assert rows.loc["OA_bite_neutral.wav", "speaker"] == "OAF"
    assert rows.loc["YAF_dog_ps.wav", "label"] == "surprise"
    assert rows.loc["yaf_Dog_SAD.WAV", ["label", "speaker", "text"]].tolist() == [
        "sadness",
        "YAF",
        "dog",
    ]
    assert rows.loc["YAF_bar_happy.wav", "label"] == "happiness"
    assert rows.loc["YAF_bar_disgust.flac", "label"] == "disgust"
    assert rows.loc["OAF_bar_fear.wav", "label"] == "fear"
    assert set(frame["gender"]) == {"f"}


# --- SAVEE ------------------------------------------------------------------


def test_read_savee_speaker_folders(tmp_path):
    touch(
        tmp_path,
        "AudioData/DC/a01.wav",
        "AudioData/DC/sa03.wav",
        "AudioData/JE/su15.wav",
        "AudioData/KL/n30.wav",
        "AudioData/JK/d02.wav",
        "AudioData/JK/f02.wav",
        "AudioData/JK/h11.wav",
        "AudioData/XX/a01.wav",  # not a SAVEE speaker
    )
    with pytest.warns(UserWarning, match=r"skipped 1 audio file"):
        frame = read_savee(tmp_path)
    check_frame(frame, "savee")
    by = {
        (Path(p).parent.name, Path(p).name): row
        for p, row in frame.set_index("path").iterrows()
    }
    assert by["DC", "a01.wav"][["label", "speaker", "text"]].tolist() == [
        "anger",
        "DC",
        "a01",
    ]
    assert by["DC", "sa03.wav"]["label"] == "sadness"
    assert by["JE", "su15.wav"]["label"] == "surprise"
    assert by["KL", "n30.wav"]["label"] == "neutral"
    assert by["JK", "d02.wav"]["label"] == "disgust"
    assert by["JK", "f02.wav"]["label"] == "fear"
    assert by["JK", "h11.wav"]["label"] == "happiness"
    assert set(frame["gender"]) == {"m"}
    assert set(frame["speaker"]) == {"DC", "JE", "JK", "KL"}


def test_read_savee_flat_names(tmp_path):
    touch(tmp_path / "ALL", "DC_a01.wav", "JE_sa01.wav", "KL_su02.wav", "jk_h05.wav")
    frame = read_savee(tmp_path)
    check_frame(frame, "savee")
    rows = rows_by_name(frame)
    assert rows.loc["DC_a01.wav", ["label", "speaker"]].tolist() == ["anger", "DC"]
    assert rows.loc["JE_sa01.wav", ["label", "speaker"]].tolist() == ["sadness", "JE"]
    assert rows.loc["KL_su02.wav", "label"] == "surprise"
    assert rows.loc["jk_h05.wav", ["label", "speaker"]].tolist() == ["happiness", "JK"]


# --- CREMA-D ----------------------------------------------------------------

CREMA_NAMES = (
    "AudioWAV/1001_DFA_ANG_XX.wav",
    "AudioWAV/1002_IEO_HAP_HI.wav",
    "AudioWAV/1091_TSI_SAD_LO.wav",
    "AudioWAV/1091_ITS_NEU_MD.wav",
    "AudioWAV/1003_WSI_FEA_XX.wav",
    "AudioWAV/1003_WSI_DIS_XX.wav",
)


def test_read_crema_d_without_demographics(tmp_path):
    touch(tmp_path, *CREMA_NAMES, "AudioWAV/1092_DFA_ANG_XX.wav")  # no actor 1092
    with pytest.warns(UserWarning, match=r"skipped 1 audio file"):
        frame = read_crema_d(tmp_path)
    check_frame(frame, "crema-d")
    assert "gender" not in frame.columns
    rows = rows_by_name(frame)
    assert rows.loc[
        "1001_DFA_ANG_XX.wav", ["label", "speaker", "text", "intensity"]
    ].tolist() == ["anger", "1001", "DFA", "XX"]
    assert rows.loc["1002_IEO_HAP_HI.wav", ["label", "intensity"]].tolist() == [
        "happiness",
        "HI",
    ]
    assert rows.loc["1091_TSI_SAD_LO.wav", "label"] == "sadness"
    assert rows.loc["1091_ITS_NEU_MD.wav", "label"] == "neutral"
    assert rows.loc["1003_WSI_FEA_XX.wav", "label"] == "fear"
    assert rows.loc["1003_WSI_DIS_XX.wav", "label"] == "disgust"


def test_read_crema_d_with_demographics(tmp_path):
    touch(tmp_path, *CREMA_NAMES)
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n"
        "1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n"
        "1091,29,Female,Asian,Not Hispanic\n"
    )
    frame = read_crema_d(tmp_path)
    check_frame(frame, "crema-d")
    assert list(frame.columns[:4]) == ["path", "label", "speaker", "gender"]
    genders = dict(zip(frame["speaker"], frame["gender"], strict=True))
    assert genders["1001"] == "m"
    assert genders["1002"] == "f"
    assert genders["1091"] == "f"
    assert pd.isna(genders["1003"])  # not in the table


def test_read_crema_d_bad_demographics(tmp_path):
    touch(tmp_path, *CREMA_NAMES)
    (tmp_path / "VideoDemographics.csv").write_text("id,gender\n1001,m\n")
    with pytest.raises(DatasetError, match=r"VideoDemographics\.csv.*ActorID, Sex"):
        read_crema_d(tmp_path)


# --- label folders ----------------------------------------------------------


def test_read_folders(tmp_path):
    touch(
        tmp_path,
        "anger/a.wav",
        "Happy/b.mp3",
        "sad/spk1/c.ogg",
        "sad/notes.txt",
        ".cache/x.wav",
        "stray.wav",
    )
    with pytest.warns(UserWarning, match=r"skipped 2 audio file"):
        frame = read_folders(tmp_path)
    check_frame(frame)
    assert frame["label"].tolist() == ["happiness", "anger", "sadness"]
    assert frame["corpus_label"].tolist() == ["Happy", "anger", "sad"]
    assert frame["speaker"].isna().all()


def test_read_folders_bad_subfolder(tmp_path):
    touch(tmp_path, "anger/a.wav", "misc/b.wav")
    with pytest.raises(DatasetError, match=r"misc.*'misc'.*anger, happiness"):
        read_folders(tmp_path)


# --- manifest ---------------------------------------------------------------


def test_read_manifest(tmp_path):
    (tmp_path / "clips").mkdir()
    elsewhere = tmp_path / "elsewhere.wav"
    (tmp_path / "clips" / "list.csv").write_text(
        "file,emotion,spk,duration\n"
        "b.wav,Angry,07,1.5\n"
        f"{elsewhere},sad,01,2.0\n"
        "../up/a.wav,happy,003,0.5\n"
    )
    frame = read_manifest(
        tmp_path / "clips" / "list.csv",
        path_column="file",
        label_column="emotion",
        speaker_column="spk",
    )
    check_frame(frame, common=False)
    assert list(frame.columns) == ["path", "label", "speaker", "duration"]
    assert frame["path"].tolist() == [
        str(tmp_path / "clips" / "b.wav"),
        str(elsewhere),
        str(tmp_path / "up" / "a.wav"),
    ]
    assert frame["label"].tolist() == ["Angry", "sad", "happy"]  # not remapped
    assert frame["speaker"].tolist() == ["07", "01", "003"]
    assert frame["duration"].tolist() == [1.5, 2.0, 0.5]

    mapped = read_manifest(
        tmp_path / "clips" / "list.csv",
        path_column="file",
        label_column="emotion",
        speaker_column="spk",
        map_labels=True,
    )
    assert mapped["label"].tolist() == ["anger", "sadness", "happiness"]
    assert mapped["corpus_label"].tolist() == ["Angry", "sad", "happy"]


def test_read_manifest_without_speaker(tmp_path):
    (tmp_path / "m.csv").write_text("path,label\nx.wav,anger\n")
    frame = read_manifest(tmp_path / "m.csv", speaker_column=None)
    assert list(frame.columns) == ["path", "label", "speaker"]
    assert frame["speaker"].isna().all()


def test_read_manifest_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_manifest(tmp_path / "missing.csv")
    with pytest.raises(DatasetError, match="is a folder"):
        read_manifest(tmp_path)
    (tmp_path / "m.csv").write_text("file,label\nx.wav,anger\n")
    with pytest.raises(DatasetError, match=r"no column 'path'.*'file'.*path_column="):
        read_manifest(tmp_path / "m.csv")
    with pytest.raises(DatasetError, match=r"no column 'speaker'"):
        read_manifest(tmp_path / "m.csv", path_column="file")
    (tmp_path / "clash.csv").write_text("path,label,emotion\nx.wav,a,anger\n")
    with pytest.raises(DatasetError, match=r"already has column.*'label'"):
        read_manifest(
            tmp_path / "clash.csv", label_column="emotion", speaker_column=None
        )
    (tmp_path / "empty.csv").write_text("path,label\nx.wav,anger\n,sad\n")
    with pytest.raises(DatasetError, match=r"empty 'path' on data row\(s\) 2"):
        read_manifest(tmp_path / "empty.csv", speaker_column=None)
    (tmp_path / "speaker.csv").write_text("path,label,speaker\nx.wav,anger,03\n")
    with pytest.raises(DatasetError, match=r"already has column.*'speaker'"):
        read_manifest(tmp_path / "speaker.csv", speaker_column=None)
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(DatasetError, match=r"cannot read manifest .*blank\.csv"):
        read_manifest(tmp_path / "blank.csv")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(DatasetError, match=r"cannot read manifest .*binary\.csv"):
        read_manifest(tmp_path / "binary.csv")
    (tmp_path / "bad.csv").write_text("path,label\nx.wav,grumpy\n")
    with pytest.raises(DatasetError, match=r"column 'label'.*'grumpy'.*map_labels"):
        read_manifest(tmp_path / "bad.csv", speaker_column=None, map_labels=True)


# --- wrong folders and dispatch ---------------------------------------------

READERS = {
    "emodb": (read_emodb, "EMO-DB"),
    "ravdess": (read_ravdess, "RAVDESS"),
    "tess": (read_tess, "TESS"),
    "savee": (read_savee, "SAVEE"),
    "crema-d": (read_crema_d, "CREMA-D"),
    "folders": (read_folders, "label-folder"),
}


@pytest.mark.parametrize("corpus", list(READERS))
def test_wrong_folder(tmp_path, corpus):
    reader, display = READERS[corpus]
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match=rf"does not exist.*is this the {display}"):
        reader(missing)
    (tmp_path / "file.wav").touch()
    with pytest.raises(DatasetError, match="not a folder"):
        reader(tmp_path / "file.wav")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError) as info:
        reader(empty)
    message = str(info.value)
    assert str(empty) in message
    assert f"is this the {display}" in message


def test_wrong_corpus_folder_names_convention(tmp_path):
    touch(tmp_path, "Actor_01/03-01-05-02-01-01-01.wav")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            DatasetError,
            match=r"no TESS recordings \(OAF_back_angry\.wav\) under .*TESS root",
        ):
            read_tess(tmp_path)


def test_read_corpus_dispatch(tmp_path):
    touch(tmp_path, "1001_DFA_ANG_XX.wav")
    for name in ("crema-d", "cremad", "CREMA-D"):
        assert read_corpus(name, tmp_path)["label"].tolist() == ["anger"]
    (tmp_path / "m.csv").write_text("file,label\nx.wav,anger\n")
    frame = read_corpus(
        "manifest", tmp_path / "m.csv", path_column="file", speaker_column=None
    )
    assert frame["label"].tolist() == ["anger"]
    assert set(CORPORA) == {
        "emodb",
        "ravdess",
        "tess",
        "savee",
        "crema-d",
        "folders",
        "manifest",
    }


def test_home_folder_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    touch(tmp_path / "corpora" / "savee", "DC_a01.wav")
    frame = read_savee("~/corpora/savee")
    assert frame["path"].tolist() == [
        str(tmp_path / "corpora" / "savee" / "DC_a01.wav")
    ]


def test_read_corpus_unknown():
    with pytest.raises(ParameterError, match=r"'iemocap'.*emodb, ravdess, tess"):
        read_corpus("iemocap", ".")


# --- the real EMO-DB --------------------------------------------------------


def emodb_root():
    root = Path(
        os.environ.get("SERTK_EMODB", REPO / ".." / "shared" / "data" / "emodb")
    )
    if not root.is_dir():
        pytest.skip(f"EMO-DB not found at {root}; set SERTK_EMODB to its folder")
    return root


@pytest.mark.emodb
@pytest.mark.parametrize("subfolder", ["", "wav"], ids=["manifest", "file-names"])
def test_real_emodb(subfolder):
    frame = read_emodb(emodb_root() / subfolder)
    check_frame(frame)
    assert len(frame) == 535
    assert frame["speaker"].nunique() == 10
    counts = frame["label"].value_counts().to_dict()
    assert counts == {
        "anger": 127,
        "boredom": 81,
        "disgust": 46,
        "fear": 69,
        "happiness": 71,
        "sadness": 62,
        "neutral": 79,
    }
    genders = frame.groupby("speaker")["gender"].first().to_dict()
    assert genders == {
        "03": "m",
        "08": "f",
        "09": "f",
        "10": "m",
        "11": "m",
        "12": "m",
        "13": "f",
        "14": "f",
        "15": "m",
        "16": "f",
    }
    assert frame.groupby("speaker").size()["16"] == 71
    assert all(os.path.isfile(p) for p in frame["path"])


@pytest.mark.emodb
def test_real_emodb_routes_agree():
    root = emodb_root()
    columns = ["path", "label", "speaker", "gender", "text"]
    from_manifest = read_emodb(root)[columns]
    from_names = read_emodb(root / "wav")[columns]
    pd.testing.assert_frame_equal(from_manifest, from_names)
