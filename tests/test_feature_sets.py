from pathlib import Path

import pytest

from sertk.errors import ParameterError
from sertk.features import feature_sets
from sertk.features.feature_sets import (
    FEATURE_SETS,
    FeatureSet,
    get_feature_set,
    parse_feature_name,
)

PINNED = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
def test_column_names_are_pinned(name):
    """Column names are an interface: changing them must be deliberate.

    To change a set on purpose, regenerate the pinned list with
    ``python -c "from sertk.features.feature_sets import get_feature_set as g;
    print('\\n'.join(g('NAME').feature_names()))" > tests/data/feature_names_NAME.txt``.
    """
    pinned = (PINNED / f"feature_names_{name}.txt").read_text().split()
    assert get_feature_set(name).feature_names() == pinned


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
def test_every_name_parses_back_and_is_unique(name):
    names = get_feature_set(name).feature_names()
    assert len(names) == len(set(names))
    for column in names:
        contour, functional = parse_feature_name(column)
        assert f"{contour}__{functional}" == column


def test_set_sizes():
    assert 70 <= len(get_feature_set("minimal").feature_names()) <= 130
    assert 300 <= len(get_feature_set("default").feature_names()) <= 6373 // 5


def test_mfcc_family_follows_n_mfcc():
    names = get_feature_set("default").feature_names(n_mfcc=4)
    assert "mfcc04__mean" in names and "mfcc05__mean" not in names


def test_custom_set_and_validation():
    fs = FeatureSet("mine", (("mfcc20", ("mean",)),))
    with pytest.raises(ParameterError, match="n_mfcc"):
        fs.validate(n_mfcc=16)
    fs.validate(n_mfcc=20)
    assert fs.groups(20) == {"spectral"}


@pytest.mark.parametrize("bad", ["f0mean", "f0_hz__average", "nothing__mean", "__mean"])
def test_bad_names_are_rejected(bad):
    with pytest.raises(ParameterError):
        parse_feature_name(bad)


def test_unknown_set_lists_the_choices():
    with pytest.raises(ParameterError, match="minimal"):
        get_feature_set("huge")
    minimal = FEATURE_SETS["minimal"]
    assert feature_sets.get_feature_set(minimal) is minimal
