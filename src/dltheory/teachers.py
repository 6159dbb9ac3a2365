"""Low-rank linear teachers and the noisy training data they generate.

Implements the student-teacher setup of Lampinen & Ganguli 2019 (arXiv:1809.10374). Symbols:

* ``n_in`` = N1 input size (= P, the number of examples: inputs are one-hot, X = I),
* ``n_out`` = N3 output size, aspect ratio A = N3 / N1 in (0, 1],
* ``rank`` = teacher hidden size (teacher rank), singular values ``s_bar``,
* ``noise_std`` = sigma_z: every target entry gets noise of variance sigma_z^2 / N1, so with
  sigma_z = 1 each teacher singular value is the SNR of its mode.

Everything is batched: a leading axis ``B`` runs over independent runs (seeds x conditions). Run ``b``
draws its randomness from ``rng.spawn(B)[b]``, so a run does not change when others are added.

Layout: matrices map inputs to outputs, ``W_bar`` is ``(B, N3, N1)``; singular vectors are columns,
``U`` is ``(B, N3, r)``, ``V`` is ``(B, N1, r)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_choice,
    check_int,
    check_nonneg,
    check_positive,
    check_rng,
)

__all__ = [
    "Teacher",
    "NoisyData",
    "haar_stiefel",
    "snr_singular_values",
    "low_rank_teacher",
    "noisy_data",
    "data_from_targets",
    "noisy_data_examples",
    "select_runs",
]


def _check_teacher(teacher, name: str = "teacher") -> Teacher:
    if not isinstance(teacher, Teacher):
        raise ArgumentTypeError(f"{name} must be a Teacher batch, got {type(teacher).__name__}")
    return teacher


def haar_stiefel(n: int, k: int, *, rng: np.random.Generator) -> np.ndarray:
    """Random ``(n, k)`` matrix with orthonormal columns, Haar distributed (k <= n).

    QR of a Gaussian matrix with the signs of R's diagonal moved into Q (Mezzadri 2007).
    """
    n = check_int("n", n)
    k = check_int("k", k)
    check_rng(rng)
    if k > n:
        raise ValueError(f"k must be <= n for orthonormal columns, got k={k}, n={n}")
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def snr_singular_values(rank: int, multiplier: float) -> np.ndarray:
    """Teacher singular values m * (rank, rank-1, ..., 1), as in the authors' ``SVD_dataset``.

    Args:
        rank: teacher rank r >= 1.
        multiplier: the SNR multiplier m > 0.

    Returns:
        Shape ``(r,)``, decreasing.
    """
    rank = check_int("rank", rank)
    m = check_positive("multiplier", multiplier)
    return m * np.arange(rank, 0, -1, dtype=float)


@dataclass(frozen=True)
class Teacher:
    """A batch of low-rank linear teachers W_bar = U diag(s) V^T.

    Attributes:
        U: output singular vectors, ``(B, N3, r)``.
        s: singular values, ``(B, r)``.
        V: input singular vectors, ``(B, N1, r)``.
    """

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray

    @property
    def W(self) -> np.ndarray:
        """Composite teacher map, ``(B, N3, N1)``."""
        return np.einsum("bir,br,bjr->bij", self.U, self.s, self.V)

    @property
    def n_in(self) -> int:
        return self.V.shape[1]

    @property
    def n_out(self) -> int:
        return self.U.shape[1]

    @property
    def batch(self) -> int:
        return self.s.shape[0]


def _check_shape(n_in: int, n_out: int) -> tuple[int, int]:
    n_in = check_int("n_in", n_in)
    n_out = check_int("n_out", n_out)
    if n_out > n_in:
        raise ValueError(
            f"aspect ratio A = n_out/n_in must lie in (0, 1], got n_out={n_out} > n_in={n_in}"
        )
    return n_in, n_out


def low_rank_teacher(
    n_in: int, n_out: int, singular_values, *, rng: np.random.Generator
) -> Teacher:
    """Draw a batch of teachers with Haar-random singular vectors.

    Args:
        n_in: input size N1.
        n_out: output size N3 <= N1 (aspect ratio in (0, 1]).
        singular_values: ``(r,)`` for one teacher or ``(B, r)`` for a batch; each > 0 and r <= N3.
        rng: source of randomness; run b uses ``rng.spawn(B)[b]``.

    Returns:
        The :class:`Teacher` batch.
    """
    n_in, n_out = _check_shape(n_in, n_out)
    check_rng(rng)
    s = as_float_array("singular_values", singular_values)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or 0 in s.shape:
        raise ValueError(f"singular_values must have shape (r,) or (B, r), got {s.shape}")
    if np.any(s <= 0):
        raise ValueError("singular_values must be > 0")
    rank = s.shape[1]
    if rank > n_out:
        raise ValueError(
            f"singular_values holds {rank} per teacher, more than n_out={n_out} (the teacher rank "
            "is at most n_out)"
        )
    children = rng.spawn(s.shape[0])
    U = np.stack([haar_stiefel(n_out, rank, rng=c) for c in children])
    V = np.stack([haar_stiefel(n_in, rank, rng=c) for c in children])
    return Teacher(U=U, s=s.copy(), V=V)


@dataclass(frozen=True)
class NoisyData:
    """Training data of one-hot inputs and noisy teacher outputs, with the SVD of Sigma^31.

    With X = I (P = N1 one-hot examples), Sigma^11 = I and Sigma^31 = W_bar + Z.

    Attributes:
        teacher: the teacher that generated the data.
        noise_std: sigma_z; noise entries have variance sigma_z^2 / N1.
        sigma31: input-output correlation, ``(B, N3, N1)``.
        U_hat: its left singular vectors, ``(B, N3, M)`` with M = N3.
        s_hat: its singular values, descending, ``(B, M)``.
        V_hat: its right singular vectors, ``(B, N1, M)``.
        sigma11: input correlation X X^T, ``(B, N1, N1)``; ``None`` for one-hot inputs (the identity).
        targets_sq: ||Y||_F^2 per run, ``(B,)``; ``None`` for one-hot inputs (it is ||Sigma^31||^2).
    """

    teacher: Teacher
    noise_std: float
    sigma31: np.ndarray
    U_hat: np.ndarray
    s_hat: np.ndarray
    V_hat: np.ndarray
    sigma11: np.ndarray | None = None
    targets_sq: np.ndarray | None = None

    @property
    def batch(self) -> int:
        return self.sigma31.shape[0]

    @property
    def n_in(self) -> int:
        return self.sigma31.shape[2]

    @property
    def n_out(self) -> int:
        return self.sigma31.shape[1]

    @property
    def aspect_ratio(self) -> float:
        return self.n_out / self.n_in


def noisy_data(teacher: Teacher, *, noise_std: float = 1.0, rng: np.random.Generator) -> NoisyData:
    """Noisy training data y = W_bar x + z for the P = N1 one-hot inputs x.

    Args:
        teacher: batch of B teachers.
        noise_std: sigma_z >= 0; each noise entry is N(0, sigma_z^2 / N1), drawn once.
        rng: source of randomness; run b uses ``rng.spawn(B)[b]``.

    Returns:
        :class:`NoisyData` with the SVD of Sigma^31 (singular values descending).
    """
    _check_teacher(teacher)
    sigma = check_nonneg("noise_std", noise_std)
    check_rng(rng)
    B, n_out, n_in = teacher.batch, teacher.n_out, teacher.n_in
    children = rng.spawn(B)
    Z = np.stack([c.standard_normal((n_out, n_in)) for c in children]) * (sigma / np.sqrt(n_in))
    return data_from_targets(teacher, teacher.W + Z, noise_std=sigma)


InputKind = Literal["orthogonal", "gaussian"]


def noisy_data_examples(
    teacher: Teacher,
    n_examples: int,
    *,
    inputs: InputKind = "orthogonal",
    noise_std: float = 1.0,
    rng: np.random.Generator,
) -> NoisyData:
    """Noisy data with P = ``n_examples`` inputs that need not be one-hot (the paper's P != N1 case).

    Inputs X are ``(N1, P)`` (one column per example): ``"orthogonal"`` gives P orthonormal columns
    for P <= N1 and, for P > N1, N1 orthonormal rows scaled by sqrt(P/N1) (so X X^T = (P/N1) I);
    ``"gaussian"`` gives i.i.d. N(0, 1/N1) entries. Targets Y = W_bar X + Z with noise entries of
    variance sigma_z^2 / N1, as for one-hot data. Then Sigma^11 = X X^T and Sigma^31 = Y X^T.

    Args:
        teacher: batch of B teachers.
        n_examples: P >= 1.
        inputs: ``"orthogonal"`` or ``"gaussian"``.
        noise_std: sigma_z >= 0.
        rng: source of randomness; run b uses ``rng.spawn(B)[b]``.

    Returns:
        :class:`NoisyData` with ``sigma11`` and ``targets_sq`` set.
    """
    _check_teacher(teacher)
    P = check_int("n_examples", n_examples)
    check_choice("inputs", inputs, ("orthogonal", "gaussian"))
    sigma = check_nonneg("noise_std", noise_std)
    check_rng(rng)
    n_in, n_out = teacher.n_in, teacher.n_out
    Xs, Zs = [], []
    for child in rng.spawn(teacher.batch):
        if inputs == "gaussian":
            X = child.standard_normal((n_in, P)) / np.sqrt(n_in)
        elif P <= n_in:
            X = haar_stiefel(n_in, P, rng=child)
        else:
            X = haar_stiefel(P, n_in, rng=child).T * np.sqrt(P / n_in)
        Xs.append(X)
        Zs.append(child.standard_normal((n_out, P)) * (sigma / np.sqrt(n_in)))
    X, Z = np.stack(Xs), np.stack(Zs)
    Y = teacher.W @ X + Z
    data = data_from_targets(teacher, Y @ np.swapaxes(X, 1, 2), noise_std=sigma)
    return replace(data, sigma11=X @ np.swapaxes(X, 1, 2), targets_sq=np.sum(Y**2, axis=(1, 2)))


def data_from_targets(teacher: Teacher, sigma31, *, noise_std: float) -> NoisyData:
    """Training data with given targets for the one-hot inputs (Sigma^31 = Y), and its SVD.

    Use it for targets that are not teacher-plus-noise, e.g. randomised ones; the teacher is kept
    as the reference for the test error.

    Args:
        teacher: the batch of B teachers the test error refers to.
        sigma31: targets, ``(B, N3, N1)`` (row mu of Y^T is the target of input mu).
        noise_std: sigma_z >= 0 recorded with the data.

    Returns:
        :class:`NoisyData` with the SVD of ``sigma31`` (singular values descending).
    """
    _check_teacher(teacher)
    sigma = check_nonneg("noise_std", noise_std)
    sigma31 = as_float_array("sigma31", sigma31, ndim=3)
    if sigma31.shape != (teacher.batch, teacher.n_out, teacher.n_in):
        raise ValueError(
            f"sigma31 must have shape {(teacher.batch, teacher.n_out, teacher.n_in)}, "
            f"got {sigma31.shape}"
        )
    U_hat, s_hat, Vt_hat = np.linalg.svd(sigma31, full_matrices=False)
    return NoisyData(
        teacher=teacher,
        noise_std=sigma,
        sigma31=sigma31,
        U_hat=U_hat,
        s_hat=s_hat,
        V_hat=np.swapaxes(Vt_hat, 1, 2),
    )


# --- Pairs of aligned rank-1 tasks (transfer, chapter 4) ----------------------------------------------


def select_runs(batch, runs):
    """Some runs of a batch: every array of a :class:`Teacher`, :class:`NoisyData` or :class:`TaskPair`
    (nested ones included) indexed on its first (run) axis.

    Args:
        batch: a :class:`Teacher`, :class:`NoisyData` or :class:`TaskPair` of B runs.
        runs: 1-d run indices (each in [-B, B)), a boolean mask of length B, or a slice; a lone
            integer is rejected, since it would drop the run axis.

    Returns:
        The same type holding the selected runs (copies for index arrays, views for slices).
    """
    if not _is_batch(batch):
        raise ArgumentTypeError(
            f"batch must be a Teacher, NoisyData or TaskPair, got {type(batch).__name__}"
        )
    runs = _check_runs(runs, batch.batch)

    def take(x):
        if _is_batch(x):
            parts = {f.name: take(getattr(x, f.name)) for f in dataclasses.fields(x)}
            return dataclasses.replace(x, **parts)
        return x[runs] if isinstance(x, np.ndarray) else x

    return take(batch)


def _is_batch(x) -> bool:
    """A Teacher, NoisyData, or a frozen record of them with a ``batch`` size (a TaskPair)."""
    if isinstance(x, Teacher | NoisyData):
        return True
    return (
        dataclasses.is_dataclass(x)
        and not isinstance(x, type)
        and hasattr(x, "batch")
        and any(isinstance(getattr(x, f.name), Teacher) for f in dataclasses.fields(x))
    )


def _check_runs(runs, n: int):
    """A slice, or a 1-d index or mask array within a batch of ``n`` runs (a lone integer would drop
    the run axis every array of a batch keeps)."""
    if isinstance(runs, slice):
        return runs
    if isinstance(runs, str | bytes):
        raise ArgumentTypeError(
            f"runs must be run indices, a boolean mask or a slice, got {runs!r}"
        )
    arr = np.asarray(runs)
    if arr.ndim != 1:
        raise ValueError(
            f"runs must be a 1-d index or mask array or a slice, got shape {arr.shape}"
        )
    if arr.dtype.kind == "b":
        if arr.size != n:
            raise ValueError(f"runs as a boolean mask must have length {n}, got {arr.size}")
        return arr
    if arr.size == 0:
        return arr.astype(np.intp)
    if arr.dtype.kind not in "iu":
        raise ArgumentTypeError(
            f"runs must be integer indices, a boolean mask or a slice, got dtype {arr.dtype}"
        )
    if np.any(arr < -n) or np.any(arr >= n):
        raise ValueError(f"runs must index the {n} runs of the batch (-{n} <= i < {n}), got {arr}")
    return arr
