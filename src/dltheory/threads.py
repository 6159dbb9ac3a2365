"""The book's one thread policy: every BLAS, LAPACK, eigensolver and torch kernel runs on one thread.

Why one: the book's simulations are many small or medium matrix products (batched over seeds), and a
reader's machine is often busy. On 2 cores with one other CPU-bound process running, threaded kernels
collapse: threads spin waiting for a core the other process holds, and a chapter slows several times
over, while on one thread it does not slow at all (``make bench`` keeps the figure, key
``under_load``). The price is paid on an idle machine by the largest batched products only: the
full-matrix gradient descent of chapter 2's benchmark grid runs about twice as fast on two threads
there. Whole chapters lose nothing measurable, because most of their time is in work a second thread
does not split (many small products, Python loops, eigensolvers between products).

The policy is applied when :mod:`dltheory` is imported (numpy's and scipy's BLAS, and any OpenMP
runtime loaded by then) and again by :mod:`dltheory._torch`, the library's one door to torch, once
torch is loaded. ``DLTHEORY_THREADS=n`` sets another count for a reader with cores to spare; it is
read each time the policy is applied.
"""

from __future__ import annotations

import os
import sys

__all__ = ["THREADS_ENV", "policy_threads", "apply_thread_policy"]

THREADS_ENV = "DLTHEORY_THREADS"

# Read at load time by OpenBLAS, MKL and OpenMP runtimes that are loaded after the policy is applied
# (threadpoolctl can only limit libraries that are already loaded).
_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def policy_threads() -> int:
    """The number of threads every kernel runs on: ``$DLTHEORY_THREADS`` if set, else 1."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    return n


def apply_thread_policy() -> int:
    """Limit numpy's and scipy's BLAS, loaded OpenMP runtimes and torch to :func:`policy_threads`.

    Idempotent and cheap after the first call. Returns the thread count applied.
    """
    n = policy_threads()
    for var in _ENV_VARS:
        os.environ[var] = str(n)
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS so the limit reaches it too)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)  # process-wide until changed: no context, nothing to restore
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
