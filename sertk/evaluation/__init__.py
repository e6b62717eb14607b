"""Evaluation: grouped cross-validation, the two protocols, reports and plots.

:mod:`~sertk.evaluation.protocols` holds :func:`sertk.evaluate` and
:class:`~sertk.evaluation.protocols.EvaluationReport`. It imports from
:mod:`sertk.models`, :mod:`sertk.features` and the shared ground.
"""
