"""lifelong: keep machine-learning models fresh as new data arrives.

Subpackages follow the data flow: ``data`` -> ``features`` -> ``models`` -> ``training`` ->
``evaluation`` -> ``registry`` -> ``serving``, with ``monitoring`` closing the loop through
``pipelines``. See DESIGN.md for the layering rules.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
