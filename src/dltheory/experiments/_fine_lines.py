"""Theory lines of chapter 2's figures, drawn on fine grids: dense where the curve turns fast, and
broken where the predicted quantity jumps rather than joined across the jump."""

import numpy as np

from dltheory.theory.generalization import predicted_error_curves_examples

_FINE_SNR = (0.5, 3.0, 0.02, 10.5, 0.1)  # multipliers: 0.5 to 3 in steps of 0.02, then to 10.5
_FINE_P = 40  # log-spaced numbers of examples on the theory lines of the P != N1 figure


def fine_snr() -> np.ndarray:
    """Multipliers of the optimal-stopping lines: densest near threshold, where t_opt turns fastest."""
    lo, mid, step_lo, hi, step_hi = _FINE_SNR
    return np.r_[np.arange(lo, mid, step_lo), np.arange(mid, hi + step_hi / 2, step_hi)]


def jumps(x: np.ndarray, y: np.ndarray, f) -> np.ndarray:
    """``(len(x) - 1,)``: where ``y = f(x)`` jumps between neighbouring points of ``x``.

    Evaluated at the midpoint of an interval, a jump sits at one end's value, while a steep
    continuous rise passes in between. Only intervals whose change exceeds 1% of ``max |y|`` are
    tested; ``f`` takes an array of abscissae.
    """
    step = np.abs(np.diff(y))
    suspect = np.flatnonzero(step > 0.01 * np.max(np.abs(y)))
    out = np.zeros(step.size, dtype=bool)
    if suspect.size:
        mid = f((x[suspect] + x[suspect + 1]) / 2)
        near = np.minimum(np.abs(mid - y[suspect]), np.abs(mid - y[suspect + 1]))
        out[suspect] = near < 0.25 * step[suspect]
    return out


def examples_lines(setup, n: int, snrs, P, epochs) -> dict:
    """Predicted best and last test error over ``epochs`` at every integer P between the simulated
    ones (log-spaced, the simulated P included): ``{"P": (F,), "min_error", "late_error": (snr, F)}``.
    The theory is defined at integer P only."""
    P = np.asarray(P)
    fine_P = np.unique(np.r_[np.geomspace(P.min(), P.max(), _FINE_P).round().astype(int), P])
    test = np.array(
        [
            [
                predicted_error_curves_examples(
                    epochs,
                    [snr],
                    n_in=n,
                    n_out=n,
                    n_examples=int(p),
                    hidden=n,
                    eps=setup.eps,
                    tau=setup.tau,
                    noise_std=setup.noise_std,
                ).test  # fmt: skip
                for p in fine_P
            ]
            for snr in snrs
        ]
    )  # (snr, F, T)
    return {"P": fine_P, "min_error": test.min(axis=-1), "late_error": test[..., -1]}
