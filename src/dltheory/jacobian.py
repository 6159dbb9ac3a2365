"""Matrix-free Jacobian products, top singular spaces, label energy and residual projections.

Chapter 5 (Oymak et al. 2019, arXiv:1906.05392). For a torch model ``f`` and a batch ``X`` ``(n, d)`` with
``K`` outputs, the Jacobian ``J = d f / d theta`` is ``(K n, p)`` over the ``p`` trainable parameters, rows
class-major (row ``c * n + i`` is output ``c`` of sample ``i``, as :func:`dltheory.datasets.stack_classes`).
:class:`JacobianOperator` applies ``J v`` and ``J^T u`` with ``torch.func`` (forward and reverse mode)
without forming ``J``; :func:`top_singular` finds the top ``k`` singular values and left singular vectors
with ARPACK (``scipy.sparse.linalg.eigsh``) on the ``(K n, K n)`` operator ``J J^T``, or exactly
(``method="dense"``) from the formed Jacobian or, for :class:`~dltheory.nets.TwoLayerNet`, from the
closed-form Gram matrix :func:`two_layer_gram`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla
from torch import nn
from torch.func import functional_call, jacrev, vjp, vmap

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_choice,
    check_int,
    check_nonneg,
    check_rng,
)
from dltheory._torch import torch
from dltheory.theory.jacobian_split import predicted_direction_decay

__all__ = [
    "JacobianOperator",
    "Spectrum",
    "top_singular",
    "two_layer_gram",
    "label_energy",
    "split_residual",
    "linearised_residual",
]


_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


class JacobianOperator:
    """The Jacobian of ``model`` on a batch, as products only (never formed unless asked).

    Args:
        model: a torch module mapping ``(n, d)`` to ``(n, K)`` that treats samples independently (no
            batch norm); its trainable parameters (those with ``requires_grad``) at their current
            values define ``theta``. Buffers are held fixed.
        X: ``(n, d)`` inputs (numpy or torch; converted to the parameters' dtype).

    Attributes:
        shape: ``(K n, p)``.
        dtype: the parameters' torch dtype.
    """

    def __init__(self, model: nn.Module, X):
        if not isinstance(model, nn.Module):
            raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
        if not params:
            raise ValueError("model has no trainable parameters")
        buffers = {k: v.detach() for k, v in model.named_buffers()}
        first = next(iter(params.values()))
        self.dtype = first.dtype
        if torch.is_tensor(X):
            if not (X.is_floating_point() or X.dtype in _INT_DTYPES):
                raise ArgumentTypeError(f"X must hold real numbers, got dtype {X.dtype}")
            if not bool(torch.isfinite(X).all()):
                raise ValueError("X must be finite")
        else:
            X = as_float_array("X", X)
            if not X.flags.writeable:  # torch warns on read-only arrays, and would share the memory
                X = X.copy()
        X = torch.as_tensor(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be (n, d) with n >= 1, got shape {tuple(X.shape)}")
        self._names = list(params)
        self._shapes = [params[k].shape for k in self._names]
        self._sizes = [int(params[k].numel()) for k in self._names]

        def f(p):
            return functional_call(model, (p, buffers), (X,)).T.reshape(-1)

        def f_single(p, x):
            return functional_call(model, (p, buffers), (x[None],))[0]

        self._f_single, self._params, self._X = f_single, params, X

        with torch.no_grad():
            try:
                out = f(params)
            except RuntimeError as e:
                raise ValueError(
                    f"model cannot be applied to X of shape {tuple(X.shape)}: {e}"
                ) from None
        if not bool(torch.isfinite(out).all()):
            raise ValueError("model gives non-finite outputs on X: its parameters must be finite")
        self.outputs = out.numpy().copy()
        self.shape = (int(out.numel()), int(sum(self._sizes)))
        # J^T u is linear in u: one vjp closure serves every u, and its own vjp gives J v.
        _, self._vjp = vjp(f, params)
        u0 = torch.zeros(self.shape[0], dtype=self.dtype)
        _, self._vjp_of_vjp = vjp(self._vjp, u0)

    def _flat(self, d: dict) -> torch.Tensor:
        return torch.cat([d[k].reshape(-1) for k in self._names])

    def _unflat(self, v: torch.Tensor) -> dict:
        parts = torch.split(v, self._sizes)
        return {k: p.reshape(s) for k, p, s in zip(self._names, parts, self._shapes, strict=True)}

    def _as_tensor(self, a, size: int, name: str) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(a), dtype=self.dtype)
        if t.shape[0] != size:
            raise ValueError(f"{name} must have leading size {size}, got {tuple(t.shape)}")
        return t

    def matvec(self, v) -> np.ndarray:
        """``J v``: ``v`` ``(p,)`` -> ``(K n,)``."""
        v = self._as_tensor(v, self.shape[1], "v")
        return self._vjp_of_vjp((self._unflat(v),))[0].numpy()

    def rmatvec(self, u) -> np.ndarray:
        """``J^T u``: ``u`` ``(K n,)`` -> ``(p,)``."""
        u = self._as_tensor(u, self.shape[0], "u")
        return self._flat(self._vjp(u)[0]).numpy()

    def gram_matvec(self, u) -> np.ndarray:
        """``J J^T u``: ``u`` ``(K n,)`` -> ``(K n,)``."""
        u = self._as_tensor(u, self.shape[0], "u")
        return self._vjp_of_vjp(self._vjp(u))[0].numpy()

    def gram_matmat(self, U) -> np.ndarray:
        """``J J^T U`` for a block: ``U`` ``(K n, m)`` -> ``(K n, m)`` (batched with ``vmap``)."""
        U = self._as_tensor(U, self.shape[0], "U")
        if U.ndim == 1:
            return self.gram_matvec(U)
        out = vmap(lambda u: self._vjp_of_vjp(self._vjp(u))[0])(U.T.contiguous())
        return out.T.numpy()

    def gram_operator(self) -> spla.LinearOperator:
        """``J J^T`` as a scipy ``LinearOperator`` of shape ``(K n, K n)``."""
        m = self.shape[0]
        return spla.LinearOperator(
            (m, m),
            matvec=self.gram_matvec,
            matmat=self.gram_matmat,
            rmatvec=self.gram_matvec,
            dtype=np.float64 if self.dtype == torch.float64 else np.float32,
        )

    def per_sample(self, X_chunk) -> torch.Tensor:
        """Per-sample Jacobians ``(b, K, p)`` of a block of inputs ``(b, d)`` (reverse mode, ``vmap``)."""

        def one(x):
            jx = jacrev(self._f_single)(self._params, x)
            return torch.cat([jx[k].reshape(jx[k].shape[0], -1) for k in self._names], dim=1)

        return vmap(one)(X_chunk)

    def dense(self, chunk: int = 256) -> np.ndarray:
        """The formed Jacobian ``(K n, p)``, class-major rows (small problems only: ``K n p`` floats)."""
        chunk = check_int("chunk", chunk)
        blocks = [
            self.per_sample(self._X[s : s + chunk]) for s in range(0, self._X.shape[0], chunk)
        ]
        Jd = torch.cat(blocks)  # (n, K, p)
        return Jd.transpose(0, 1).reshape(self.shape[0], self.shape[1]).numpy()

    def frobenius_sq(self, chunk: int = 256) -> float:
        """``||J||_F^2``, exactly, from per-sample Jacobians (never holds more than ``chunk`` samples)."""
        chunk = check_int("chunk", chunk)
        n = self._X.shape[0]
        return float(
            sum(
                float((self.per_sample(self._X[s : s + chunk]) ** 2).sum())
                for s in range(0, n, chunk)
            )
        )


def two_layer_gram(model: nn.Module, X) -> np.ndarray:
    """Closed-form Gram matrix ``J J^T`` of ``f(x) = V relu(W x)`` with respect to ``W``.

    Implements ``J J^T[(c,i),(c',j)] = (x_i^T x_j) sum_l V_{cl} V_{c'l} 1[w_l^T x_i > 0] 1[w_l^T x_j > 0]``
    (the chain rule: row ``(c, i)`` of ``J`` in the block of hidden unit ``l`` is
    ``V_{cl} relu'(w_l^T x_i) x_i^T``), i.e. ``(1_K 1_K^T (x) X X^T) * (A A^T)`` with
    ``A[(c,i), l] = V_{cl} 1[w_l^T x_i > 0]``.

    Args:
        model: a :class:`~dltheory.nets.TwoLayerNet` (attributes ``W`` ``(k, d)`` and ``V`` ``(K, k)``).
        X: ``(n, d)`` inputs.

    Returns:
        ``(K n, K n)`` float64 Gram matrix, class-major.
    """
    if not (
        isinstance(model, nn.Module)
        and torch.is_tensor(getattr(model, "W", None))
        and torch.is_tensor(getattr(model, "V", None))
    ):
        raise ValueError("model must be a two-layer net with attributes W (k, d) and V (K, k)")
    W = model.W.detach().double().numpy()
    V = model.V.detach().double().numpy()
    X = as_float_array("X", X, ndim=2)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X must have the model's d = {W.shape[1]} columns, got shape {X.shape}")
    D = (X @ W.T > 0).astype(np.float64)  # (n, k)
    A = (V[:, None, :] * D[None, :, :]).reshape(-1, W.shape[0])  # (K n, k)
    G = A @ A.T
    K = V.shape[0]
    G *= np.tile(X @ X.T, (K, K))
    return G


@dataclass(frozen=True)
class Spectrum:
    """Top singular values and left singular vectors of a Jacobian.

    Attributes:
        s: ``(k,)`` singular values ``lambda_1 >= ... >= lambda_k``.
        U: ``(K n, k)`` orthonormal left singular vectors (class-major rows).
        frobenius_sq: ``||J||_F^2`` (sum of all squared singular values), or NaN if not computed.
    """

    s: np.ndarray
    U: np.ndarray
    frobenius_sq: float

    def energy_fraction(self, r: int) -> float:
        """Fraction ``sum_{s <= r} lambda_s^2 / ||J||_F^2`` of the Jacobian's energy in the top ``r``."""
        r = check_int("r", r)
        if r > self.s.size:
            raise ValueError(f"r must be <= {self.s.size}")
        return float(np.sum(self.s[:r] ** 2) / self.frobenius_sq)


def _from_gram_eigh(G: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    m = G.shape[0]
    if k is None or k >= m:
        evals, evecs = scipy.linalg.eigh(G, driver="evd")
    else:
        evals, evecs = scipy.linalg.eigh(G, subset_by_index=(m - k, m - 1))
    order = np.argsort(evals)[::-1]
    return np.sqrt(np.clip(evals[order], 0.0, None)), evecs[:, order]


def top_singular(
    jac: JacobianOperator,
    k: int | None = None,
    *,
    method: Literal["eigsh", "dense", "gram"] = "eigsh",
    model: nn.Module | None = None,
    X=None,
    frobenius: bool = True,
    tol: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Spectrum:
    """Top ``k`` singular values and left singular vectors of ``J``.

    ``"eigsh"``: matrix-free, ARPACK's Lanczos on the ``LinearOperator`` ``J J^T`` (needs ``k < K n``).
    ``"dense"``: exact, forms ``J`` (:meth:`JacobianOperator.dense`) and ``J J^T``, then LAPACK ``eigh``.
    ``"gram"``: exact, the closed-form Gram matrix of a two-layer net (:func:`two_layer_gram`; pass
    ``model`` and ``X``), then ``eigh``. ``k=None`` returns the whole spectrum (dense routes only).

    Args:
        jac: the Jacobian operator (its ``shape`` and products).
        k: number of singular triplets.
        method: ``"eigsh"``, ``"dense"`` or ``"gram"``.
        model, X: the two-layer net and inputs for ``"gram"``.
        frobenius: also compute ``||J||_F^2`` (exact; from the Gram trace or row blocks of ``J``).
        tol: ARPACK relative tolerance, >= 0 (0: machine precision).
        rng: generator of ARPACK's start vector, required for ``"eigsh"`` (unused by the dense
            routes). The start vector changes the converged values only within ``tol``, but it does
            change their last digits: pass a generator in the same state to reproduce a spectrum.

    Returns:
        A :class:`Spectrum`, values descending.

    Raises:
        ValueError: for a bad argument, or ``method="eigsh"`` without ``rng``.
    """
    if not isinstance(jac, JacobianOperator):
        raise ArgumentTypeError(f"jac must be a JacobianOperator, got {type(jac).__name__}")
    check_choice("method", method, ("eigsh", "dense", "gram"))
    tol = check_nonneg("tol", tol)
    check_rng(rng, optional=True)
    if not isinstance(frobenius, bool | np.bool_):
        raise ArgumentTypeError(f"frobenius must be True or False, got {frobenius!r}")
    m = jac.shape[0]
    if k is not None:
        k = check_int("k", k)
        if k > m:
            raise ValueError(f"k must be <= K n = {m}, got {k}")
    if method == "eigsh":
        if k is None or k >= m:
            raise ValueError(f"method='eigsh' needs k < K n = {m}; use a dense method")
        if rng is None:
            raise ValueError("method='eigsh' needs rng, the generator of ARPACK's start vector")
        v0 = rng.standard_normal(m)
        evals, evecs = spla.eigsh(jac.gram_operator(), k=k, which="LA", tol=tol, v0=v0)
        fro = jac.frobenius_sq() if frobenius else float("nan")
        order = np.argsort(evals)[::-1]
        s, U = np.sqrt(np.clip(evals[order], 0.0, None)), evecs[:, order]
        return Spectrum(s=s, U=U, frobenius_sq=fro)
    if method == "dense":
        Jd = jac.dense()
        G = Jd @ Jd.T
    else:
        if model is None or X is None:
            raise ValueError("method='gram' needs model and X")
        G = two_layer_gram(model, X)
        if G.shape[0] != m:
            raise ValueError(f"model and X give a Gram of size {G.shape[0]}, the operator {m}")
    s, U = _from_gram_eigh(G, k)
    return Spectrum(s=s, U=U, frobenius_sq=float(np.trace(G)) if frobenius else float("nan"))


# Columns of unit norm to this tolerance count as normalised (those from eigh or ARPACK are so to 1e-12).
_UNIT_TOL = 1e-6


def _orthonormal_columns(name: str, U) -> np.ndarray:
    """``U`` as a ``(m, R)`` array whose columns have unit norm (the cheap half of orthonormality:
    ``O(m R)``, where testing ``U^T U = I`` would cost ``O(m R^2)``)."""
    U = as_float_array(name, U, ndim=2)
    if U.shape[1] == 0 or U.shape[1] > U.shape[0]:
        raise ValueError(
            f"{name} must be (m, R) with 1 <= R <= m orthonormal columns, got shape {U.shape}"
        )
    norms = np.linalg.norm(U, axis=0)
    if np.any(np.abs(norms - 1.0) > _UNIT_TOL):
        raise ValueError(
            f"{name} must have orthonormal columns, got column norms in [{norms.min():.6g}, {norms.max():.6g}]"
        )
    return U


def label_energy(U, y) -> np.ndarray:
    """Label-energy profile ``E(r) = ||U_r^T y||^2 / ||y||^2`` for ``r = 1 .. R``.

    Args:
        U: ``(K n, R)`` orthonormal columns, in the order of the cutoff (descending singular value);
            columns whose norm is not 1 (to 1e-6) are rejected.
        y: ``(K n,)`` stacked labels (or any vector), class-major.

    Returns:
        ``(R,)`` with entry ``r - 1`` equal to ``E(r)``.
    """
    U = _orthonormal_columns("U", U)
    y = as_float_array("y", y, ndim=1)
    if U.shape[0] != y.size:
        raise ValueError(f"U has {U.shape[0]} rows but y has {y.size} entries")
    ny = float(y @ y)
    if ny == 0:
        raise ValueError("y must be non-zero")
    return np.cumsum((U.T @ y) ** 2) / ny


def split_residual(U_info, residuals) -> tuple[np.ndarray, np.ndarray]:
    """Norms of the residual's projections on the information space and its complement.

    ``||Pi_I r|| = ||U_r^T r||`` and ``||Pi_N r|| = sqrt(||r||^2 - ||U_r^T r||^2)``.

    Args:
        U_info: ``(K n, r)`` orthonormal basis of the information space (unit columns, as for
            :func:`label_energy`).
        residuals: ``(K n,)`` or ``(T, K n)`` residuals.

    Returns:
        ``(info, nuisance)`` norms, scalars or ``(T,)``.
    """
    U_info = _orthonormal_columns("U_info", U_info)
    R = as_float_array("residuals", residuals)
    if R.ndim not in (1, 2):
        raise ValueError(f"residuals must be (K n,) or (T, K n), got shape {R.shape}")
    R2 = np.atleast_2d(R)
    if R2.shape[1] != U_info.shape[0]:
        raise ValueError(f"residuals must have {U_info.shape[0]} entries, got {R2.shape[1]}")
    info_sq = np.sum((R2 @ U_info) ** 2, axis=1)
    total = np.sum(R2**2, axis=1)
    info, nuis = np.sqrt(info_sq), np.sqrt(np.clip(total - info_sq, 0.0, None))
    return (info[0], nuis[0]) if R.ndim == 1 else (info, nuis)


def linearised_residual(t, spectrum: Spectrum, r0, lr: float) -> np.ndarray:
    """Linearised residual coordinates ``u_s^T r_t = (1 - eta lambda_s^2)^t u_s^T r_0``.

    Args:
        t: ``(T,)`` steps.
        spectrum: singular values ``(S,)`` and vectors ``(K n, S)`` of ``J(W_0)``.
        r0: ``(K n,)`` initial residual.
        lr: step size ``eta``.

    Returns:
        ``(T, S)`` predicted coordinates of ``r_t`` along ``u_1 .. u_S``.
    """
    if not isinstance(spectrum, Spectrum):
        raise ArgumentTypeError(f"spectrum must be a Spectrum, got {type(spectrum).__name__}")
    r0 = as_float_array("r0", r0, ndim=1)
    if r0.size != spectrum.U.shape[0]:
        raise ValueError(f"r0 must have K n = {spectrum.U.shape[0]} entries, got {r0.size}")
    c0 = spectrum.U.T @ r0
    return predicted_direction_decay(t, spectrum.s, lr) * c0
