r"""The outcome of each run at its last step -- completely collapsed, non-finite, or neither -- with the least work.

The threshold search (:mod:`simulations.collapse.threshold`) needs one bit per run: is the final state
completely collapsed -- all embeddings equal, :math:`\sigma_2 < \rho\,\sigma_1` and
:math:`1 - \|\mu\| < \rho` (:func:`simulations.metrics.is_completely_collapsed` with the mean's norm,
:math:`\rho` = ``rel_tol``) -- or not finite? :func:`run_outcomes` answers exactly that question, with the
same answer as stepping every run to the end and taking the SVD of its final state, but:

* **Early stop, decided on the device.** Runs are stepped in short compiled chunks; after each chunk a
  sticky status is updated on the device and a run whose final outcome is already certain is marked.
  A batch stops when every run in it is marked. Three facts make a mark certain (rule ``paper`` only;
  the other rules are always stepped to the end):

  - *Non-finite is absorbing.* A non-finite entry in column j makes the sum
    :math:`S = \sum_i x_i` non-finite in column j; every row's update :math:`a_i x_i - b_i S` then has
    a non-finite entry there (:math:`b_i = c/\|y_i\|` is finite and non-zero, or NaN itself), so the
    state stays non-finite to the last step.
  - *Collapse with margin is absorbing.* Let the k unit embeddings have diameter
    :math:`d = \max_{ij}\|x_i - x_j\|`, :math:`c = \eta/(k-1)` and
    :math:`y_i = (1+c)x_i - cS`. Then :math:`y_i - y_j = (1+c)(x_i - x_j)`, and
    :math:`y_i = (1-\eta)x_i - c\sum_j (x_j - x_i)` gives :math:`\|y_i\| \ge |1-\eta| - \eta d`. For
    non-zero vectors :math:`\|a/\|a\| - b/\|b\|\| \le \|a-b\|/\sqrt{\|a\|\|b\|}`, so the next diameter is

    .. math:: d' \le \frac{(1+c)\,d}{|1-\eta| - \eta d}.

    With :math:`d^* = (|1-\eta| - (1+c))/\eta > 0` and :math:`d \le D \le d^*/2`, the denominator exceeds
    :math:`1+c`, so :math:`d' \le q\,d` with :math:`q = (1+c)/(|1-\eta| - \eta D) < 1`: the diameter
    never grows again, and after r more steps it is at most :math:`q^r D`. (:math:`d^* > 0` iff
    :math:`\eta > 2(k-1)/(k-2)`: the linear stability of the collapsed state falls out of the same
    inequality; the code never reads that bound, it evaluates :math:`d^*` from :math:`\eta` and k.)
    A set of unit vectors of diameter d has, with :math:`x_1` as the rank-one direction,
    :math:`\sigma_2^2 \le \sum_i\|x_i - x_1\|^2 \le (k-1)d^2` and
    :math:`\sigma_1^2 \ge \sum_i (x_1^\top x_i)^2 \ge k(1-d^2/2)^2`, so
    :math:`\sigma_2/\sigma_1 < d/(1 - d^2/2)`, and its mean has
    :math:`\|\mu\| \ge \mu^\top x_1 \ge 1 - d^2/2`. A run with r steps left is therefore marked collapsed
    when an upper bound :math:`D \ge d` (twice the largest distance to the normalised mean) satisfies
    :math:`D \le d^*/2` and :math:`q^r D \le \rho/4`: its final state is collapsed, with a factor of
    about 4 to spare for rounding (and :math:`1-\|\mu\| \le d^2/2 \ll \rho`). Co-linear states of mixed sign (:math:`x_i = \pm z`) are not marked; they
    run to the end.
  - *A spread state that stays spread.* Let :math:`s = \|S\|`, :math:`\Lambda = \sigma_1(X)^2`,
    :math:`\nu = 1 + c` and :math:`\|A\| = \max(\nu, |1-\eta|)`, the norm of
    :math:`A = \nu I - c\mathbf 1\mathbf 1^\top` (so :math:`Y = AX`, rows :math:`y_i`). If
    :math:`cs < \nu`, every :math:`\|y_i\| \ge n_- := \nu - cs > 0` (the step is finite). Since
    :math:`\sum_i y_i = (1-\eta)S`, the new sum is
    :math:`S' = (1-\eta)S/\nu + Y^\top\delta` with :math:`\delta_i = 1/\|y_i\| - 1/\nu =
    (2c\nu\,x_i^\top S - c^2s^2)/(\nu\|y_i\|(\nu+\|y_i\|))`; with :math:`\|XS\| \le \sqrt\Lambda s` and
    :math:`\sigma_1(Y) \le \|A\|\sqrt\Lambda`,

    .. math:: s' \le s\,F(s, \Lambda), \qquad F = \frac{|1-\eta|}{\nu}
              + \frac{\|A\|\sqrt\Lambda\,(2c\nu\sqrt\Lambda + c^2 s\sqrt k)}{\nu\, n_-(\nu + n_-)},
              \qquad \Lambda' \le \min\big(k, \Lambda\,(\|A\|/n_-)^2\big)

    (:math:`X' = D^{-1}AX`, :math:`\|D^{-1}\| \le 1/n_-`; :math:`\Lambda \le \|X\|_F^2 = k`). F grows
    with s and :math:`\Lambda`. Take a rate :math:`q < 1`, :math:`s_\infty = \kappa/(1-q)` and the
    envelope :math:`b_t = s_0q^t + s_\infty`, which obeys :math:`b_{t+1} = qb_t + \kappa`. Along it
    :math:`\sum_t \log(\nu/(\nu - cb_t)) \le \frac{c}{\nu - cb_0}(\frac{s_0}{1-q} + rs_\infty)`, so
    :math:`\Lambda_t \le \bar\Lambda = \min(k, \Lambda_0e^G)` with G as in :func:`spread_certificate`.
    If :math:`cb_0 < \nu` and :math:`F(b_0, \bar\Lambda) \le q`, induction over the r steps
    left gives :math:`s_{t+1} \le s_tF(b_0, \bar\Lambda) + \kappa \le qb_t + \kappa = b_{t+1}` and
    :math:`\Lambda_t \le \bar\Lambda` at every step, and the run ends finite with
    :math:`\|\mu\| \le b_r/k`: **not** collapsed when :math:`b_r \le k(1-\rho)/2`. :math:`\Lambda_0`
    is Gershgorin's bound on the smaller Gram matrix of the state, and :math:`\kappa = 64\,k\,\epsilon`
    (:math:`\epsilon` the dtype's machine epsilon) is an allowance per step for rounding of S. The
    bound closes only where :math:`|1-\eta|/\nu` is clearly below 1 and :math:`c\Lambda` is small
    (large k): at k = 1000 for every eta of the neutral grid up to :math:`\sqrt2`, from the first
    check on; never near the bound, where :math:`|1-\eta| \approx 1`. It is tried only when the cheap
    test :math:`F(\max(s,\kappa), 1) < 1` passes (:math:`\Lambda \ge 1` always), since the Gram
    matrix is a matrix product, far dearer than the test.

* **No full SVD where bounds decide.** At the last step the criterion is settled by two certificates
  from a rank-2 block power iteration (:math:`W`, n x 2, orthonormal columns): by Courant-Fischer
  :math:`\sigma_2 \ge \sigma_{\min}(XW) =: s_2` and :math:`\sigma_1^2 \le \|X\|_F^2 - s_2^2`, which proves
  *not collapsed* when :math:`s_2 \ge 2\rho\sqrt{\|X\|_F^2 - s_2^2}`; with :math:`w` the top right
  singular vector of :math:`XW`, :math:`\sigma_1 \ge \|Xw\|` and
  :math:`\sigma_2 \le \|X - Xww^\top\|_F` (Eckart-Young), which proves *collapsed* when the latter is at
  most :math:`\rho\|Xw\|/2`. The mean's part of the criterion is computed exactly, as the runner
  does. Only a run whose rank-one test neither certificate settles gets the SVD
  (:func:`simulations.metrics.singular_spectrum`), one run at a time. At k = m = 1000 the SVD of one
  final state cost more than its 2000 steps.

Every compiled call is short, and the host waits only for the status of a chunk dispatched
:data:`~simulations.collapse.engine.LOOKAHEAD` calls earlier, so the device stays busy and Ctrl-C stops
a search between calls. Works unchanged under ``jax.distributed`` (status and outcomes are gathered to
every process).
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simulations import metrics
from simulations.collapse import engine, sharding

__all__ = ["UNDECIDED", "COLLAPSED", "NONFINITE", "STAYS_SPREAD", "diameter_certificate", "spread_certificate",
           "spread_pretest", "top_eigenvalue_bound", "spectrum_certificates", "final_collapse", "status_update",
           "status_programs", "StatusPrograms", "StickyStatus", "FinalDecision", "run_outcomes", "Outcomes",
           "check_every"]

#: Status codes of a run during :func:`run_outcomes` (sticky once set). ``STAYS_SPREAD``: certain to end
#: finite and not completely collapsed.
UNDECIDED, COLLAPSED, NONFINITE, STAYS_SPREAD = 0, 1, 2, 3
#: Rounding allowance per step on :math:`\|S\|` in :func:`spread_certificate`, in units of k times the
#: dtype's machine epsilon.
ROUNDING_ALLOWANCE = 64
#: Candidate contraction rates :math:`q = 1 - 2^{-j}`, j = 1, ..., SPREAD_CANDIDATES, of
#: :func:`spread_certificate`.
SPREAD_CANDIDATES = 24
#: Steps between two status checks is about ``steps / STATUS_CHECKS`` (and at most one compiled segment).
STATUS_CHECKS = 40
#: Fewest element-steps per device between two status checks (below it the checks cost more than they save).
MIN_CHECK_ELEMENT_STEPS = 2**22
#: Block power iterations behind :func:`spectrum_certificates` (each two passes over the state).
POWER_ITERATIONS = 4


def diameter_certificate(R, eta, rel_tol=metrics.DEFAULT_COLLAPSE_RTOL, remaining=0):
    r"""True where the ``paper`` rule's run is certain to end completely collapsed after ``remaining`` more steps.

    For rows :math:`x_i` (unit class embeddings) of ``R``, with :math:`p = S/\|S\|`,
    :math:`D = 2\max_i\|x_i - p\| \ge d` (the diameter), :math:`c = \eta/(k-1)`,
    :math:`d^* = (|1-\eta| - (1+c))/\eta` and :math:`q = (1+c)/(|1-\eta| - \eta D)`: true iff
    :math:`D \le d^*/2` and :math:`q^{r} D \le \rho/4` (proof in the module docstring; with
    ``remaining=0`` it holds for any number of steps left).

    Args:
        R: ``[k, n]`` rows = unit embeddings (any orthonormal coordinates).
        eta: the run's learning rate.
        rel_tol: the collapse criterion :math:`\rho` (:data:`simulations.metrics.DEFAULT_COLLAPSE_RTOL`).
        remaining: steps still to be taken, r.

    Returns:
        bool scalar.

    Example (paper 001, Appendix D: a tight cluster above the bound stays collapsed; below, not certain):
        >>> import jax.numpy as jnp
        >>> R = jnp.array([[1.0, 0.0], [1.0, 1e-5], [1.0, -1e-5]])
        >>> R = R / jnp.linalg.norm(R, axis=1, keepdims=True)
        >>> bool(diameter_certificate(R, 5.0)), bool(diameter_certificate(R, 3.9))
        (True, False)
    """
    k = R.shape[-2]
    total = jnp.sum(R, axis=-2)
    p = total / jnp.linalg.norm(total)
    D = 2 * jnp.max(jnp.linalg.norm(R - p, axis=-1))
    c = eta / (k - 1)
    d_star = (jnp.abs(1 - eta) - (1 + c)) / eta
    inside = D <= d_star / 2
    q = (1 + c) / jnp.where(inside, jnp.abs(1 - eta) - eta * D, 1 + c)  # < 1 inside
    return inside & (D * jnp.exp(remaining * jnp.log(q)) <= rel_tol / 4)


def top_eigenvalue_bound(R):
    r"""An upper bound on :math:`\sigma_1(R)^2`: Gershgorin's bound on the smaller of the Gram matrices
    :math:`R^\top R` and :math:`RR^\top` (largest absolute row sum), enlarged by 1 % plus the rounding
    of the Gram matrix's entries, and never above :math:`\|R\|_F^2`.

    Example:
        >>> import jax.numpy as jnp
        >>> R = jnp.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> float(jnp.linalg.norm(R, 2)) ** 2 <= float(top_eigenvalue_bound(R)) <= 3.0
        True
    """
    hi = jax.lax.Precision.HIGHEST
    k, n = R.shape[-2:]
    gram = jnp.matmul(R.T, R, precision=hi) if n <= k else jnp.matmul(R, R.T, precision=hi)
    size = min(k, n)
    rounding = 2 * size * max(k, n) * jnp.finfo(R.dtype).eps * jnp.max(jnp.abs(gram))
    gershgorin = jnp.max(jnp.sum(jnp.abs(gram), axis=-1))
    return jnp.minimum(gershgorin * 1.01 + rounding, jnp.sum(R * R) * 1.01)


def _step_constants(eta, k):
    r"""``(c, nu, norm_A)`` of the paper rule's step: :math:`c = \eta/(k-1)`, :math:`\nu = 1 + c`,
    :math:`\|A\| = \max(\nu, |1-\eta|)` (module docstring)."""
    c = eta / (k - 1)
    nu = 1 + c
    return c, nu, jnp.maximum(nu, jnp.abs(1 - eta))


def _mean_growth(s, lam, eta, k):
    """``(F(s, lam), n_minus, norm_A)`` of the spread certificate (module docstring); F = inf where c s >= nu."""
    c, nu, norm_a = _step_constants(eta, k)
    n_minus = nu - c * s
    ok = n_minus > 0
    safe = jnp.where(ok, n_minus, 1.0)
    F = jnp.abs(1 - eta) / nu + norm_a * jnp.sqrt(lam) * (2 * c * nu * jnp.sqrt(lam) + c * c * s * jnp.sqrt(k)) / (
        nu * safe * (nu + safe))
    return jnp.where(ok, F, jnp.inf), safe, norm_a


def _allowance(k, dtype):
    return ROUNDING_ALLOWANCE * k * float(jnp.finfo(dtype).eps)


def spread_pretest(R, eta):
    r"""The cheap necessary test for :func:`spread_certificate`: :math:`F(\max(s, \kappa), 1) < 1`
    (:math:`\Lambda \ge 1` for unit rows), from one pass over the state.

    Example:
        >>> import jax.numpy as jnp
        >>> bool(spread_pretest(jnp.eye(50), 1.0)), bool(spread_pretest(jnp.eye(50), 2.0))
        (True, False)
    """
    k = R.shape[-2]
    s = jnp.linalg.norm(jnp.sum(R, axis=-2))
    F, _, _ = _mean_growth(jnp.maximum(s, _allowance(k, R.dtype)), 1.0, eta, k)
    return F < 1


def spread_certificate(R, eta, rel_tol=metrics.DEFAULT_COLLAPSE_RTOL, remaining=0):
    r"""True where the ``paper`` rule's run is certain to end finite and *not* completely collapsed after
    ``remaining`` more steps: its mean stays below :math:`1-\rho` (proof in the module docstring).

    With :math:`s_0 = \|\sum_i x_i\|`, :math:`\Lambda_0` = :func:`top_eigenvalue_bound`, r = ``remaining``
    and :math:`\kappa` = ``ROUNDING_ALLOWANCE * k * eps``: true iff for some rate
    :math:`q = 1 - 2^{-j}` (j = 1, ..., :data:`SPREAD_CANDIDATES`), with
    :math:`s_\infty = \kappa/(1-q)` and the envelope :math:`b_t = s_0q^t + s_\infty`,
    :math:`cb_0 < \nu`, :math:`F(b_0, \bar\Lambda) \le q` and :math:`b_r \le k(1-\rho)/2`, where
    :math:`\bar\Lambda = \min(k, \Lambda_0 e^{G})`,
    :math:`G = 2r\log(\|A\|/\nu) + \frac{2c}{\nu - cb_0}\big(\frac{s_0}{1-q} + r s_\infty\big)`.

    Args:
        R: ``[k, n]`` rows = unit embeddings (any orthonormal coordinates).
        eta: the run's learning rate.
        rel_tol: the collapse criterion :math:`\rho`.
        remaining: steps still to be taken, r.

    Example (paper 001, Theorem 1: orthonormal embeddings at k = 50 stay spread below the bound):
        >>> import jax, jax.numpy as jnp
        >>> certify = jax.jit(spread_certificate)
        >>> [bool(certify(jnp.eye(50), eta, remaining=2000)) for eta in (0.5, 1.0, 2.5)]
        [True, True, False]
    """
    k = R.shape[-2]
    kappa = _allowance(k, R.dtype)
    s0 = jnp.linalg.norm(jnp.sum(R, axis=-2))
    lam0 = top_eigenvalue_bound(R)
    q = 1 - 2.0 ** -jnp.arange(1, SPREAD_CANDIDATES + 1, dtype=R.dtype)
    s_inf = kappa / (1 - q)
    b0 = s0 + s_inf
    c, nu, norm_a = _step_constants(eta, k)
    room = jnp.maximum(nu - c * b0, 0.0)
    log_growth = 2 * remaining * jnp.log(norm_a / nu) + 2 * c / jnp.where(room > 0, room, 1.0) * (
        s0 / (1 - q) + remaining * s_inf)
    lam_bar = jnp.minimum(k, lam0 * jnp.exp(jnp.minimum(log_growth, 80.0)))
    F, _, _ = _mean_growth(b0, lam_bar, eta, k)
    b_end = s0 * jnp.exp(remaining * jnp.log(q)) + s_inf
    holds = (room > 0) & (F <= q) & (b_end <= k * (1 - rel_tol) / 2)
    return jnp.any(holds) & jnp.all(jnp.isfinite(R))


def spectrum_certificates(R, rel_tol=metrics.DEFAULT_COLLAPSE_RTOL, iterations: int = POWER_ITERATIONS):
    r"""``(surely_collapsed, surely_not_collapsed)`` for :math:`\sigma_2 < \rho\sigma_1` of ``R``, without an SVD.

    Rank-2 block power iteration from two rows of ``R`` gives W (n x 2, orthonormal columns); then
    :math:`s_2 = \sigma_{\min}(RW) \le \sigma_2`, :math:`\sigma_1^2 \le \|R\|_F^2 - s_2^2`,
    :math:`\sigma_1 \ge \|Rw\|` and :math:`\sigma_2 \le \|R - Rww^\top\|_F` (w: top right singular
    vector of RW). Each certificate keeps a factor 2 from the boundary, so rounding cannot make it
    disagree with the SVD; both can be False (then the caller takes the SVD).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> states = jnp.array([[[1.0, 0.0], [1.0, 1e-6], [0.9, 0.0]],    # nearly rank one
        ...                     [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])    # spread over two directions
        >>> surely_collapsed, surely_not = jax.lax.map(spectrum_certificates, states)   # one entry per state
        >>> surely_collapsed.tolist(), surely_not.tolist()
        ([True, False], [False, True])
    """
    hi = jax.lax.Precision.HIGHEST
    k = R.shape[-2]
    first = R[0]
    # a second start vector: the row least aligned with the first (a generic direction otherwise)
    align = jnp.abs(R @ first)
    second = R[jnp.argmin(align)] + 1e-3 * R[k // 2]

    def orth(a, b):
        a = a / jnp.linalg.norm(a)
        b_off = b - jnp.dot(a, b, precision=hi) * a
        # b (nearly) parallel to a (a rank-one state): take the coordinate axis least aligned with a
        e = jnp.zeros_like(a).at[jnp.argmin(jnp.abs(a))].set(1.0)
        e_off = e - jnp.dot(a, e, precision=hi) * a
        b = jnp.where(jnp.linalg.norm(b_off) > 1e-6 * jnp.linalg.norm(b), b_off, e_off)
        return a, b / jnp.linalg.norm(b)

    def body(_, ab):
        a, b = ab
        Ra, Rb = jnp.matmul(R, a, precision=hi), jnp.matmul(R, b, precision=hi)
        return orth(jnp.matmul(Ra, R, precision=hi), jnp.matmul(Rb, R, precision=hi))

    a, b = jax.lax.fori_loop(0, iterations, body, orth(first, second))
    Ra, Rb = jnp.matmul(R, a, precision=hi), jnp.matmul(R, b, precision=hi)
    g11, g12, g22 = jnp.dot(Ra, Ra, precision=hi), jnp.dot(Ra, Rb, precision=hi), jnp.dot(Rb, Rb, precision=hi)
    # eigen-decomposition of the 2 x 2 Gram matrix of RW (closed form)
    half_trace, det = (g11 + g22) / 2, g11 * g22 - g12 * g12
    root = jnp.sqrt(jnp.maximum(half_trace**2 - det, 0.0))
    lam1 = half_trace + root
    lam2 = jnp.maximum(det / jnp.maximum(lam1, jnp.finfo(R.dtype).tiny), 0.0)  # stable smaller eigenvalue
    frob2 = jnp.sum(R * R)
    surely_not = jnp.sqrt(lam2) >= 2 * rel_tol * jnp.sqrt(jnp.maximum(frob2 - lam2, 0.0))
    # top right singular vector w = W v, v the top eigenvector of the 2 x 2 Gram matrix
    # two expressions of the same eigenvector; the longer one is the better conditioned
    v1, v2 = jnp.stack([g12, lam1 - g11]), jnp.stack([lam1 - g22, g12])
    v = jnp.where(jnp.linalg.norm(v1) >= jnp.linalg.norm(v2), v1, v2)
    v = v / jnp.linalg.norm(v)
    w = v[0] * a + v[1] * b
    w = w / jnp.linalg.norm(w)
    Rw = jnp.matmul(R, w, precision=hi)
    residual = jnp.sqrt(jnp.sum((R - Rw[:, None] * w[None, :]) ** 2))
    surely_collapsed = residual <= rel_tol * jnp.linalg.norm(Rw) / 2
    finite = jnp.all(jnp.isfinite(R))
    return surely_collapsed & finite, surely_not & finite


def final_collapse(R, rel_tol=metrics.DEFAULT_COLLAPSE_RTOL):
    r"""Whether the finite state ``R`` (rows = unit embeddings) is completely collapsed,
    :math:`\sigma_2 < \rho\sigma_1` and :math:`1-\|\mu\| < \rho`: the rank-one part from the
    certificates of :func:`spectrum_certificates` when they settle it, else from the SVD (``lax.cond``;
    one run: call it under ``lax.map`` so that only the taken branch runs); the mean's norm exactly as
    the runner measures it.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> states = jnp.array([[[1.0, 0.0], [1.0, 1e-2], [1.0, 0.0]],    # sigma_2 / sigma_1 ~ 5e-3
        ...                     [[1.0, 0.0], [1.0, 1e-5], [1.0, 0.0]],    # sigma_2 / sigma_1 ~ 5e-6
        ...                     [[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]]])   # co-linear, opposite: not equal
        >>> jax.lax.map(final_collapse, states).tolist()
        [False, True, False]
    """
    yes, no = spectrum_certificates(R, rel_tol)
    rank_one = jax.lax.cond(yes | no, lambda R: yes,
                            lambda R: metrics.is_completely_collapsed(metrics.singular_spectrum(R), rel_tol), R)
    mean_norm = jnp.linalg.norm(jnp.mean(R, axis=0))  # the runner's measurement (rows = embeddings)
    return rank_one & (1.0 - mean_norm < rel_tol)


def status_update(R, eta, status, remaining=0, *, rule: str, rel_tol=metrics.DEFAULT_COLLAPSE_RTOL):
    """The sticky status of one run after a chunk: :data:`NONFINITE` or :data:`COLLAPSED` once certain
    (rule ``paper``; the other rules stay :data:`UNDECIDED` and run to the end).

    Example:
        >>> import jax.numpy as jnp
        >>> R = jnp.array([[1.0, 0.0], [1.0, 0.0], [jnp.nan, 0.0]])
        >>> int(status_update(R, 5.0, 0, rule="paper")), int(status_update(R, 5.0, 0, rule="autodiff"))
        (2, 0)
    """
    if rule != "paper":
        return jnp.asarray(status, jnp.int8)
    finite = jnp.all(jnp.isfinite(R))
    new = jnp.where(~finite, NONFINITE, jnp.where(diameter_certificate(R, eta, rel_tol, remaining), COLLAPSED, UNDECIDED))
    return jnp.where(status != UNDECIDED, status, new).astype(jnp.int8)


class StatusPrograms(NamedTuple):
    """The compiled programs of the early stop and the final decision (each ``jit(shard_map(...))``)."""

    status: Callable  #: (X[B, k, n], etas[B], status[B], steps remaining) -> status[B]
    decide: Callable  #: X[B, k, n] -> (collapsed[B], finite[B])


@functools.lru_cache(maxsize=None)
def status_programs(rule: str, rel_tol: float, n_devices: int) -> StatusPrograms:
    """The sticky status update (:func:`status_update`, then :func:`spread_certificate` where the cheap
    :func:`spread_pretest` passes) and the final decision (:func:`final_collapse`) over a batch of runs.

    Example:
        >>> import jax.numpy as jnp
        >>> p = status_programs("paper", 1e-3, 1)
        >>> [c.tolist() for c in p.decide(jnp.stack([jnp.ones((3, 2)), jnp.eye(3)[:, :2]]))]
        [[True, False], [True, True]]
    """
    def status(X, etas, old, remaining):
        update = functools.partial(status_update, rule=rule, rel_tol=rel_tol)
        new = jax.vmap(update, in_axes=(0, 0, 0, None))(X, etas, old, remaining)
        if rule != "paper":
            return new
        # the spread certificate costs a Gram matrix: only when some run passes the cheap test (a
        # conditional on the whole batch; under vmap a per-run one would evaluate both branches)
        need = (new == UNDECIDED) & jax.vmap(spread_pretest)(X, etas)
        # (the false branch returns `need & False`, not a constant: under shard_map both branches must
        # be varying over the devices' runs)
        certify = jax.vmap(spread_certificate, in_axes=(0, 0, None, None))
        certain = jax.lax.cond(jnp.any(need), lambda X, need: need & certify(X, etas, rel_tol, remaining),
                               lambda X, need: need & False, X, need)
        return jnp.where(certain, STAYS_SPREAD, new).astype(jnp.int8)

    def decide_one(R):
        finite = jnp.all(jnp.isfinite(R))
        safe = jnp.where(finite, R, jnp.eye(*R.shape, dtype=R.dtype))  # never factorise NaN
        return final_collapse(safe, rel_tol) & finite, finite

    def decide(X):
        # lax.map: one run at a time, so lax.cond runs only its taken branch (and no batched LAPACK
        # call fans out over the CPU thread pool; see engine.sequential_linalg)
        return jax.lax.map(decide_one, X)

    return StatusPrograms(status=engine.compiled(status, 3, 1, n_devices),
                          decide=engine.compiled(decide, 1, 0, n_devices))


def check_every(steps: int, chunk_runs_per_device: int, k: int, n: int) -> int:
    """Steps between status checks: about ``steps / STATUS_CHECKS``, but at least
    :data:`MIN_CHECK_ELEMENT_STEPS` of work per device, at most one compiled segment
    (:data:`~simulations.collapse.engine.SEGMENT_ELEMENT_STEPS`) and at most ``steps``.

    Example:
        >>> check_every(2000, 1, 1000, 1000), check_every(2000, 5, 10, 10), check_every(7, 1, 3, 3)
        (50, 2000, 7)
    """
    per_step = chunk_runs_per_device * k * n
    segment = max(1, engine.SEGMENT_ELEMENT_STEPS // per_step)
    least = -(-MIN_CHECK_ELEMENT_STEPS // per_step)
    return max(1, min(max(-(-steps // STATUS_CHECKS), least), segment, steps))


class StickyStatus(engine.Observer):
    """Observer: each run's sticky status (:data:`UNDECIDED`, :data:`COLLAPSED`, :data:`NONFINITE`,
    :data:`STAYS_SPREAD`) after every compiled call of :func:`simulations.collapse.engine.drive`; its
    result is ``status[B]`` (int8).

    ``stop_when_decided``: the early stop. The host reads the status of the call dispatched
    :data:`~simulations.collapse.engine.LOOKAHEAD` calls earlier and stops the chunk once every run in
    it is decided. False: the status is tracked while every run is stepped to the end.
    """

    def __init__(self, rule: str, rel_tol: float = metrics.DEFAULT_COLLAPSE_RTOL, *, stop_when_decided: bool):
        self.rule, self.rel_tol, self.stop_when_decided = rule, float(rel_tol), stop_when_decided

    def start(self, run):
        self.programs = status_programs(self.rule, self.rel_tol, run.n_devices)
        self.status = sharding.put_batch(np.zeros(run.size, np.int8), run.n_devices)
        self.pending = []  # statuses dispatched, not yet read
        self.decided = None

    def segment(self, run, records):
        remaining = sharding.put_replicated(np.int32(run.total_steps - run.steps), run.n_devices)
        self.status = self.programs.status(run.X, run.etas, self.status, remaining)
        if not self.stop_when_decided:
            return False
        self.pending.append(self.status)
        if len(self.pending) > engine.LOOKAHEAD:  # read the status of a chunk dispatched earlier
            seen = sharding.fetch(self.pending.pop(0))
            if (seen != UNDECIDED).all():
                self.decided = seen
                return True
        return False

    def end(self, run):
        return self.decided if self.decided is not None else self.status

    def result(self, parts, B):
        return np.concatenate(parts)[:B]


class FinalDecision(engine.Observer):
    """Observer: ``(collapsed[B], finite[B])`` of each run's last state (:func:`final_collapse`; the
    certificates replace the SVD where they settle it). A chunk stopped early is not decided (its
    parts are False: its status decides it)."""

    def __init__(self, rel_tol: float = metrics.DEFAULT_COLLAPSE_RTOL):
        self.rel_tol = float(rel_tol)

    def end(self, run):
        if run.stopped:
            return np.zeros(run.size, bool), np.zeros(run.size, bool)
        return status_programs(run.problem.rule, self.rel_tol, run.n_devices).decide(run.X)

    def result(self, parts, B):
        return np.concatenate([p[0] for p in parts])[:B], np.concatenate([p[1] for p in parts])[:B]


class Outcomes(NamedTuple):
    """Result of :func:`run_outcomes`."""

    collapsed: np.ndarray  #: [B] bool: completely collapsed at the last step (False if not finite)
    finite: np.ndarray  #: [B] bool: the last state is finite
    element_steps: int  #: work done: runs stepped (padding included) x steps x k x min(m, k)
    observed: tuple = ()  #: the results of the ``observers`` passed to :func:`run_outcomes`, in order


def run_outcomes(k, etas, key_data, *, m, steps, rule, tau, dtype, early_stop: bool = True,
                 rel_tol: float = metrics.DEFAULT_COLLAPSE_RTOL, batch: int | None = None,
                 observers=()) -> Outcomes:
    r"""``(collapsed[B], finite[B], element_steps)``: each run's outcome after ``steps`` steps.

    Run b starts from ``initial_embeddings(key_data[b])`` (sphere) and steps ``rule`` with
    ``etas[b]``; ``collapsed`` is complete collapse of the final state (:math:`\sigma_2 < 
ho\sigma_1`
    and :math:`1-\|\mu\| < 
ho`) and False where it is not finite -- the same as
    :func:`simulations.collapse.runner.simulate_keys` followed by
    :func:`simulations.metrics.is_completely_collapsed` with the mean's norm, with the early stop and the certificates of
    the module docstring (``early_stop=False``: every run is stepped to the end; the certificates still
    replace the SVD where they settle the final state). ``batch``: runs per compiled call (default:
    about :data:`~simulations.collapse.engine.CHUNK_ELEMENTS` elements of state per device; pass the
    same value on every call to share one compiled program). ``observers``: more
    :class:`~simulations.collapse.engine.Observer`\ s of the same drive, their results in
    ``Outcomes.observed`` (a :class:`StickyStatus` with ``early_stop=False`` gives every run's status
    beside its final outcome). Arguments are assumed valid.

    A client of :func:`simulations.collapse.engine.drive` with a :class:`StickyStatus` (when
    ``early_stop``) and a :class:`FinalDecision`.

    Example (paper 001, Figure 3: below and above the bound at k = 5):
        >>> from simulations.collapse.runner import seed_key_data
        >>> out = run_outcomes(5, [1.0, 6.0], seed_key_data([0, 0]), m=10, steps=200, rule="paper",
        ...                    tau=None, dtype="float64")
        >>> out.collapsed.tolist(), out.finite.tolist()
        ([False, True], [True, True])
    """
    problem = engine.Problem(k=k, m=m, rule=rule, dtype=dtype)
    n_devices = sharding.device_count()
    B = len(etas)
    chunk = sharding.pad_batch(batch, n_devices) if batch else engine.chunk_size(B, k, problem.n, n_devices)
    every = check_every(steps, chunk // n_devices, k, problem.n)
    plan = [(every, 0)] * (steps // every) + ([(steps % every, 0)] if steps % every else [])
    watch = [StickyStatus(rule, rel_tol, stop_when_decided=True)] if early_stop else []
    driven = engine.drive(problem, etas, key_data, tau=tau, plan=plan, chunk=chunk,
                          observers=[FinalDecision(rel_tol), *watch, *observers])
    final_collapsed, final_finite = driven.results[0]
    status = driven.results[1] if early_stop else np.zeros(B, np.int8)
    undecided = status == UNDECIDED
    collapsed = (status == COLLAPSED) | (undecided & final_collapsed)
    finite = (status == COLLAPSED) | (status == STAYS_SPREAD) | (undecided & final_finite)
    return Outcomes(collapsed, finite, int(driven.steps) * chunk * k * problem.n,
                    tuple(driven.results[1 + len(watch):]))
