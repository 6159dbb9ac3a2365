"""Width: constant-width networks beside their linearisation and the expected kernel (chapter 5).

Oymak, Fabian, Li & Soltanolkotabi (2019), arXiv:1906.05392, abstract: the theory explains "how the
network size affects the evolution of the train and test errors during training", and "even constant
width neural nets can provably generalize for sufficiently nice datasets". The book's reading: the
theory is that of the network's linearisation at ``W_0``. At every width ``k`` the early-stopped
network is compared with its own linearisation (:func:`dltheory.nets.linearised`: same ``W_0``, same
``eta``, same stopping step), and both with the infinite-width expected kernel ``I_K (x) Sigma``
(:func:`dltheory.theory.jacobian_split.expected_gram`), whose kernel gradient descent is in closed form.

Each network runs at its own ``eta = 1/lambda_1^2`` and stops at its own
``T = Gamma/(eta alpha^2) = (lambda_1/lambda_r)^2`` (``Gamma = 1``, ``alpha = lambda_r``,
``r = sizes.rank``), both from the matrix-free top-``r`` spectrum of its ``J(W_0)``.
"""

import copy
from dataclasses import dataclass

import numpy as np

from dltheory import datasets as ds
from dltheory._checks import check_instance, check_int, check_rng
from dltheory._torch import torch
from dltheory.experiments._grid import Grid, seed_stats
from dltheory.experiments.jacobian_information import K, Problem, _stacked
from dltheory.experiments.jacobian_replicates import _stop_step
from dltheory.jacobian import JacobianOperator, Spectrum, label_energy, top_singular
from dltheory.nets import TwoLayerNet, linearised, train_gd, two_layer_net
from dltheory.theory import jacobian_split as js

__all__ = ["WidthSweepResult", "run_width_sweep", "expected_kernel_stopping"]

MODELS = ("network", "linearised")  # the leading axis of the trained quantities
_CURVE_POINTS = 24  # log-spaced recorded steps of the curves


def _frobenius_sq(net: TwoLayerNet, X: np.ndarray) -> float:
    """``||J(W_0)||_F^2 = sum_i ||x_i||^2 sum_l ||V_l||^2 1[w_l . x_i > 0]``, exactly.

    The closed form of the two-layer network's Gram trace; the per-sample route
    (:meth:`~dltheory.jacobian.JacobianOperator.frobenius_sq`) holds ``256 K p`` floats per block,
    gigabytes at the widest networks.
    """
    W, V = net.W.detach().double().numpy(), net.V.detach().double().numpy()
    gates = (X @ W.T > 0).astype(float)  # (n, k)
    return float(np.sum(X**2, axis=1) @ gates @ np.sum(V**2, axis=0))


def _spectrum(problem: Problem, net: TwoLayerNet) -> Spectrum:
    """Top ``rank`` singular triplets of ``J(W_0)`` (matrix-free) with the exact ``||J||_F^2``."""
    X = problem.data.X_train
    jac = JacobianOperator(net, X)
    rng = problem.setup.arpack_rng()
    top = top_singular(jac, problem.sizes.rank, frobenius=False, rng=rng)
    return Spectrum(top.s, top.U, _frobenius_sq(net, X))


def _measure(model, W0, data: ds.Digits, Y, U) -> tuple[float, ...]:
    """Train loss, test MSE ``0.5 ||f - Y||^2 / n_test``, test error, ``||W - W_0||_F`` and the
    residual's norms in the information space (spanned by the columns of ``U``) and the nuisance
    space, each over its value at ``f = 0``."""
    with torch.no_grad():
        X, Xt = (torch.as_tensor(a, dtype=W0.dtype) for a in (data.X_train, data.X_test))
        out, out_t = model(X).numpy(), model(Xt).numpy()
        dist = float(torch.linalg.norm(model.W - W0))
    Yt = ds.one_hot(data.labels_test, K)
    loss = 0.5 * float(np.sum((out - Y) ** 2))
    mse = 0.5 * float(np.sum((out_t - Yt) ** 2)) / Yt.shape[0]
    err = float(np.mean(out_t.argmax(1) != data.labels_test))
    r, y = ds.stack_classes(out - Y), ds.stack_classes(Y)
    inside, inside0 = np.linalg.norm(U.T @ r), np.linalg.norm(U.T @ y)
    info = inside / inside0
    nuisance = np.sqrt(max(r @ r - inside**2, 0.0) / (y @ y - inside0**2))
    return loss, mse, err, dist, info, nuisance


def _train(model, data: ds.Digits, lr: float, marks: np.ndarray, U) -> np.ndarray:
    """Full-batch GD (:func:`~dltheory.nets.train_gd`), measured at each of ``marks``: ``(T, 6)``."""
    Y = ds.one_hot(data.labels_train, K)
    W0 = model.W.detach().clone()
    rows, prev = [_measure(model, W0, data, Y, U)], 0
    for step in marks[1:]:
        gap = int(step - prev)
        train_gd(model, data.X_train, Y, lr=lr, steps=gap, record_steps=[gap], progress=False)
        rows.append(_measure(model, W0, data, Y, U))
        prev = step
    return np.array(rows)


def _kernel_gd(problem: Problem, labels: np.ndarray | None = None) -> dict:
    """Kernel GD with the expected Gram ``I_K (x) Sigma`` from ``f = 0``, in closed form, fitting
    ``labels`` (default: the clean training labels; the label energies are always the clean ones).

    With ``Sigma = V diag(w) V^T`` and ``C = V^T Y``, after ``t`` steps at ``eta = 1/w_1`` the
    train outputs are ``V diag(1 - q^t) C`` (``q = 1 - eta w``), the test outputs
    ``Sigma_test V diag((1 - q^t)/w) C`` and ``||W_t - W_0||^2 = sum_s (1 - q_s^t)^2 ||C_s||^2 / w_s``
    (gradient descent moves ``W`` in the row space of ``J``).
    """
    data, sizes = problem.data, problem.sizes
    Sigma = js.expected_gram(data.X_train)
    energy, jac_energy = js.expected_label_energy(Sigma, data.labels_train, K)
    w, V = np.linalg.eigh(Sigma)
    w, V = np.clip(w[::-1], 0.0, None), V[:, ::-1]
    m_rank = sizes.rank // K  # lambda_r of I_K (x) Sigma is sqrt(w_{r/K})
    lr, t_stop = 1.0 / w[0], int(round(w[0] / w[m_rank - 1]))
    fit = data.labels_train if labels is None else labels
    Y, Yt = ds.one_hot(fit, K), ds.one_hot(data.labels_test, K)
    C = V.T @ Y
    A = js.expected_gram(data.X_test, data.X_train) @ V
    pos = w > w[0] * 1e-12

    def at(t: int) -> tuple[float, ...]:
        with np.errstate(divide="ignore"):  # q = 0 at s = 1: log q = -inf, q^t = 0 for t >= 1
            fitted = -np.expm1(t * np.log1p(-lr * w)) if t else np.zeros_like(w)  # 1 - q^t
        phi = np.where(pos, fitted / np.where(pos, w, 1.0), lr * t)
        out_t = A @ (phi[:, None] * C)
        loss = 0.5 * float(np.sum(((1 - fitted)[:, None] * C) ** 2))
        mse = 0.5 * float(np.sum((out_t - Yt) ** 2)) / Yt.shape[0]
        err = float(np.mean(out_t.argmax(1) != data.labels_test))
        dist = float(np.sqrt(np.sum(np.where(pos, fitted * phi, 0.0) * np.sum(C**2, 1))))
        left = ((1 - fitted)[:, None] * C) ** 2  # the residual's energy along each v_s (x) e_c
        info = np.sqrt(left[:m_rank].sum() / (C[:m_rank] ** 2).sum())
        nuisance = np.sqrt(left[m_rank:].sum() / (C[m_rank:] ** 2).sum())
        return loss, mse, err, dist, float(info), float(nuisance)

    e_r = energy[m_rank - 1]
    n = data.labels_train.size
    bound = js.distance_bound(np.sqrt(n * e_r), np.sqrt(n * (1 - e_r)), np.sqrt(w[m_rank - 1]))
    return dict(
        lr=lr,
        t_stop=t_stop,
        at=at,
        energy=energy[:m_rank],
        top10=float(jac_energy[0]),
        bound=float(bound),
    )


_QUANTITIES = ("loss", "mse", "error", "distance", "info", "nuisance")


def expected_kernel_stopping(problem: Problem, labels, steps) -> dict:
    """Early stopping under the expected kernel: kernel GD with ``I_K (x) Sigma`` on ``labels``.

    The infinite-width, lazy prediction for a network trained on ``labels`` at
    ``eta = 1/lambda_1^2``: its clean-test error at each of ``steps`` (closed form, from ``f = 0``).

    Args:
        problem: chapter 5's draw; its data are used.
        labels: ``(n,)`` training classes in ``[0, K)`` (clean or corrupted).
        steps: ``(T,)`` non-negative integer steps, increasing.

    Returns:
        ``{"error": (T,) clean-test error, "gap": best minus final clean-test accuracy in points,
        "best_step": the step of the best accuracy}``.
    """
    check_instance("problem", problem, Problem)
    labels = np.asarray(labels)
    n = problem.data.labels_train.size
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be ({n},) integer classes, got {labels.shape} {labels.dtype}"
        )
    if labels.min() < 0 or labels.max() >= K:
        raise ValueError(f"labels must lie in [0, {K}), got [{labels.min()}, {labels.max()}]")
    steps = np.asarray(steps)
    if steps.ndim != 1 or not steps.size or not np.issubdtype(steps.dtype, np.integer):
        raise ValueError(f"steps must be a non-empty 1-d array of integers, got {steps!r}")
    if steps[0] < 0 or np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be non-negative and increasing")
    at = _kernel_gd(problem, labels)["at"]
    error = np.array([at(int(t))[_QUANTITIES.index("error")] for t in steps])
    best = int(np.argmin(error))
    return dict(error=error, gap=float(100 * (error[-1] - error[best])), best_step=int(steps[best]))


def _line_fit(x: np.ndarray, widths: np.ndarray, power: float) -> dict:
    """Least squares of ``x`` (``(n_widths, n_seeds)``) as ``a + b / k^power``, every draw weighted
    equally; ``se_a`` from the residual scatter, ``chi2`` of the line against the width means with the
    pooled within-width variance (``dof = n_widths - 2``)."""
    mean, se, n = seed_stats(x)
    k = np.repeat(widths.astype(float), n)
    design = np.stack([np.ones_like(k), k**-power], axis=1)
    coef, *_ = np.linalg.lstsq(design, x.ravel(), rcond=None)
    resid = x.ravel() - design @ coef
    cov = np.linalg.inv(design.T @ design) * (resid @ resid) / (resid.size - 2)
    line = coef[0] + coef[1] * widths.astype(float) ** -power
    chi2 = float(np.sum((mean - line) ** 2 / np.mean(se**2)))
    return dict(
        a=float(coef[0]), b=float(coef[1]), se_a=float(np.sqrt(cov[0, 0])), chi2=chi2,
        dof=mean.size - 2, mean=mean, se=se, n=n, power=power,
    )  # fmt: skip


@dataclass(frozen=True)
class WidthSweepResult:
    """Networks of several widths beside their linearisations and the expected kernel.

    Attributes:
        grid: ``{"width": sizes.widths}`` times ``sizes.width_seeds`` initialisations.
        steps: ``(T,)`` the log-spaced steps of the curves.
        curves: ``"loss"``, ``"mse"`` (test), ``"error"`` (test), ``"distance"``
            (``||W_t - W_0||_F``), ``"info"`` and ``"nuisance"`` (``||Pi r_t|| / ||Pi r_0||``, the
            information space spanned by the top ``rank`` left singular vectors of each run's own
            ``J(W_0)``) -> ``(2, n_widths, n_seeds, T)``, axis 0 :data:`MODELS`.
        stop: the same six at each run's own ``T_stop`` -> ``(2, n_widths, n_seeds)``.
        spectra: ``"lam1"``, ``"lam_r"``, ``"t_stop"``, ``"top10"`` (energy fraction of the top
            ``K``), ``"bound"`` (the book's distance bound) -> ``(n_widths, n_seeds)``; ``"energy"``
            -> ``(n_widths, n_seeds, rank/K)``, ``E(K m)`` at ``J(W_0)``.
        kernel: the expected kernel's ``"curves"`` (name -> ``(T,)``), ``"stop"`` (name -> value at
            its own ``T_stop``), ``"t_stop"``, ``"lr"``, ``"energy"`` (``(rank/K,)``), ``"top10"``,
            ``"bound"``.
        rank: ``r``.
    """

    grid: Grid
    steps: np.ndarray
    curves: dict
    stop: dict
    spectra: dict
    kernel: dict
    rank: int

    @property
    def widths(self) -> np.ndarray:
        return self.grid.axes["width"]

    def paired(self, name: str) -> dict:
        """Network vs its linearisation at ``T_stop``, per width (seed means, paired se)."""
        net, lin = self.stop[name]
        measured, _, n = seed_stats(net)
        predicted, _, _ = seed_stats(lin)
        diff, se, _ = seed_stats(net - lin)
        return dict(measured=measured, predicted=predicted, diff=diff, se=se, n=n)

    def train_gap(self) -> np.ndarray:
        """``(n_widths,)`` seed-mean relative train-loss gap at ``T_stop``, network over linearisation.

        The network fits faster than its linearisation (its gates move with ``W``); this fraction,
        measured on the training set, is the finite-width bias allowed in the test-side claims.
        """
        net, lin = self.stop["loss"]
        return seed_stats(net / lin - 1.0)[0]

    def claim(self, name: str, min_width: int = 0) -> dict:
        """Network vs linearisation at the width (``>= min_width``) of largest relative deviation.

        ``tol = 3 se + bias``: ``se`` of the paired difference over seeds, ``bias`` the predicted
        value times the relative train-loss gap (:meth:`train_gap`) at that width.
        """
        p = self.paired(name)
        keep = np.flatnonzero(self.widths >= min_width)
        if keep.size == 0:
            raise ValueError(f"min_width must be <= the widest width {self.widths[-1]}")
        i = keep[np.argmax(np.abs(p["diff"][keep]) / np.abs(p["predicted"][keep]))]
        out = {key: float(p[key][i]) for key in ("measured", "predicted", "diff", "se")}
        bias = abs(out["predicted"] * self.train_gap()[i])
        return out | dict(width=int(self.widths[i]), n=p["n"], bias=bias, tol=3 * out["se"] + bias)

    def fit(self, name: str, power: float = 1.0, r: int | None = None) -> dict:
        """Least squares of ``name`` over every (width, seed) as ``a + b / k^power``.

        ``name``: ``"energy"`` (``E(r)``, ``r`` a multiple of ``K`` up to the rank, default the rank)
        or ``"top10"``. Every draw has equal weight and
        ``se_a`` comes from the residual scatter: the seeds of one width are too few to weight by
        (their scatter is about the same at every width here). ``chi2`` tests the line against the
        width means with the pooled within-width variance, on ``dof = n_widths - 2``.
        """
        m = -1 if r is None else check_int("r", r) // K - 1
        if r is not None and (r % K or not 0 <= m < self.kernel["energy"].size):
            raise ValueError(f"r must be a multiple of {K} up to {K * self.kernel['energy'].size}")
        x = self.spectra[name][..., m] if name == "energy" else self.spectra[name]
        theory = self.kernel["energy"][m] if name == "energy" else self.kernel["top10"]
        return _line_fit(x, self.widths, power) | dict(theory=float(theory))

    def departure(self, name: str, step: int, power: float = 0.5) -> dict:
        """Least squares of the relative departure ``network / linearisation - 1`` of ``name`` at the
        recorded ``step``, over every (width, seed), as ``a + b / k^power`` (as :meth:`fit`).

        The linearisation is exact as ``k -> infinity``, so the theory predicts ``a = 0``; the
        default ``power = 0.5`` is the rate at which the Jacobian of a width-``k`` network moves in a
        fixed number of steps (its weights move by ``O(1)`` in norm, each unit by ``O(1/sqrt k)``).
        """
        if name not in self.curves:
            raise ValueError(f"name must be one of {sorted(self.curves)}, got {name!r}")
        hit = np.flatnonzero(self.steps == step)
        if hit.size == 0:
            raise ValueError(f"step {step} was not recorded; recorded: {self.steps.tolist()}")
        net, lin = self.curves[name][..., hit[0]]
        return _line_fit(net / lin - 1.0, self.widths, power) | dict(step=int(step))

    def glue(self) -> dict:
        """Numbers the chapter's prose quotes (keys prefixed ``w_``)."""
        out = dict(rank=self.rank, n_seeds=self.grid.n_seeds, k_min=int(self.widths[0]))
        out |= dict(k_max=int(self.widths[-1]), T_inf=self.kernel["t_stop"])
        for name in ("mse", "distance", "error", "info", "nuisance"):
            p = self.paired(name)
            out[f"{name}_lin_max"] = float(p["predicted"][-1])
            out[f"{name}_rel_min"] = float(p["diff"][0] / p["predicted"][0])
            out[f"{name}_rel_max"] = float(p["diff"][-1] / p["predicted"][-1])
            out[f"{name}_inf"] = float(self.kernel["stop"][name])
            out[f"{name}_net_max"] = float(p["measured"][-1])
            out[f"{name}_z_max"] = float(abs(p["diff"][-1]) / p["se"][-1])
        for name in ("energy", "top10"):
            for power in (1.0, 0.5):
                f = self.fit(name, power)
                tag = f"{name}_{'k' if power == 1 else 'sqrtk'}"
                out |= {f"{tag}_a": f["a"], f"{tag}_se": f["se_a"], f"{tag}_chi2": f["chi2"]}
            out[f"{name}_inf"] = self.fit(name)["theory"]
        t_stop = np.mean(self.spectra["t_stop"], axis=1)
        out |= dict(T_min=float(t_stop[0]), T_max=float(t_stop[-1]), bound_inf=self.kernel["bound"])
        bound_ratio = self.spectra["bound"] / self.stop["distance"][0]
        out |= dict(dof=self.widths.size - 2, bound_ratio_min=float(bound_ratio.min()))
        lam1 = np.mean(self.spectra["lam1"], axis=1)
        lam1_inf = float(1 / np.sqrt(self.kernel["lr"]))
        out |= dict(lam1_min=float(lam1[0]), lam1_max=float(lam1[-1]), lam1_inf=lam1_inf)
        return {f"w_{key}": value for key, value in out.items()}


def run_width_sweep(problem: Problem, *, rng: np.random.Generator) -> WidthSweepResult:
    """Train ``sizes.width_seeds`` networks per width in ``sizes.widths`` beside their linearisations.

    Args:
        problem: chapter 5's draw (:func:`~dltheory.experiments.jacobian_information.draw_problem`);
            its data and sizes are used, not its networks.
        rng: numpy generator; one child per (width, seed), width-major, draws the initial weights.

    Returns:
        A :class:`WidthSweepResult`.
    """
    check_instance("problem", problem, Problem)
    check_rng(rng)
    sizes, data = problem.sizes, problem.data
    if sizes.rank % K or sizes.rank >= K * data.labels_train.size:
        raise ValueError(f"sizes.rank must be a multiple of K = {K} below K n, got {sizes.rank}")
    widths, n_seeds, d = np.array(sizes.widths), sizes.width_seeds, data.X_train.shape[1]
    grid = Grid({"width": widths}, n_seeds=n_seeds)
    log_steps = np.geomspace(1, sizes.width_steps, _CURVE_POINTS).astype(int)
    extra = [problem.setup.fit_step] if problem.setup.fit_step <= sizes.width_steps else []
    steps = np.unique(np.r_[0, log_steps, extra])  # the chapter's residual step, when in range
    y = _stacked(data.labels_train)
    curves = np.zeros((2, grid.n_runs, steps.size, len(_QUANTITIES)))
    stop = np.zeros((2, grid.n_runs, len(_QUANTITIES)))
    stat_keys = ("lam1", "lam_r", "t_stop", "top10", "bound")
    spectra = {key: np.zeros(grid.n_runs) for key in stat_keys}
    energy = np.zeros((grid.n_runs, sizes.rank // K))
    for run, (k, child) in enumerate(
        zip(grid.per_run("width"), rng.spawn(grid.n_runs), strict=True)
    ):
        net = two_layer_net(d, int(k), K, rng=child)
        top = _spectrum(problem, net)
        lam1, lam_r = top.s[0], top.s[-1]
        t_stop = _stop_step(top.s, top.s.size)
        e_r = label_energy(top.U, y)
        energy[run] = e_r[K - 1 :: K]
        bound = js.distance_bound(
            np.linalg.norm(top.U.T @ y), np.sqrt(y @ y - y @ y * e_r[-1]), lam_r
        )
        for key, v in zip(
            stat_keys, (lam1, lam_r, t_stop, top.energy_fraction(K), bound), strict=True
        ):
            spectra[key][run] = v
        marks = np.union1d(steps, [t_stop])
        net32 = copy.deepcopy(net).to(torch.float32)
        for i, model in enumerate((net32, linearised(net32))):
            rows = _train(model, data, 1.0 / lam1**2, marks, top.U)
            curves[i, run] = rows[np.isin(marks, steps)]
            stop[i, run] = rows[np.flatnonzero(marks == t_stop)[0]]
    th = _kernel_gd(problem)
    th_curves = np.array([th["at"](int(t)) for t in steps])
    kernel = dict(
        curves={q: th_curves[:, j] for j, q in enumerate(_QUANTITIES)},
        stop=dict(zip(_QUANTITIES, th["at"](th["t_stop"]), strict=True)),
    ) | {key: th[key] for key in ("t_stop", "lr", "energy", "top10", "bound")}
    return WidthSweepResult(
        grid=grid,
        steps=steps,
        curves={q: grid.unflatten(curves[..., j], axis=1) for j, q in enumerate(_QUANTITIES)},
        stop={q: grid.unflatten(stop[..., j], axis=1) for j, q in enumerate(_QUANTITIES)},
        spectra={key: grid.unflatten(v) for key, v in spectra.items()}
        | {"energy": grid.unflatten(energy)},
        kernel=kernel,
        rank=sizes.rank,
    )
