"""Model files: save and load a fitted :class:`~sertk.EmotionClassifier`.

Two formats, chosen by the file's ending:

``.joblib`` (the default)
    A compressed pickle (:func:`joblib.dump`). **Loading a pickle runs code
    stored in the file**: a file crafted by someone else can do anything
    your account can. Load only ``.joblib`` files you made yourself or
    trust as much as a program you would run.
``.skops``
    The safe format for sharing (:mod:`skops.io`, the ``safe`` extra): no
    code runs on loading, and :func:`load_model` accepts only the types a
    sertk model is made of (:data:`ALLOWED_TYPES`, besides the scikit-learn
    and numpy types skops trusts itself); a file holding any other type is
    refused with a :class:`~sertk.errors.ModelFileError` naming it.

A model file holds a model, never run-time settings: the parameters that
describe the machine a model runs on (:data:`RUNTIME_PARAMS`: workers, a
cache folder, a Dask scheduler address, progress bars, a pipeline's
``memory``, the folder of noise recordings for training copies) are reset
to their defaults on every estimator inside the model when it is saved,
and again when it is loaded, whatever the file says; a file cannot make
sertk read a cache folder or reach a scheduler. Pass such
settings as call arguments (``predict_files(..., n_jobs=2)``).

With ``trusted=False`` a pickle is loaded only when sertk can vouch for it:
its SHA-256 is the one recorded for a model bundled with sertk (the
``sha256`` field of the ``.json`` files beside :data:`DEFAULT_MODEL`, part
of the installed package like its code). The bytes hashed are the bytes
unpickled, read once.

A model file holds the model and a metadata dict (also set on the loaded
model as ``model_info_``): library versions, the features it expects, its
labels, its training summary, its cross-validation report when one was
made, and when it was created. A version mismatch of sertk or scikit-learn
between saving and loading warns with :class:`ModelVersionWarning`.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from sertk.models.classifier import EmotionClassifier
>>> rng = np.random.default_rng(0)
>>> y = np.repeat(["anger", "sadness"], 20)
>>> X = rng.normal(size=(40, 3)) + (y == "anger")[:, None] * 2.0
>>> model = EmotionClassifier(speaker_norm=False).fit(X, y)
>>> path = save_model(model, os.path.join(tempfile.mkdtemp(), "m.skops"))
>>> loaded = load_model(path, trusted=False)
>>> bool((loaded.predict(X) == model.predict(X)).all())
True
>>> loaded.model_info_["labels"]
['anger', 'sadness']
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import io
import json
import os
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from sertk._json import json_safe
from sertk._moved import new_name
from sertk._version import package_version
from sertk.errors import ModelFileError, ParameterError, UntrustedModelError
from sertk.files import OutputLock, atomic_output
from sertk.models.classifier import EmotionClassifier

__all__ = [
    "ALLOWED_TYPES",
    "DEFAULT_MODEL",
    "TIMELINE_MODEL",
    "RUNTIME_PARAMS",
    "ModelVersionWarning",
    "is_bundled",
    "load_model",
    "save_model",
]

#: The model bundled with sertk, loaded by ``load_model()`` without a path.
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "pretrained" / "default.joblib"

#: The bundled model for timelines (``load_model(TIMELINE_MODEL)``): trained
#: on the speech windows of the same recordings too, so better on windows and
#: worse on whole recordings (see ``sertk/pretrained/README.md``); what
#: ``sertk-predict --window`` uses without ``-m``.
TIMELINE_MODEL = DEFAULT_MODEL.with_name("timeline.joblib")

#: What a model file says it is, and the newest layout this version reads.
FORMAT = "sertk-model"
FORMAT_VERSION = 1

#: Types a ``.skops`` model file may hold beyond those skops trusts itself.
ALLOWED_TYPES = frozenset(
    {
        "numpy.dtype",
        "sertk.models.classifier.EmotionClassifier",
        "sertk.models.classifier.CalibratedSVC",
        "sertk.models.classifier._CalibratedSVC",  # files saved before the rename
        "sertk.models.dimensions.CircumplexRegressor",
        "sertk.features.extractor.FeatureExtractor",
        "sertk.models.normalize.SpeakerNormalizer",
        "sertk.models.novelty.ClassDistance",
        "sertk.models.adaptation.CorpusNormalizer",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.model_selection._split.StratifiedKFold",
    }
)

#: Libraries whose versions a model file records.
_LIBRARIES = ("sertk", "scikit-learn", "numpy", "praat-parselmouth", "soxr")
#: Of those, the ones whose mismatch warns on loading.
_CHECKED = ("sertk", "scikit-learn")
#: Parameters that describe the machine a model runs on, not the model:
#: reset to their defaults on every estimator of a model at saving and at
#: loading, and dropped from its ``extractor_params``.
RUNTIME_PARAMS = frozenset(
    {"n_jobs", "cache", "scheduler", "progress", "memory", "verbose", "pre_dispatch",
     "noise_folder"}
)
_ZIP_MAGIC = b"PK\x03\x04"


class ModelVersionWarning(UserWarning):
    """A model file was saved with another version of sertk or scikit-learn.

    It usually still works, but predictions may differ, and a scikit-learn
    object may fail to load: retrain the model with the installed versions
    (``sertk-train``) when you can.
    """


def _versions() -> dict[str, str]:
    return {name: package_version(name) for name in _LIBRARIES}


def _format_of(path: Path, *, saving: bool) -> str:
    suffix = path.suffix.lower()
    if suffix == ".skops":
        return "skops"
    if suffix == ".joblib" or not saving:
        return "joblib"
    raise ParameterError(
        f"model file {str(path)!r} must end in .joblib (pickle, for your own "
        "models) or .skops (safe to share)"
    )


def _compact(model: EmotionClassifier) -> EmotionClassifier:
    """Return a copy of ``model`` without what prediction does not need.

    The LDA step's class covariance (n_features squared) and the
    eigenvectors beyond the ``n_classes - 1`` used by its ``transform`` are
    dropped, which shrinks a 976-feature model from ~15 MB to ~100 kB
    without changing a prediction; the extractor loses its ``errors_``, and
    every estimator its run-time settings (:func:`_strip_runtime`).
    """
    out = copy.deepcopy(model)
    for name in ("model_info_", "cv_report_"):  # kept in the metadata
        out.__dict__.pop(name, None)
    lda = out.pipeline_.named_steps["project"]
    if not isinstance(lda, str):
        lda.__dict__.pop("covariance_", None)
        lda.scalings_ = lda.scalings_[:, : lda._max_components].copy()
    if hasattr(out, "extractor_"):  # stateless: a clone drops errors_
        out.extractor_ = clone(out.extractor_)
    return _strip_runtime(out)


def _default_of(estimator: BaseEstimator, name: str) -> Any:
    parameter = inspect.signature(type(estimator).__init__).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def _strip_runtime(model: EmotionClassifier) -> EmotionClassifier:
    """Reset every run-time setting inside ``model`` to its default, in place.

    Every estimator reachable from the model (through its attributes,
    lists, tuples and dicts) gets each of its :data:`RUNTIME_PARAMS`
    parameters set to the default of its class; ``extractor_params`` loses
    those keys. Returns ``model``.
    """
    seen: set[int] = set()
    stack: list[Any] = [model]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, BaseEstimator):
            for name in RUNTIME_PARAMS & set(item.get_params(deep=False)):
                setattr(item, name, _default_of(item, name))
            stack.extend(vars(item).values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    params = model.extractor_params
    if isinstance(params, dict):
        model.extractor_params = {
            k: v for k, v in params.items() if k not in RUNTIME_PARAMS
        } or None
    return model


def _bundled_hashes() -> frozenset[str]:
    """Return the SHA-256 of each bundled model, from the JSON files beside it."""
    hashes = set()
    for info in DEFAULT_MODEL.parent.glob("*.json"):
        try:
            value = json.loads(info.read_text(encoding="utf-8"))["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, str):
            hashes.add(value.lower())
    return frozenset(hashes)


def is_bundled(data: bytes) -> bool:
    """Tell whether ``data`` is the content of a model bundled with sertk.

    Its SHA-256 is compared with the ``sha256`` recorded in the ``.json``
    file beside each bundled model (written by
    ``scripts/train_default_model.py``); those files are part of the
    installed package, as trustworthy as its code. Wherever the bytes come
    from, a match means sertk made them: such a pickle is safe to load.

    Parameters
    ----------
    data : bytes
        A file's content.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_bundled(DEFAULT_MODEL.read_bytes()), is_bundled(b"something else")
    (True, False)
    """
    return hashlib.sha256(data).hexdigest() in _bundled_hashes()


def _features_info(model: EmotionClassifier) -> dict:
    names = getattr(model, "feature_names_in_", None)
    info: dict[str, Any] = {
        "input": "audio" if hasattr(model, "extractor_") else "features",
        "n_features": int(model.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
    }
    if hasattr(model, "extractor_"):
        params = model.extractor_.extraction_params()
        params.pop("versions", None)
        info.update(feature_set=params["feature_set"]["name"], extraction=params)
    return info


def _metadata(
    model: EmotionClassifier, cv_report: dict | None, provenance: dict | None
) -> dict:
    params = {
        k: v for k, v in model.get_params(deep=False).items()
        if k != "extractor_params" and k not in RUNTIME_PARAMS
    }
    if isinstance(params.get("features"), BaseEstimator):  # its settings
        params["features"] = {
            k: v for k, v in params["features"].get_params(deep=False).items()
            if k not in RUNTIME_PARAMS}
    return json_safe(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": _versions(),
            "labels": list(model.classes_),
            "params": params,
            "features": _features_info(model),
            "training_summary": model.training_summary_,
            "cv_report": cv_report,
            "provenance": provenance,
        }
    )


def save_model(
    model: EmotionClassifier,
    path: str | os.PathLike,
    *,
    cv_report: dict | None = None,
    provenance: dict | None = None,
) -> Path:
    """Save a fitted classifier and its metadata to a model file, atomically.

    The file is written to a temporary file in the same folder, which then
    replaces ``path`` (:func:`os.replace`): a crash never leaves a
    half-written model. Prediction-only parts are kept (see the module
    notes); predictions of the loaded model are those of ``model``.

    Parameters
    ----------
    model : EmotionClassifier
        A fitted classifier.
    path : str or os.PathLike
        Ends in ``.joblib`` (a pickle: only for files you will load
        yourself) or ``.skops`` (safe to share; needs ``skops``).
    cv_report : dict, optional
        A cross-validation report (``EvaluationReport.to_dict()``) to store;
        by default the model's ``cv_report_`` attribute, if it has one.
    provenance : dict, optional
        JSON-ready notes on the training data (corpus, manifest, ...).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ParameterError
        If ``model`` is not an :class:`EmotionClassifier`, ``path`` has
        another ending, or ``.skops`` is asked for without skops installed.
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    OSError
        If the folder does not exist or is not writable, or the disk is
        full (no temporary file is left behind).
    OutputError
        If another process is writing ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sertk.models.classifier import EmotionClassifier
    >>> X = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + np.arange(20)[:, None] / 99
    >>> model = EmotionClassifier(projection=None).fit(X, ["calm"] * 10 + ["fear"] * 10)
    >>> save_model(model, os.path.join(tempfile.mkdtemp(), "m.joblib")).name
    'm.joblib'
    """
    if not isinstance(model, EmotionClassifier):
        raise ParameterError(
            f"save_model saves an EmotionClassifier, got {type(model).__name__}"
        )
    check_is_fitted(model)
    path = Path(path)
    kind = _format_of(path, saving=True)
    if cv_report is None:
        cv_report = getattr(model, "cv_report_", None)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": _metadata(model, cv_report, provenance),
        "model": _compact(model),
    }
    with OutputLock(path), atomic_output(path) as temporary:
        if kind == "skops":
            _skops().dump(payload, temporary, compression=zipfile.ZIP_DEFLATED)
        else:
            import joblib

            joblib.dump(payload, temporary, compress=3)
    return path


def _skops() -> Any:
    try:
        import skops.io
    except ImportError as error:
        raise ParameterError(
            "the .skops format needs skops: pip install 'sertk[safe]', or use "
            "a .joblib file for models you only load yourself"
        ) from error
    return skops.io


def _load_skops(path: Path, trusted: bool | None) -> Any:
    sio = _skops()
    try:
        untrusted = sio.get_untrusted_types(file=path)
        foreign = sorted(name for name in set(untrusted)
                         if _current_type(name) not in ALLOWED_TYPES)
        if foreign and trusted is not True:
            raise UntrustedModelError(
                f"{path} holds types a sertk model does not contain: "
                f"{', '.join(foreign)}; it was not loaded. Load it only if you "
                "trust its author"
            )
        with _old_module_paths_quiet():
            return sio.load(path, trusted=untrusted)
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 - skops raises many kinds
        raise ModelFileError(
            f"cannot read {path} as a .skops model file "
            f"({type(error).__name__}: {error})"
        ) from error


def _current_type(name: str) -> str:
    """Return a type's path after the layout move (files saved before it)."""
    module, _, type_name = name.rpartition(".")
    moved = new_name(module)
    return name if moved is None else f"{moved}.{type_name}"


@contextmanager
def _old_module_paths_quiet() -> Iterator[None]:
    """Read files saved before the layout move without a DeprecationWarning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"sertk\.\S+ moved to ",
                                DeprecationWarning)
        yield


def _load_joblib(path: Path, data: bytes) -> Any:
    import joblib

    try:
        with _old_module_paths_quiet():
            return joblib.load(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - unpickling raises anything
        raise ModelFileError(
            f"cannot read {path} as a .joblib model file "
            f"({type(error).__name__}: {error}); is it a sertk model?"
        ) from error


def _check_payload(payload: Any, path: Path) -> tuple[EmotionClassifier, dict]:
    is_dict = isinstance(payload, dict)
    layout = payload.get("format_version") if is_dict else None
    if not is_dict or payload.get("format") != FORMAT or not isinstance(layout, int):
        what = type(payload).__name__
        raise ModelFileError(
            f"{path} is not a sertk model file (it holds a {what}); save models "
            "with sertk.save_model or sertk-train"
        )
    if layout > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model file layout {layout!r}, newer than this sertk "
            f"reads ({FORMAT_VERSION}); upgrade sertk"
        )
    model, metadata = payload.get("model"), payload.get("metadata")
    fitted = isinstance(model, EmotionClassifier) and hasattr(model, "pipeline_")
    if not fitted or not isinstance(metadata, dict):
        raise ModelFileError(
            f"{path} says it is a sertk model file but lacks a fitted "
            "EmotionClassifier or its metadata; save the model again"
        )
    return model, metadata


def _warn_versions(metadata: dict, path: Path) -> None:
    saved = metadata.get("versions") or {}
    now = _versions()
    differ = [
        f"{name} {saved.get(name)} (installed: {now[name]})"
        for name in _CHECKED
        if saved.get(name) != now[name]
    ]
    if differ:
        warnings.warn(
            f"{path} was saved with {', '.join(differ)}; predictions may differ: "
            "retrain the model with the installed versions when you can",
            ModelVersionWarning,
            stacklevel=3,
        )


def load_model(
    path: str | os.PathLike | None = None, *, trusted: bool | None = None
) -> EmotionClassifier:
    """Load a model file written by :func:`save_model` (or ``sertk-train``).

    The format follows the ending: ``.skops`` is loaded safely (no code runs;
    only :data:`ALLOWED_TYPES` and the types skops trusts are accepted), any
    other file is unpickled with :func:`joblib.load`. **Unpickling runs code
    stored in the file**: load a ``.joblib`` (or ``.pkl``) file only if you
    trust whoever made it, and pass ``trusted=False`` for files from
    elsewhere, which then must be ``.skops`` or a model bundled with sertk
    (:func:`is_bundled`). Whatever the file holds, the loaded model's
    run-time settings (:data:`RUNTIME_PARAMS`) are their defaults.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The model file; by default the bundled model (:data:`DEFAULT_MODEL`,
        trained on EMO-DB; see ``sertk/pretrained/README.md``).
        :data:`TIMELINE_MODEL` is the bundled model for timelines.
    trusted : bool or None, default=None
        None: load either format as above. False: never unpickle a file
        sertk cannot vouch for, so a file that is neither ``.skops`` nor a
        bundled model is refused before anything in it is run. True: you
        trust the file: a ``.skops`` file may then also hold types outside
        the allow-list.

    Returns
    -------
    model : EmotionClassifier
        The fitted classifier. Its ``model_info_`` attribute holds the
        file's metadata: ``created``, ``versions``, ``labels``, ``params``,
        ``features`` (``input`` "audio" or "features", ``feature_names``,
        and for audio the ``feature_set`` and ``extraction`` settings),
        ``training_summary``, ``cv_report`` (or None) and ``provenance``.
        ``cv_report_`` is set when the file has a report.

    Raises
    ------
    ModelFileError
        If the file is missing, is not a sertk model file (another pickle,
        a truncated or corrupted file, any other file), holds types outside
        the allow-list (``.skops``), or is neither ``.skops`` nor a bundled
        model under ``trusted=False``; the last two cases raise its subclass
        :class:`~sertk.errors.UntrustedModelError`.
    ParameterError
        If a ``.skops`` file is given and skops is not installed.

    Warns
    -----
    ModelVersionWarning
        If the file was saved with another version of sertk or scikit-learn.

    Examples
    --------
    >>> model = load_model()  # the bundled EMO-DB + RAVDESS model
    >>> sorted(model.classes_)[:3]
    ['anger', 'boredom', 'calm']
    >>> model.model_info_["features"]["feature_set"]
    'default'
    """
    path = DEFAULT_MODEL if path is None else Path(path)
    if not path.is_file():
        why = "it is a folder" if path.is_dir() else "it does not exist"
        hint = (
            "; reinstall sertk, or rebuild it with scripts/train_default_model.py"
            if path in (DEFAULT_MODEL, TIMELINE_MODEL)
            else ""
        )
        raise ModelFileError(f"cannot load model {path}: {why}{hint}")
    kind = _format_of(path, saving=False)
    if kind == "skops":
        payload = _load_skops(path, trusted)
    else:
        data = path.read_bytes()  # hashed and unpickled: the same bytes
        if data[:4] == _ZIP_MAGIC:
            raise ModelFileError(
                f"{path} is a zip archive (a .skops model?), not a joblib file; "
                "rename it to end in .skops"
            )
        if trusted is False and not is_bundled(data):
            raise UntrustedModelError(
                f"{path} is a pickle, which runs code when loaded, and not a "
                "model bundled with sertk; it was not loaded. Ask for the "
                "model as .skops, or load it only if you trust its author"
            )
        payload = _load_joblib(path, data)
    model, metadata = _check_payload(payload, path)
    _strip_runtime(model)
    _warn_versions(metadata, path)
    model.model_info_ = metadata
    if metadata.get("cv_report") is not None:
        model.cv_report_ = metadata["cv_report"]
    return model
