"""dltheory: the library behind an executable book of deep-learning theory.

Modules: :mod:`~dltheory.config` (scales), :mod:`~dltheory.teachers` (linear teachers and data),
:mod:`~dltheory.linear_nets` (gradient descent on deep linear networks),
:mod:`~dltheory.theory` (closed forms, numpy/scipy only), :mod:`~dltheory.plotting`,
:mod:`~dltheory.record` (the reproduction record).
"""

__version__ = "0.1.0"
