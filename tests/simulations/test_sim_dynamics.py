"""Update rules: the three rules agree where the maths says they must, and the fused kernel equals the plain one.

The starts are drawn and the references computed in NumPy, and the rules under test run jitted: each
eager JAX operation is a program of its own (traced, lowered and looked up once per shape and dtype),
which made this file some 300 programs; the assertions are about the numbers, not about eager dispatch."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import simulations
from simulations.collapse import dynamics, engine


def _unit(k, m, seed):
    """``[m, k]`` i.i.d. uniform unit columns (Theorem 1's setting), drawn in NumPy."""
    g = np.random.default_rng(seed).standard_normal((m, k))
    return g / np.linalg.norm(g, axis=0)


def test_paper_step_matches_appendix_d_formula():
    # Independent NumPy transcription of Appendix D: x_i - eta/(k-1) (k mu - x_i), then normalise.
    X = _unit(7, 11, 0)
    eta, k = 1.7, 7
    mu = X.mean(axis=1, keepdims=True)
    Y = X - eta / (k - 1) * (k * mu - X)
    Y /= np.linalg.norm(Y, axis=0)
    # 1e-13: a handful of float64 roundings on O(1) numbers.
    np.testing.assert_allclose(np.asarray(jax.jit(dynamics.paper_step)(X, eta)), Y, atol=1e-13)


@pytest.mark.parametrize("k", [3, 10, 40])
def test_row_kernel_follows_the_plain_step_for_many_steps(k):
    X = _unit(k, 50, 1)
    R = X.T
    both = jax.jit(lambda X, R: (dynamics.paper_step(X, 1.3), dynamics.paper_step_rows(R, 1.3)))
    for _ in range(200):
        X, R = both(X, R)
    # 1e-10 after 200 steps: per-step rounding ~1e-16 times a modest growth factor; the dynamics
    # contract towards the rank-(k-1) state at eta = 1.3 (well below the bound), so errors do not blow up.
    np.testing.assert_allclose(np.asarray(R).T, np.asarray(X), atol=1e-10)


#: 300 runner steps (engine.apply_steps) jitted once per state shape and dtype, eta traced as the runner traces it:
#: the (10, 1.3) and (10, 3.0) cases below share one program per dtype (eta a closure constant made one each)
_APPLY_300 = jax.jit(lambda R, eta: engine.apply_steps("paper", 300, R, etas=jnp.full(1, eta, R.dtype), tau=None))


@pytest.mark.parametrize("k, eta", [(10, 1.3), (10, 3.0), (40, 2.2), (200, 1.0)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_runner_steps_with_unit_rows_follow_the_plain_step(k, eta, dtype):
    # The runner takes unit_rows=True steps, with an exact step first, every UNIT_ROW_STEPS steps and at
    # the end of a call (simulations.collapse.engine.apply_steps). Against the plain column step, for
    # 300 steps below and above the bound (eta = 3 at k = 10 and 2.2 at k = 40 collapse, where norm
    # errors are damped, eta = 1.3 and 1.0 stay spread, where they are carried), from embeddings that
    # are not unit (as the Gaussian initialisation of Figure 4 hands them over): the same trajectory to
    # rounding, and unit rows at the end.
    with engine.float64_scope(dtype):
        X = _unit(k, k, 4).astype(dtype)
        X = X * (1 + 0.2 * np.cos(np.arange(k, dtype=dtype)))  # column norms from 0.8 to 1.2
        R = X.T[None]
        paper_step = jax.jit(dynamics.paper_step)
        for _ in range(300):
            X = paper_step(X, eta)
        R = _APPLY_300(R, np.asarray(eta, dtype))
        R = np.asarray(R)[0]
        eps = float(jnp.finfo(dtype).eps)
        # 100 eps: measured at most 23 eps here (20 eps from the earlier JAX-drawn starts), as for the exact
        # row kernel (at most 19 eps): rounding; the norms within 2 eps
        np.testing.assert_allclose(R.T, np.asarray(X), atol=100 * eps)
        np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1.0, atol=8 * eps)


def test_autodiff_gradient_scale_equals_paper_step_without_normalisation():
    # Without the normalisation inside the loss, k/2 * grad of the mean cosine over ordered pairs of
    # unit vectors equals (1/(k-1)) sum_{j != i} x_j, i.e. the paper step direction.
    k = 6
    X = _unit(k, 9, 2)

    def raw_mean_cos(Z):
        g = Z.T @ Z
        return (jnp.sum(g) - jnp.trace(g)) / (k * (k - 1))

    grad = jax.jit(jax.grad(raw_mean_cos))(X)
    others = (np.sum(X, axis=1, keepdims=True) - X) / (k - 1)
    np.testing.assert_allclose(k / 2 * np.asarray(grad), np.asarray(others), atol=1e-14)  # pure rounding


def test_autodiff_step_is_the_tangent_projection_of_the_paper_step():
    k, eta = 5, 0.8
    X = _unit(k, 8, 3)
    others = (np.sum(X, axis=1, keepdims=True) - X) / (k - 1)
    tangent = others - X * np.sum(X * others, axis=0, keepdims=True)
    expected = X - eta * tangent
    expected /= np.linalg.norm(expected, axis=0)
    np.testing.assert_allclose(np.asarray(jax.jit(dynamics.autodiff_step)(X, eta)), expected, atol=1e-13)


def test_infonce_loss_matches_direct_formula():
    X = _unit(4, 6, 4)
    tau = 0.3
    C = X.T @ X
    expected = sum(-np.log(np.exp(C[i, i] / tau) / np.exp(C[i] / tau).sum()) for i in range(4))
    assert float(jax.jit(dynamics.infonce_loss)(X, tau)) == pytest.approx(expected, rel=1e-12)


def test_steps_keep_unit_columns():
    X = _unit(6, 9, 5)
    step = jax.jit(simulations.step, static_argnames=("rule", "tau"))
    for rule, tau in [("paper", None), ("autodiff", None), ("infonce", 0.5)]:
        Y = step(X, 0.7, rule=rule, tau=tau)
        np.testing.assert_allclose(np.linalg.norm(np.asarray(Y), axis=0), 1.0, atol=1e-14)


@pytest.mark.parametrize("rule,tau", [("nope", None), ("infonce", None), ("infonce", 0.0), ("infonce", float("nan")),
                                      ("paper", 0.5), ("autodiff", 1.0)])  # a temperature is refused, not ignored
def test_step_rejects_bad_rule_or_tau(rule, tau):
    with pytest.raises(ValueError, match="rule|tau"):
        simulations.step(np.eye(3), 0.5, rule=rule, tau=tau)
