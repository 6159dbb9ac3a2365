"""Transfer in wide two-layer networks with lazy and adaptive kernels: Lauditi, Bordelon & Pehlevan
(2025), "Transfer learning in infinite width feature learning networks", arXiv:2507.04448.

The network and its weight-decay gradient flow are those of :mod:`dltheory.kernel_nets` and
:mod:`dltheory.kernel_training` (the parameterisation of the companion code of arXiv:2502.07998); the
closed forms, derived in the paper's framework for the linear network, are in
:mod:`dltheory.theory.kernels`. One function per result; each draws from ``rng`` in a fixed order, so
that a chapter calling them in turn on one generator gets the same numbers every time.

* :func:`run_fixed_point`: gradient descent with weight decay reaches the theory's fixed point beta and
  its adaptive kernel at any width; far enough above a threshold, weight decay wins.
* :func:`run_gamma_sweep`: the effective ridge kappa = lam / (gamma |beta|) against richness gamma.
* :func:`run_adaptive_vs_lazy`: the kernel predictor with the NTK after training against the one with
  the NTK at initialisation, over sample sizes.
* :func:`train_source`, :func:`run_readout_transfer`: the paper's protocol (i), a readout trained on
  frozen source features, against training from scratch and lazy fine-tuning.
* :func:`run_flow_transfer`: protocol (i) after plain gradient flow (no weight decay), against the
  source richness and the source data, and the adapted kernel against the lazy one at matched scale;
  theory from the moment equations of :mod:`dltheory.theory.linear_moments`.
* :func:`train_gf_source`, :func:`run_jointly_rich`, :func:`run_elastic_coupling`: protocol (ii) after
  plain gradient flow: the final kernel keeps the source's and the target's directions; the elastic
  coupling to the source weights.
* :func:`run_digits`, :func:`run_polynomial`: ReLU networks on binary digit tasks and on polynomial
  teachers, the paper's nonlinear settings, with no closed form here.

Results hold what the theory predicts beside what the networks measured, on a named
:class:`~dltheory.experiments.Grid` of conditions and seeds: arrays are ``(conditions..., seeds)``
unless a field says otherwise. Test errors of linear predictors are exact population errors
|beta - beta_t|^2 / D (teachers have |beta_t|^2 = D, so predicting 0 scores 1).
"""

from dltheory.experiments.kernel_transfer._adaptive import (
    FIXED_POINT_PN,
    AdaptiveVsLazyResult,
    FixedPointResult,
    GammaSweepResult,
    run_adaptive_vs_lazy,
    run_fixed_point,
    run_gamma_sweep,
)
from dltheory.experiments.kernel_transfer._common import SETUP, KernelTransferSetup
from dltheory.experiments.kernel_transfer._joint import (
    JOINT_SETUP,
    ElasticResult,
    GFSource,
    JointResult,
    JointSetup,
    run_elastic_coupling,
    run_jointly_rich,
    train_gf_source,
)
from dltheory.experiments.kernel_transfer._moments import (
    FLOW_GAMMAS,
    FLOW_NU1,
    FLOW_SETUP,
    FRESH_INITS,
    FlowSetup,
    FlowTransferResult,
    run_flow_transfer,
)
from dltheory.experiments.kernel_transfer._nonlinear import (
    PROTOCOLS,
    DigitsResult,
    DigitsSetup,
    PolynomialResult,
    PolynomialSetup,
    run_digits,
    run_polynomial,
)
from dltheory.experiments.kernel_transfer._transfer import (
    ALPHA_CLAIMS,
    NU2,
    LinearSource,
    ReadoutTransferResult,
    run_readout_transfer,
    train_source,
)

__all__ = [
    "FlowSetup",
    "FLOW_SETUP",
    "FLOW_GAMMAS",
    "FLOW_NU1",
    "FRESH_INITS",
    "FlowTransferResult",
    "run_flow_transfer",
    "JointSetup",
    "JOINT_SETUP",
    "GFSource",
    "JointResult",
    "ElasticResult",
    "train_gf_source",
    "run_jointly_rich",
    "run_elastic_coupling",
    "KernelTransferSetup",
    "SETUP",
    "DigitsSetup",
    "PolynomialSetup",
    "FIXED_POINT_PN",
    "ALPHA_CLAIMS",
    "NU2",
    "PROTOCOLS",
    "FixedPointResult",
    "GammaSweepResult",
    "AdaptiveVsLazyResult",
    "LinearSource",
    "ReadoutTransferResult",
    "DigitsResult",
    "PolynomialResult",
    "run_fixed_point",
    "run_gamma_sweep",
    "run_adaptive_vs_lazy",
    "train_source",
    "run_readout_transfer",
    "run_digits",
    "run_polynomial",
]
