"""The benchmark feature cache reads tables cached before the shared index."""

from pathlib import Path

import numpy as np
import pandas as pd
from conftest import harmonic_tone

import benchmarks._common as common


def test_a_table_cached_with_a_path_index_gets_path_start_end(write_wav, monkeypatch):
    paths = [write_wav(f"s/{i}.wav", harmonic_tone(150.0, 0.5 + i / 4))
             for i in range(3)]
    corpus = common.Corpus(Path("corpus/manifest.csv"), paths,
                           np.array(["a", "b", "a"]), np.array(["s", "s", "s"]))
    old = pd.DataFrame(np.arange(6.0).reshape(3, 2), columns=["x__mean", "y__mean"],
                       index=pd.Index(paths, name="path"))  # as sertk wrote them
    monkeypatch.setattr(common, "cached_table", lambda name, key, compute: old.copy())
    table = common.sertk_features(corpus, "minimal")
    assert table.index.tolist() == [(p, 0.0, 0.5 + i / 4) for i, p in enumerate(paths)]
    pd.testing.assert_frame_equal(table.loc[paths[::-1]].reset_index(drop=True),
                                  old.loc[paths[::-1]].reset_index(drop=True))
