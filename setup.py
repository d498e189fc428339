"""Builds the one compiled module, the featurizer's core (``lifelong.features._ngrams``).

Everything else about the package is declared in ``pyproject.toml``; setuptools reads this file
only for ``ext_modules``, which ``pyproject.toml`` cannot declare stably yet. The module is
optional: where no C++ compiler is found the install goes on without it and the featurizer
takes its Python path (same output, about half the speed); ``tests/unit/features`` fails then,
so that a test run says the fast path is missing.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = cythonize(
    [Extension("lifelong.features._ngrams", ["src/lifelong/features/_ngrams.pyx"])],
    compiler_directives={"language_level": "3"},
)
for extension in extensions:
    extension.optional = True  # after cythonize, which does not carry the flag over
setup(ext_modules=extensions)
