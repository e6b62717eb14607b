"""Feature tables: streamed writing, atomic commit, resuming, reading back."""

import json
import os

import numpy as np
import pytest

from sertk.errors import DatasetError, ParameterError
from sertk.features.tables import (
    TableWriter,
    atomic_write_json,
    atomic_write_text,
    format_float,
    partial_path,
    read_feature_table,
    read_params,
    read_path_table,
)

COLUMNS = ["path", "label", "f0_semitone__mean", "hnr_db__mean"]
TEXT = ["path", "label"]


def write(path, rows, **kwargs):
    with TableWriter(path, COLUMNS, text_columns=TEXT, **kwargs) as table:
        for row in rows:
            table.write_row(row)
    return table


def lines(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


@pytest.mark.parametrize("value", [0.1, -0.0, 1e-300, 5e-324, 1.7976931348623157e308,
                                   np.float32(0.1), np.float64(1 / 3), 12])
def test_format_float_round_trips_exactly(value):
    assert float(format_float(value)) == float(value)
    assert format_float(value) == format_float(float(value))


def test_format_float_writes_missing_values_empty():
    assert format_float(np.nan) == format_float(None) == ""


def test_rows_are_committed_in_order_with_exact_floats(tmp_path):
    out = tmp_path / "f.csv"
    write(out, [["a.wav", "anger", 1 / 3, np.nan], ["b.wav", "", 2.5, -1e-7]])
    assert lines(out) == ["path,label,f0_semitone__mean,hnr_db__mean",
                          "a.wav,anger,0.3333333333333333,",
                          "b.wav,,2.5,-1e-07"]
    assert not os.path.exists(partial_path(out))
    table = read_feature_table(out)
    assert table["f0_semitone__mean"].tolist() == [1 / 3, 2.5]
    assert np.isnan(table["hnr_db__mean"][0])


def test_rows_are_flushed_to_the_partial_as_they_come(tmp_path):
    out = tmp_path / "f.csv"
    with TableWriter(out, COLUMNS, text_columns=TEXT) as table:
        table.write_row(["a.wav", "x", 1.0, 2.0])
        assert lines(partial_path(out))[-1] == "a.wav,x,1.0,2.0"
        assert not out.exists()


def test_an_exception_keeps_the_old_table_and_the_partial(tmp_path):
    out = tmp_path / "f.csv"
    write(out, [["old.wav", "x", 1.0, 2.0]])
    before = out.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with TableWriter(out, COLUMNS, text_columns=TEXT,
                         sidecars={tmp_path / "p.json": "{}"}) as table:
            table.write_row(["new.wav", "y", 3.0, 4.0])
            raise KeyboardInterrupt
    assert out.read_bytes() == before
    assert lines(partial_path(out))[-1] == "new.wav,y,3.0,4.0"
    assert not (tmp_path / "p.json").exists()


def test_sidecars_are_committed_with_the_table(tmp_path):
    out = tmp_path / "f.csv"
    write(out, [], sidecars={tmp_path / "f.params.json": '{"sr": 16000}\n'})
    assert read_params(tmp_path / "f.params.json") == {"sr": 16000}
    assert not os.path.exists(partial_path(tmp_path / "f.params.json"))


def test_without_resume_a_leftover_partial_is_discarded(tmp_path):
    out = tmp_path / "f.csv"
    with open(partial_path(out), "w") as handle:
        handle.write("path,label,f0_semitone__mean,hnr_db__mean\nz.wav,x,1.0,1.0\n")
    table = write(out, [["a.wav", "x", 1.0, 2.0]])
    assert table.done == frozenset()
    assert [line.split(",")[0] for line in lines(out)[1:]] == ["a.wav"]


def test_resume_keeps_table_then_partial_rows_once_and_drops_a_cut_row(tmp_path):
    out = tmp_path / "f.csv"
    write(out, [["a.wav", "x", 1.0, 2.0], ["b.wav", "x", 3.0, 4.0]])
    with open(partial_path(out), "w", encoding="utf-8") as handle:
        handle.write("path,label,f0_semitone__mean,hnr_db__mean\n"
                     "b.wav,x,3.0,4.0\nc.wav,y,5.0,6.0\nd.wav,y,7.0,8.")
    with TableWriter(out, COLUMNS, text_columns=TEXT, resume=True) as table:
        assert table.done == {"a.wav", "b.wav", "c.wav"}
        table.write_row(["d.wav", "y", 7.0, 8.5])
    assert lines(out)[1:] == ["a.wav,x,1.0,2.0", "b.wav,x,3.0,4.0",
                              "c.wav,y,5.0,6.0", "d.wav,y,7.0,8.5"]


def test_resume_drops_a_quoted_cell_cut_at_an_inner_newline(tmp_path):
    out = tmp_path / "f.csv"
    with open(partial_path(out), "w", encoding="utf-8") as handle:
        handle.write("path,label,f0_semitone__mean,hnr_db__mean\n"
                     'a.wav,"two\nlines",1.0,2.0\nb.wav,"cut\n')
    with TableWriter(out, COLUMNS, text_columns=TEXT, resume=True) as table:
        assert table.done == {"a.wav"}
    assert read_feature_table(out)["label"].tolist() == ["two\nlines"]


def test_resume_after_a_kill_during_the_header_starts_afresh(tmp_path):
    out = tmp_path / "f.csv"
    with open(partial_path(out), "w", encoding="utf-8") as handle:
        handle.write("path,lab")
    assert write(out, [], resume=True).done == frozenset()


def test_resume_refuses_a_table_with_other_columns(tmp_path):
    out = tmp_path / "f.csv"
    out.write_text("path,label,mfcc01__mean\na.wav,x,1.0\n")
    with pytest.raises(DatasetError, match="does not match this run's columns"):
        write(out, [], resume=True)
    assert out.read_text() == "path,label,mfcc01__mean\na.wav,x,1.0\n"


def test_resume_refuses_a_malformed_committed_table(tmp_path):
    out = tmp_path / "f.csv"
    out.write_text("path,label,f0_semitone__mean,hnr_db__mean\na.wav,x,1.0\n")
    with pytest.raises(DatasetError, match="line 2: 3 cells"):
        write(out, [], resume=True)


def test_parquet_is_converted_on_commit_and_resumes_exactly(tmp_path):
    csv_out, parquet_out = tmp_path / "f.csv", tmp_path / "f.parquet"
    rows = [["a.wav", "03", 1 / 3, np.nan], ["b.wav", "", 1e-300, 2.0]]
    write(csv_out, rows)
    write(parquet_out, rows)
    assert not os.path.exists(partial_path(parquet_out))
    from_csv, from_parquet = (read_feature_table(csv_out),
                              read_feature_table(parquet_out))
    assert from_parquet["label"][0] == "03"
    assert from_parquet["f0_semitone__mean"].tolist() == [1 / 3, 1e-300]
    assert from_parquet.equals(from_csv)
    write(parquet_out, [["c.wav", "x", 0.5, 0.25]], resume=True)
    resumed = read_feature_table(parquet_out)
    assert resumed["path"].tolist() == ["a.wav", "b.wav", "c.wav"]
    assert resumed.iloc[:2].equals(from_parquet)


def test_writer_checks_its_columns_and_rows(tmp_path):
    with pytest.raises(ParameterError, match="duplicated"):
        TableWriter(tmp_path / "f.csv", ["path", "path"])
    with pytest.raises(ParameterError, match="not among the columns"):
        TableWriter(tmp_path / "f.csv", ["path"], text_columns=["label"])
    with pytest.raises(ParameterError, match="needs 4 values, got 2"):
        write(tmp_path / "f.csv", [["a.wav", "x"]])


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "params.json"
    atomic_write_json(path, {"sr": 16000})
    with pytest.raises(ValueError):
        atomic_write_json(path, {"sr": float("nan")})
    assert json.loads(path.read_text()) == {"sr": 16000}
    assert os.listdir(tmp_path) == ["params.json"]
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"


def test_read_feature_table_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_feature_table(tmp_path / "none.csv")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DatasetError, match="bad.parquet"):
        read_feature_table(tmp_path / "bad.parquet")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DatasetError, match="bad.json"):
        read_params(tmp_path / "bad.json")


def test_read_path_table_resolves_paths_and_keeps_cells_verbatim(tmp_path):
    (tmp_path / "sub").mkdir()
    manifest = tmp_path / "sub" / "m.csv"
    manifest.write_text("label,path,speaker,note\nanger,wav/b.wav,03,\n"
                        "neutral,/abs/a.wav,10,NA\n")
    table = read_path_table(manifest)
    assert list(table.columns) == ["path", "label", "speaker", "note"]
    assert table["path"].tolist() == [str(tmp_path / "sub" / "wav" / "b.wav"),
                                      "/abs/a.wav"]
    assert table["speaker"].tolist() == ["03", "10"]
    assert table["note"].tolist() == ["", "NA"]


@pytest.mark.parametrize("text, match", [
    ("file,label\na.wav,x\n", "no 'path' column"),
    ("path,label\na.wav,x\n,y\n", "empty 'path' on line"),
    ("path\na.wav\n./a.wav\n", "more than once"),
])
def test_read_path_table_rejects_bad_manifests(tmp_path, text, match):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(DatasetError, match=match):
        read_path_table(tmp_path / "m.csv")


def test_read_path_table_names_a_missing_manifest(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_path_table(tmp_path / "m.csv")


@pytest.mark.parametrize("name", ["f.csv", "f.parquet"])
def test_resume_fills_the_columns_an_older_table_lacks(tmp_path, name):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    out = tmp_path / name
    write(out, [["a.wav", "x", 1.0, 2.0]])  # an older layout: no start, end
    with open(partial_path(out), "w", encoding="utf-8") as handle:
        handle.write(",".join(COLUMNS) + "\nb.wav,y,3.0,4.0\n")
    columns = ["path", "start", "end", *COLUMNS[1:]]
    ends = {"a.wav": 1.5, "b.wav": 2.25, "c.wav": 0.5}
    with TableWriter(out, columns, text_columns=TEXT, resume=True,
                     inputs=[("a.wav", "x"), ("b.wav", "y"), ("c.wav", "z")],
                     filled={"start": lambda key: 0.0, "end": ends.get}) as table:
        assert table.done == {"a.wav", "b.wav"}
        table.write_row(["c.wav", 0.0, 0.5, "z", 5.0, 6.0])
    back = read_feature_table(out)
    assert list(back.columns) == columns
    assert back["end"].tolist() == [1.5, 2.25, 0.5] and back["end"].dtype == float
    assert back["label"].tolist() == ["x", "y", "z"]
    assert back["f0_semitone__mean"].tolist() == [1.0, 3.0, 5.0]
    # without `filled`, the older layout is refused as before
    old = tmp_path / "old.csv"
    write(old, [["a.wav", "x", 1.0, 2.0]])
    with pytest.raises(DatasetError, match="does not match"):
        TableWriter(old, columns, text_columns=TEXT, resume=True).__enter__()
