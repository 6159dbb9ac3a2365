"""dltheory: the library behind an executable book of deep-learning theory.

Modules: :mod:`~dltheory.config` (scales), :mod:`~dltheory.teachers` (linear teachers and data),
:mod:`~dltheory.linear_nets` (gradient descent on deep linear networks),
:mod:`~dltheory.theory` (closed forms, numpy/scipy only), :mod:`~dltheory.plotting`,
:mod:`~dltheory.record` (the reproduction record), :mod:`~dltheory.threads` (the thread policy).
"""

from dltheory.threads import apply_thread_policy

__version__ = "0.1.0"

# One thread for every kernel, applied on import so chapter cells that call numpy directly are covered
# too; see dltheory.threads for the measurement behind it and DLTHEORY_THREADS to change it.
apply_thread_policy()
