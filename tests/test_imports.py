"""What each kind of process imports: the lazy package, the workers, the CLI.

Each check runs in a fresh interpreter, since this test session has long
imported everything.
"""

import json
import os
import subprocess
import sys
from types import ModuleType

import pytest
import soundfile as sf
from conftest import REPO, SR, harmonic_tone

import sertk

#: Libraries that feature extraction does not need. A worker process that
#: loads one of them pays for it in memory (issue 5: a tree of two workers
#: below 500 MB, issue 16: 600 MB with librosa); a module of the worker path
#: that starts importing one at module level makes these tests fail.
NOT_FOR_EXTRACTION = ("pandas", "sklearn", "matplotlib", "dask", "distributed",
                      "pyarrow")
#: What only the contours need: librosa (with numba, llvmlite and scipy,
#: 150 MB or more) is loaded where a spectrum is first computed, so neither
#: ``import sertk`` nor the process that hands files to workers holds it.
SPECTRAL = ("librosa", "numba", "llvmlite", "scipy")


def run_python(script: str, *args: str) -> dict:
    """Run `script` in a fresh interpreter on this checkout; return its JSON."""
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO),
                                                     os.environ.get("PYTHONPATH"))
                                         if p)}
    done = subprocess.run([sys.executable, "-c", script, *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded(modules: list[str], libraries=NOT_FOR_EXTRACTION) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(libraries))


def test_import_sertk_loads_no_submodule_and_no_library():
    result = run_python(
        "import json, sys\n"
        "import sertk\n"
        "print(json.dumps(sorted(sys.modules)))\n")
    # only the shared ground: the version and the old-module-path hook
    assert [m for m in result if m.startswith("sertk.")] == ["sertk._moved",
                                                             "sertk._version"]
    assert "numpy" not in result
    assert loaded(result, NOT_FOR_EXTRACTION + SPECTRAL) == []


def test_every_public_name_resolves_and_is_listed():
    for name in sertk.__all__:
        assert getattr(sertk, name) is not None, name
    assert set(sertk.__all__) <= set(dir(sertk))
    # the path pickled in model files
    assert sertk.FeatureExtractor.__module__ == "sertk.features.extractor"
    from sertk import EmotionClassifier, evaluate  # noqa: F401
    with pytest.raises(AttributeError, match="no attribute 'extract_files'"):
        sertk.extract_files  # noqa: B018


def test_the_evaluate_module_path_is_the_function_not_a_module():
    # sertk.evaluate is the function; its module has its own name, so
    # importing the module binds nothing over the function.
    result = run_python(
        "import json\n"
        "import sertk.cli.evaluate\n"
        "import sertk\n"
        "from sertk.evaluation import protocols\n"
        "try:\n"
        "    import sertk.evaluate\n"
        "    error = ''\n"
        "except ImportError as e:\n"
        "    error = str(e)\n"
        "print(json.dumps([sertk.evaluate.__module__, type(sertk.evaluate).__name__,\n"
        "                  sertk.evaluate is protocols.evaluate, error]))\n")
    assert result[:3] == ["sertk.evaluation.protocols", "function", True]
    assert "sertk.evaluation.protocols" in result[3]
    assert not isinstance(sertk.evaluate, ModuleType)


def test_old_module_paths_import_the_moved_module_with_a_warning():
    result = run_python(
        "import json, warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    import sertk.classifier\n"
        "    from sertk.contours.pitch import pitch_contours\n"
        "    from sertk.persistence import load_model\n"
        "import sertk.models.classifier, sertk.features.contours.pitch\n"
        "import sertk.io.model_files\n"
        "print(json.dumps([sertk.classifier is sertk.models.classifier,\n"
        "    pitch_contours is sertk.features.contours.pitch.pitch_contours,\n"
        "    load_model is sertk.io.model_files.load_model,\n"
        "    [str(w.message) for w in caught\n"
        "     if issubclass(w.category, DeprecationWarning)],\n"
        "    [w.filename for w in caught]]))\n")
    assert result[:3] == [True, True, True]
    assert [m.split(";")[0] for m in result[3]] == [
        "sertk.classifier moved to sertk.models.classifier",
        "sertk.contours moved to sertk.features.contours",
        "sertk.contours.pitch moved to sertk.features.contours.pitch",
        "sertk.persistence moved to sertk.io.model_files"]
    assert set(result[4]) == {"<string>"}  # the warning points at the importer


def test_workers_and_the_extract_command_load_only_what_extraction_needs(tmp_path):
    for i in range(12):  # two batches: both workers get one
        sf.write(tmp_path / f"tone{i}.wav", harmonic_tone(120.0 + 10 * i, 0.5), SR)
    # The command runs in this interpreter, its workers in loky processes;
    # then the same (reused) workers report what they hold. The probe is
    # defined in __main__, so it reaches them by value and imports nothing.
    script = (
        "import json, sys\n"
        "from joblib import Parallel, delayed\n"
        "from sertk.cli.extract import main\n"
        "status = main([sys.argv[1], '-o', sys.argv[2], '--n-jobs', '2',\n"
        "               '--no-progress', '--quiet'])\n"
        "def probe():\n"
        "    import os, sys\n"
        "    return os.getpid(), sorted(sys.modules)\n"
        "workers = dict(Parallel(n_jobs=2)(delayed(probe)() for _ in range(8)))\n"
        "print(json.dumps({'status': status, 'main': sorted(sys.modules),\n"
        "                  'workers': workers}))\n")
    result = run_python(script, str(tmp_path), str(tmp_path / "features.csv"))
    assert result["status"] == 0
    assert loaded(result["main"], NOT_FOR_EXTRACTION + SPECTRAL) == []
    assert "parselmouth" not in result["main"]  # Praat: only in the workers
    workers = [m for m in result["workers"].values() if "sertk.features._batch" in m]
    assert workers, "no probed process had run the extraction"
    for modules in workers:
        assert loaded(modules) == []
        assert "parselmouth" in modules
        assert loaded(modules, SPECTRAL) == sorted(SPECTRAL)


def test_the_worker_module_alone_extracts_with_only_the_libraries_it_needs(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, harmonic_tone(150.0, 0.5), SR)
    result = run_python(
        "import json, sys\n"
        "from sertk.features._batch import Segment, _extract_batch\n"
        "from sertk.features.feature_sets import get_feature_set\n"
        "from sertk.settings import AnalysisSettings\n"
        "[r] = _extract_batch([Segment(sys.argv[1])], get_feature_set('default'),\n"
        "                     AnalysisSettings(), None)\n"
        "print(json.dumps({'ok': r.ok, 'n': len(r.values),\n"
        "                  'modules': sorted(sys.modules)}))\n", str(path))
    assert result["ok"] and result["n"] == 1152
    assert loaded(result["modules"]) == []
    # the per-file cache key digests the analysis code: what a worker imports
    hashed = ("sertk.audio", "sertk.features", "sertk.settings", "sertk.errors")
    unhashed = {"sertk", "sertk._moved", "sertk._version"}  # change no value
    assert [m for m in result["modules"] if m.startswith("sertk.")
            and m not in unhashed and not m.startswith(hashed)] == []
    from sertk.features._batch import _UNHASHED  # left out of the digest

    skipped = {"sertk." + m.removesuffix(".py").replace("/", ".") for m in _UNHASHED}
    assert skipped and not skipped & set(result["modules"])
    # librosa loads only what the contours call, through its lazy loader
    spectral = {m for m in result["modules"] if m.startswith("librosa.")}
    assert "librosa.feature.spectral" in spectral
    assert not spectral & {"librosa.display", "librosa.effects", "librosa.onset",
                           "librosa.segment", "librosa.decompose", "librosa.beat"}


def test_feature_extraction_imports_no_module_the_benchmark_caches_ignore():
    # The benchmarks key cached features by a hash of sertk's source that
    # leaves out the modules downstream of extraction; extraction importing
    # one of them would let an edit change features behind a valid cache key.
    result = run_python(
        "import json, sys\n"
        "import sertk.features.extractor, sertk.features.contours\n"
        "import sertk.features.functionals\n"
        "from benchmarks._common import _DOWNSTREAM\n"
        "print(json.dumps({'loaded': sorted(sys.modules),\n"
        "                  'downstream': list(_DOWNSTREAM)}))\n")
    downstream = ["sertk." + name.removesuffix(".py").replace("/", ".")
                  for name in result["downstream"] if name != "__init__.py"]
    extraction = [m for m in result["loaded"] if m.startswith("sertk.")]
    assert [m for m in extraction
            if any(m == d or m.startswith(d + ".") for d in downstream)] == []
    assert "sertk.features.extractor" in extraction  # the probe did import it
