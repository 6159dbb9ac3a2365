"""The census of bad inputs: every public function of the library, called with wrong values.

Each ``spec_*.py`` module of this package holds ``CASES`` (qualified name -> :class:`~census.harness.Case`)
and ``EXEMPT`` (qualified name -> why it is not called here). ``tests/test_api_census.py`` enumerates the
public API (``__all__`` of every public module) and fails if a name is in neither, so a new function is
covered as soon as it is exported.
"""
