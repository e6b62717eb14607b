"""The ``default`` rows of a few signals stay where the stored reference has them.

The reference (``tests/data/reference_default_rows.csv``, written by
``tests/reference_rows.py``) was computed before librosa took over the mel
filters, MFCC, deltas and spectral shape (issue 16). Every group of columns
must stay within a median relative difference of 1e-3 of it, with NaN in the
same places: the spectral columns are the ones that changed hands, the Praat
ones guard against the change reaching further. The synthetic rows always
run; the EMO-DB rows skip when the corpus is absent.
"""

import numpy as np
import pandas as pd
import pytest
from reference_rows import EMODB_FILES, REFERENCE, SYNTHETIC, reference_signals

from sertk.features.contours import DESCRIPTORS, contour_info
from sertk.features.extractor import extract_signal
from sertk.features.feature_sets import parse_feature_name

#: Largest allowed median, over a group's columns, of |new - old| / |old|.
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE, index_col="signal")


def group_of(column: str) -> str:
    if column in DESCRIPTORS:
        return DESCRIPTORS[column].group
    return contour_info(parse_feature_name(column).contour).group


def check_row(name: str, x: np.ndarray, sr: int, reference: pd.DataFrame) -> None:
    expected = reference.loc[name]
    row = extract_signal(x, sr)
    assert list(row.index) == list(expected.index)
    np.testing.assert_array_equal(row.isna(), expected.isna(), err_msg=name)
    finite = expected.notna()
    old, new = expected[finite].to_numpy(), row[finite].to_numpy()
    relative = np.abs(new - old) / np.maximum(np.abs(old), 1e-12)
    groups = expected[finite].index.map(group_of)
    medians = pd.Series(relative).groupby(np.asarray(groups)).median()
    assert "spectral" in medians.index
    assert (medians < TOLERANCE).all(), f"{name}: {medians.to_dict()}"


def test_reference_holds_every_signal_and_the_current_columns(reference):
    from sertk.features.feature_sets import get_feature_set
    from sertk.settings import AnalysisSettings

    s = AnalysisSettings()
    assert list(reference.columns) == list(
        get_feature_set("default").feature_names(s.n_mfcc, s.n_mels))
    assert set(reference.index) == {f"synthetic:{n}" for n in SYNTHETIC} | {
        f"emodb:{p}" for p in EMODB_FILES}


@pytest.mark.parametrize("name", [f"synthetic:{n}" for n in SYNTHETIC])
def test_synthetic_rows_match_the_reference(name, reference):
    signals = {n: (x, sr) for n, x, sr in reference_signals(include_emodb=False)}
    check_row(name, *signals[name], reference)


@pytest.mark.emodb
def test_emodb_rows_match_the_reference(emodb_root, reference):
    import soundfile as sf

    for path in EMODB_FILES:
        x, sr = sf.read(emodb_root / path, dtype="float64")
        check_row(f"emodb:{path}", x, sr, reference)
