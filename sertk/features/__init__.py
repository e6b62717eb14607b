"""Features: contours, functionals, feature sets, extractor, batches, tables.

Signals in, one row of named float columns a recording (or a window) out.
:mod:`~sertk.features.contours` computes frame-level contours (Praat, NumPy),
:mod:`~sertk.features.functionals` summarises them,
:mod:`~sertk.features.feature_sets` names the sets and the column grammar,
:mod:`~sertk.features.extractor` holds :class:`FeatureExtractor` and the
``extract_*`` functions, ``_batch`` / ``_dask`` run files in workers and
:mod:`~sertk.features.tables` writes and reads feature tables. It imports from
:mod:`sertk.audio` and the shared ground only. This ``__init__`` imports
nothing, so a worker that needs only contours never loads pandas or
scikit-learn.
"""
