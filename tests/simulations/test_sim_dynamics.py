"""Update rules: the three rules agree where the maths says they must, and the fused kernel equals the plain one."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import simulations
from simulations.collapse import dynamics
from simulations.collapse.runner import initial_embeddings


def _unit(k, m, seed):
    return initial_embeddings(jax.random.key(seed), k, m)


def test_paper_step_matches_appendix_d_formula():
    # Independent NumPy transcription of Appendix D: x_i - eta/(k-1) (k mu - x_i), then normalise.
    X = np.asarray(_unit(7, 11, 0))
    eta, k = 1.7, 7
    mu = X.mean(axis=1, keepdims=True)
    Y = X - eta / (k - 1) * (k * mu - X)
    Y /= np.linalg.norm(Y, axis=0)
    # 1e-13: a handful of float64 roundings on O(1) numbers.
    np.testing.assert_allclose(np.asarray(dynamics.paper_step(jnp.asarray(X), eta)), Y, atol=1e-13)


@pytest.mark.parametrize("k", [3, 10, 40])
def test_row_kernel_follows_the_plain_step_for_many_steps(k):
    X = _unit(k, 50, 1)
    R = X.T
    for _ in range(200):
        X = dynamics.paper_step(X, 1.3)
        R = dynamics.paper_step_rows(R, 1.3)
    # 1e-10 after 200 steps: per-step rounding ~1e-16 times a modest growth factor; the dynamics
    # contract towards the rank-(k-1) state at eta = 1.3 (well below the bound), so errors do not blow up.
    np.testing.assert_allclose(np.asarray(R.T), np.asarray(X), atol=1e-10)


@pytest.mark.parametrize("k, eta", [(10, 1.3), (10, 3.0), (40, 2.2), (200, 1.0)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_runner_steps_with_unit_rows_follow_the_plain_step(k, eta, dtype):
    # The runner takes unit_rows=True steps, with an exact step first, every UNIT_ROW_STEPS steps and at
    # the end of a call (simulations.collapse.engine.apply_steps). Against the plain column step, for
    # 300 steps below and above the bound (eta = 3 at k = 10 and 2.2 at k = 40 collapse, where norm
    # errors are damped, eta = 1.3 and 1.0 stay spread, where they are carried), from embeddings that
    # are not unit (as the Gaussian initialisation of Figure 4 hands them over): the same trajectory to
    # rounding, and unit rows at the end.
    from simulations.collapse import engine

    with engine.float64_scope(dtype):
        X = _unit(k, k, 4).astype(dtype)
        X = X * (1 + 0.2 * jnp.cos(jnp.arange(k, dtype=dtype)))  # column norms from 0.8 to 1.2
        R = X.T[None]
        for _ in range(300):
            X = dynamics.paper_step(X, eta)
        R = jax.jit(lambda R: engine.apply_steps("paper", 300, R, etas=jnp.full(1, eta, dtype), tau=None))(R)[0]
        eps = float(jnp.finfo(dtype).eps)
        # 100 eps: measured at most 20 eps here, as for the exact row kernel (at most 19 eps): rounding
        np.testing.assert_allclose(np.asarray(R.T), np.asarray(X), atol=100 * eps)
        np.testing.assert_allclose(np.asarray(jnp.linalg.norm(R, axis=1)), 1.0, atol=8 * eps)


def test_autodiff_gradient_scale_equals_paper_step_without_normalisation():
    # Without the normalisation inside the loss, k/2 * grad of the mean cosine over ordered pairs of
    # unit vectors equals (1/(k-1)) sum_{j != i} x_j, i.e. the paper step direction.
    k = 6
    X = _unit(k, 9, 2)

    def raw_mean_cos(Z):
        g = Z.T @ Z
        return (jnp.sum(g) - jnp.trace(g)) / (k * (k - 1))

    grad = jax.grad(raw_mean_cos)(X)
    others = (jnp.sum(X, axis=1, keepdims=True) - X) / (k - 1)
    np.testing.assert_allclose(np.asarray(k / 2 * grad), np.asarray(others), atol=1e-14)  # pure rounding


def test_autodiff_step_is_the_tangent_projection_of_the_paper_step():
    k, eta = 5, 0.8
    X = _unit(k, 8, 3)
    others = (jnp.sum(X, axis=1, keepdims=True) - X) / (k - 1)
    tangent = others - X * jnp.sum(X * others, axis=0, keepdims=True)
    expected = dynamics.normalize_columns(X - eta * tangent)
    np.testing.assert_allclose(np.asarray(dynamics.autodiff_step(X, eta)), np.asarray(expected), atol=1e-13)


def test_infonce_loss_matches_direct_formula():
    X = np.asarray(_unit(4, 6, 4))
    tau = 0.3
    C = X.T @ X
    expected = sum(-np.log(np.exp(C[i, i] / tau) / np.exp(C[i] / tau).sum()) for i in range(4))
    assert float(dynamics.infonce_loss(jnp.asarray(X), tau)) == pytest.approx(expected, rel=1e-12)


def test_steps_keep_unit_columns():
    X = _unit(6, 9, 5)
    for rule, tau in [("paper", None), ("autodiff", None), ("infonce", 0.5)]:
        Y = simulations.step(X, 0.7, rule=rule, tau=tau)
        np.testing.assert_allclose(np.linalg.norm(np.asarray(Y), axis=0), 1.0, atol=1e-14)


@pytest.mark.parametrize("rule,tau", [("nope", None), ("infonce", None), ("infonce", 0.0), ("infonce", float("nan")),
                                      ("paper", 0.5), ("autodiff", 1.0)])  # a temperature is refused, not ignored
def test_step_rejects_bad_rule_or_tau(rule, tau):
    with pytest.raises(ValueError, match="rule|tau"):
        simulations.step(jnp.eye(3), 0.5, rule=rule, tau=tau)
