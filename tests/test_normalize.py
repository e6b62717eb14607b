import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.model_selection import LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from sertk.errors import ParameterError
from sertk.models.normalize import SpeakerNormalizer


def speaker_data(rng, n_speakers=6, n_rows=20, n_features=3):
    """Two classes; each speaker shifts and scales every feature strongly."""
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], n_rows)
    y = np.tile(["anger", "sadness"], n_speakers * n_rows // 2)
    X = rng.normal(size=(len(y), n_features)) + (y == "anger")[:, None] * 1.5
    offset = rng.normal(0, 8, size=(n_speakers, n_features))
    scale = rng.uniform(0.5, 3, size=(n_speakers, n_features))
    codes = np.repeat(np.arange(n_speakers), n_rows)
    return X * scale[codes] + offset[codes], y, speakers


def test_fit_transform_zscores_each_speaker(rng):
    X, _, spk = speaker_data(rng)
    Z = SpeakerNormalizer().fit_transform(X, speakers=spk)
    for s in np.unique(spk):
        np.testing.assert_allclose(Z[spk == s].mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(Z[spk == s].std(axis=0), 1, atol=1e-12)


def test_fit_transform_follows_the_transform_rule(rng):
    X, _, spk = speaker_data(rng)
    spk = spk.astype(object)
    spk[:3] = None  # three rows of unknown speakers
    spk[-2:] = "lonely"  # a speaker with too few rows
    norm = SpeakerNormalizer()
    Z = norm.fit_transform(X, speakers=spk)
    np.testing.assert_array_equal(
        Z, SpeakerNormalizer().fit(X, speakers=spk).transform(X, speakers=spk)
    )
    np.testing.assert_allclose(Z[:3], (X[:3] - norm.mean_) / norm.scale_)
    np.testing.assert_allclose(Z[-2:], (X[-2:] - norm.mean_) / norm.scale_)
    assert "lonely" not in set(norm.speakers_)


def test_transform_uses_an_unseen_speakers_own_batch_statistics(rng):
    X, _, spk = speaker_data(rng)
    norm = SpeakerNormalizer().fit(X[spk != "s5"], speakers=spk[spk != "s5"])
    Z = norm.transform(X[spk == "s5"], speakers=spk[spk == "s5"])
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)
    # Without speaker ids the pooled training statistics apply instead.
    pooled = norm.transform(X[spk == "s5"])
    np.testing.assert_allclose(pooled, (X[spk == "s5"] - norm.mean_) / norm.scale_)


def test_too_few_rows_use_known_speaker_stats_then_pooled(rng):
    X, _, spk = speaker_data(rng)
    norm = SpeakerNormalizer(min_samples=5).fit(X, speakers=spk)
    i = list(norm.speakers_).index("s2")
    rows = np.flatnonzero(spk == "s2")[:3]  # 3 < min_samples rows in the batch
    Z = norm.transform(X[rows], speakers=spk[rows])
    expected = (X[rows] - norm.speaker_mean_[i]) / norm.speaker_scale_[i]
    np.testing.assert_allclose(Z, expected)
    Z_new = norm.transform(X[rows], speakers=["new"] * 3)
    np.testing.assert_allclose(Z_new, (X[rows] - norm.mean_) / norm.scale_)


def test_missing_ids_as_nan_or_none_fall_back_to_pooled(rng):
    X, _, _ = speaker_data(rng, n_speakers=1)
    norm = SpeakerNormalizer(min_samples=2).fit(X)
    spk = [np.nan, None] * (len(X) // 2)
    np.testing.assert_allclose(
        norm.transform(X, speakers=spk), (X - norm.mean_) / norm.scale_
    )


def test_zero_variance_gives_zero_not_inf_and_nan_stays_nan(rng):
    X = rng.normal(size=(12, 3))
    X[:, 1] = 0.1  # constant: mean 0.1 is not exact in binary
    X[2, 2] = np.nan
    spk = np.repeat(["a", "b"], 6)
    Z = SpeakerNormalizer().fit_transform(X, speakers=spk)
    np.testing.assert_allclose(Z[:, 1], 0, atol=1e-12)
    assert np.isnan(Z[2, 2]) and np.isfinite(np.delete(Z[:, 2], 2)).all()
    # NaN is ignored by the statistics: speaker a's column 2 has mean 0 over 5 rows.
    np.testing.assert_allclose(np.nanmean(Z[:6, 2]), 0, atol=1e-12)


def test_all_nan_column_stays_nan_without_warnings(rng):
    X = rng.normal(size=(10, 2))
    X[:, 0] = np.nan
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = SpeakerNormalizer().fit_transform(X, speakers=["a"] * 10)
    assert np.isnan(Z[:, 0]).all() and np.isfinite(Z[:, 1]).all()


def test_column_with_too_few_values_falls_back_per_column(rng):
    X = rng.normal(size=(20, 2)) + [0, 50]
    spk = np.repeat(["a", "b"], 10)
    X[10:18, 0] = np.nan  # speaker b: 2 values in column 0, 10 in column 1
    norm = SpeakerNormalizer(min_samples=5)
    Z = norm.fit_transform(X, speakers=spk)
    b = spk == "b"
    np.testing.assert_allclose(Z[b, 0], (X[b, 0] - norm.mean_[0]) / norm.scale_[0])
    np.testing.assert_allclose(Z[b, 1].mean(), 0, atol=1e-12)


def test_with_std_false_only_centres(rng):
    X, _, spk = speaker_data(rng)
    Z = SpeakerNormalizer(with_std=False).fit_transform(X, speakers=spk)
    np.testing.assert_allclose(Z[spk == "s0"].std(axis=0), X[spk == "s0"].std(axis=0))
    np.testing.assert_allclose(Z[spk == "s0"].mean(axis=0), 0, atol=1e-12)


@pytest.mark.parametrize(
    "params", [{"min_samples": 0}, {"min_samples": 2.5}, {"with_std": "yes"}]
)
def test_bad_parameters_raise_parameter_error(params):
    with pytest.raises(ParameterError, match=next(iter(params))):
        SpeakerNormalizer(**params).fit(np.ones((4, 2)))


def test_wrong_number_of_speaker_ids_is_a_value_error():
    with pytest.raises(ValueError, match="speakers has shape"):
        SpeakerNormalizer().fit(np.ones((4, 2)), speakers=["a", "b"])


def test_dataframe_in_dataframe_out(rng):
    X, _, spk = speaker_data(rng)
    df = pd.DataFrame(X, columns=["f0__mean", "f0__std", "loudness__p50"])
    df.index = [f"clip{i}.wav" for i in range(len(df))]
    norm = SpeakerNormalizer().set_output(transform="pandas")
    out = norm.fit_transform(df, speakers=spk)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns) == list(norm.get_feature_names_out())
    assert out.index.equals(df.index)
    assert isinstance(norm.transform(df, speakers=spk), pd.DataFrame)


def test_metadata_routing_in_pipeline_and_cross_validate(rng):
    X, y, spk = speaker_data(rng)
    logo = LeaveOneGroupOut()
    with sklearn.config_context(enable_metadata_routing=True):
        norm = SpeakerNormalizer().set_fit_request(speakers=True)
        norm.set_transform_request(speakers=True)
        pipe = make_pipeline(norm, SVC(kernel="linear"))
        scores = cross_validate(
            pipe,
            X,
            y,
            cv=logo,
            params={"speakers": spk, "groups": spk},
            return_estimator=True,
        )
    # Speaker ids reached the normaliser (also at scoring: Pipeline.score routes
    # them to transform; a string scorer would not), not the features.
    assert all(est[-1].n_features_in_ == X.shape[1] for est in scores["estimator"])
    assert scores["test_score"].mean() > 0.85
    # The same pipeline without speaker normalisation cannot undo the offsets.
    plain = cross_validate(SVC(kernel="linear"), X, y, groups=spk, cv=logo)
    assert plain["test_score"].mean() < 0.7
