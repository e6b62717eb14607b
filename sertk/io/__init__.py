"""Files a model meets: model files (save, load, safety) and corpus readers.

:mod:`~sertk.io.model_files` saves and loads fitted models (the bundled ones
are data in :mod:`sertk.pretrained`); :mod:`~sertk.io.datasets` reads corpora
into manifests. It may import every library folder above it.
"""
