"""Build hook for the optional compiled part of the indexer (the rest is in pyproject.toml).

`indexer/_speedups.c` is compiled when a C compiler and Python's headers are there; `optional`
means that without them the install still succeeds and the indexer runs its pure-Python code
(indexer/native.py says which is in use).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("indexer._speedups", ["indexer/_speedups.c"], optional=True)])
