"""Estimators: speaker normalisation, novelty, training copies, EmotionClassifier.

scikit-learn estimators that take feature rows (or paths, through the
extractor of :mod:`sertk.features`). They import from :mod:`sertk.features`
and the shared ground; nothing here saves a model file, evaluates or draws
(:mod:`sertk.io`, :mod:`sertk.evaluation` and :mod:`sertk.timeline` take a
model as an argument).
"""
