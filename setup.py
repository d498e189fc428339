"""Builds the one compiled module, the featurizer's core (``lifelong.features._ngrams``).

Everything else about the package is declared in ``pyproject.toml``; setuptools reads this file
only for ``ext_modules``, which ``pyproject.toml`` cannot declare stably yet.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("lifelong.features._ngrams", ["src/lifelong/features/_ngrams.pyx"])],
        compiler_directives={"language_level": "3"},
    )
)
