"""Loss identities against independent NumPy implementations, prototype geometry, optimiser and metrics."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations.training import losses
import optax

from simulations.training.evaluation import embedding_effective_rank, knn_accuracy
from simulations.training.trainer import make_optimizer

RNG = np.random.default_rng(0)
# float64 throughout (conftest enables x64): agreement to 1e-10 is rounding of sums of ~100 terms.
TOL = 1e-10

# The losses and metrics jitted once per shape, as training and evaluation run them. Called eagerly,
# each of their jnp operations (and each of its gradient's) was a program of its own to trace, lower
# and compile: ~400 programs for this file.
infonce, dcl = jax.jit(losses.infonce), jax.jit(losses.dcl)
supcon = jax.jit(losses.supcon)
vicreg, barlow_twins = jax.jit(losses.vicreg), jax.jit(losses.barlow_twins)
clop_term = jax.jit(losses.clop_term, static_argnames=("similarity",))
view_contrastive = jax.jit(losses.view_contrastive, static_argnums=3)
view_contrastive_grad = jax.jit(jax.grad(losses.view_contrastive, argnums=(0, 1)), static_argnums=3)
view_contrastive_grad_x3 = jax.jit(
    jax.grad(lambda a, b, tau, decoupled: 3.0 * losses.view_contrastive(a, b, tau, decoupled)), static_argnums=3)
reference_grad = {False: jax.jit(jax.grad(losses.infonce, argnums=(0, 1))),
                  True: jax.jit(jax.grad(losses.dcl, argnums=(0, 1)))}


def _unit(z):
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def np_infonce(z1, z2, tau, decoupled=False):
    z = _unit(np.concatenate([z1, z2]))
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        sims = z @ z[i] / tau
        others = [a for a in range(n2) if a != i and (not decoupled or a != j)]
        total += -sims[j] + np.log(np.sum(np.exp(sims[others])))
    return total / n2


def np_supcon(z, y, tau):
    z = _unit(z)
    vals = []
    for i in range(len(z)):
        pos = [p for p in range(len(z)) if p != i and y[p] == y[i]]
        if not pos:
            continue
        sims = z @ z[i] / tau
        log_den = np.log(sum(np.exp(sims[a]) for a in range(len(z)) if a != i))
        vals.append(-np.mean([sims[p] - log_den for p in pos]))
    return np.mean(vals)


@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
def test_infonce_and_dcl_match_numpy(tau):
    z1, z2 = RNG.normal(size=(7, 4)), RNG.normal(size=(7, 4))
    assert abs(float(infonce(z1, z2, tau)) - np_infonce(z1, z2, tau)) < TOL
    assert abs(float(dcl(z1, z2, tau)) - np_infonce(z1, z2, tau, decoupled=True)) < TOL


@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("decoupled", [False, True])
def test_view_contrastive_value_and_gradient_equal_autodiff_of_the_loss(tau, decoupled):
    # Includes a zero row (normalised to zero) and an exact duplicate pair (cosine 1: the largest weight).
    z1, z2 = RNG.normal(size=(7, 4)), RNG.normal(size=(7, 4))
    z1[2] = 0.0
    z2[4] = 3.0 * z1[4]
    reference = dcl if decoupled else infonce
    assert abs(float(view_contrastive(z1, z2, tau, decoupled)) - float(reference(z1, z2, tau))) < TOL
    grads = view_contrastive_grad(z1, z2, tau, decoupled)
    expected = reference_grad[decoupled](z1, z2, tau)
    for g, g0 in zip(grads, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(g0), rtol=1e-9, atol=1e-12)
    scaled = view_contrastive_grad_x3(z1, z2, tau, decoupled)
    np.testing.assert_allclose(np.asarray(scaled), 3.0 * np.asarray(expected[0]), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="tau"):
        losses.view_contrastive(z1, z2, 0.02, decoupled)


def test_supcon_matches_numpy_and_reduces_to_infonce():
    z = RNG.normal(size=(12, 5))
    y = RNG.integers(0, 3, size=12)
    assert abs(float(supcon(z, y, 0.3)) - np_supcon(z, y, 0.3)) < TOL
    z1, z2 = z[:6], z[6:]
    own = np.arange(6)
    assert abs(float(supcon(z, np.concatenate([own, own]), 0.3)) - float(infonce(z1, z2, 0.3))) < TOL


def test_vicreg_and_barlow_match_numpy():
    z1, z2 = RNG.normal(size=(16, 4)), RNG.normal(size=(16, 4))

    def np_vicreg(a, b):
        inv = np.mean((a - b) ** 2)
        def vc(z):
            zc = z - z.mean(0)
            std = np.sqrt(zc.var(0, ddof=1) + 1e-4)
            cov = zc.T @ zc / (len(z) - 1)
            off = cov - np.diag(np.diag(cov))
            return np.mean(np.maximum(0, 1 - std)), np.sum(off**2) / z.shape[1]
        (v1, c1), (v2, c2) = vc(a), vc(b)
        return 25 * inv + 25 * (v1 + v2) / 2 + (c1 + c2)

    def np_bt(a, b):
        sa = (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5)
        sb = (b - b.mean(0)) / np.sqrt(b.var(0) + 1e-5)
        c = sa.T @ sb / len(a)
        return np.sum((1 - np.diag(c)) ** 2) + 0.0051 * (np.sum(c**2) - np.sum(np.diag(c) ** 2))

    assert abs(float(vicreg(z1, z2)) - np_vicreg(z1, z2)) < TOL
    assert abs(float(barlow_twins(z1, z2)) - np_bt(z1, z2)) < TOL


@pytest.mark.parametrize("similarity", losses.SIMILARITIES)
def test_clop_term_zero_on_prototypes_and_known_value(similarity):
    key = jax.random.key(3)
    c = np.asarray(jax.jit(losses.orthonormal_prototypes, static_argnums=(1, 2))(key, 3, 5))
    y = np.array([0, 1, 2, 1])
    assert float(clop_term(4.0 * c[y], y, c, similarity=similarity)) < TOL
    # Embedding on the wrong (orthogonal) prototype: ||c_a - c_b||_2 = sqrt 2, cos = 0.
    z = c[(y + 1) % 3]
    mask = np.array([True, True, False, True])
    expected = {"cosine": 1.0, "euclidean": np.sqrt(2) / 2, "manhattan": None}[similarity]
    if expected is None:
        expected = float(np.mean([np.abs(c[(v + 1) % 3] - c[v]).sum() / 2 for v in [0, 1, 1]]))
    got = float(clop_term(z, y, c, lam=0.5, similarity=similarity, mask=mask))
    assert abs(got - 0.5 * 3 * expected) < 1e-9


def test_clop_rejects_unknown_similarity():
    with pytest.raises(ValueError, match="similarity must be one of"):
        losses.clop_term(np.eye(2), np.arange(2), np.eye(2), similarity="dot")


def test_prototype_geometry():
    key = jax.random.key(7)
    k, d = 10, 32
    # the three constructions in one compiled program (a jit each made three)
    three = jax.jit(lambda key: (losses.orthonormal_prototypes(key, k, d), losses.etf_prototypes(k, d, key=key),
                                 losses.random_prototypes(key, k, d)))
    c, e, r = (np.asarray(p) for p in three(key))
    np.testing.assert_allclose(c @ c.T, np.eye(k), atol=1e-12)  # float64 SVD: orthonormal to rounding
    gram = e @ e.T
    np.testing.assert_allclose(gram, k / (k - 1) * np.eye(k) - 1 / (k - 1), atol=1e-12)
    assert abs(np.linalg.matrix_rank(e, tol=1e-8) - (k - 1)) == 0  # ETF spans k-1 dims
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="k must be <= d"):
        losses.orthonormal_prototypes(key, 4, 3)


@functools.partial(jax.jit, static_argnums=0)
def _gradients_on_a_ray_and_at_zero(name, z1, z2, zeros, ones):
    """``grad`` of the loss ``name`` w.r.t. both views at ``(z1, z2)``, and w.r.t. the first at ``(zeros, ones)``:
    one compiled program per loss (two separate jits made two)."""
    f = getattr(losses, name)
    return jax.grad(f, argnums=(0, 1))(z1, z2), jax.grad(f)(zeros, ones)


@pytest.mark.parametrize("name", ["infonce", "dcl"])
def test_gradients_finite_and_vanish_at_collapse(name):
    v = np.array([[0.3, -1.2, 0.5]])
    z = np.tile(v, (5, 1)) * np.arange(1, 6)[:, None]  # all views on one ray (Lemma 1)
    # Jitted, as training runs them (and one compiled program instead of one per operation).
    (g1, g2), g_zero = _gradients_on_a_ray_and_at_zero(name, z, 2 * z, np.zeros((4, 3)), np.ones((4, 3)))
    # Exactly zero in exact arithmetic; float64 leaves rounding of order 1e-16 relative.
    assert float(np.max(np.abs(g1))) < 1e-12 and float(np.max(np.abs(g2))) < 1e-12
    assert bool(np.all(np.isfinite(g_zero)))


def test_gradients_finite_everywhere():
    z1, z2 = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    c = np.eye(3)
    fns = [lambda a: losses.vicreg(a, z2), lambda a: losses.barlow_twins(a, z2),
           lambda a: losses.supcon(jnp.concatenate([a, z2]), jnp.concatenate([y, y])),
           *[lambda a, s=s: losses.clop_term(a, y, c, similarity=s) for s in losses.SIMILARITIES]]
    at_prototype = [lambda a, s=s: losses.clop_term(a, np.arange(3), c, similarity=s) for s in losses.SIMILARITIES]

    @jax.jit  # jitted, as training runs them: all nine gradients in one compiled program (a jit each made nine)
    def gradients(z, prototypes):
        return [jax.grad(fn)(z) for fn in fns], [jax.grad(fn)(prototypes) for fn in at_prototype]

    away, at = gradients(z1, c)
    assert len(away) == len(fns) == 6 and len(at) == 3
    for g in away:
        assert bool(np.all(np.isfinite(g)))
    for g in at:  # at the prototype itself (distance 0) too
        assert bool(np.all(np.isfinite(g)))


def test_adam_matches_numpy_reference():
    opt = make_optimizer("adam", 0.05)  # the trainer's optax Adam against the textbook formula

    @jax.jit  # as the trainer runs it (eagerly, each operation of the update was a program of its own)
    def step(g, state, p):
        u, state = opt.update(g, state, p)
        return optax.apply_updates(p, u), state

    p = np.array([1.0, -2.0])
    state = jax.jit(opt.init)(p)
    m = v = np.zeros(2)
    pn = np.array([1.0, -2.0])
    for t in range(1, 4):
        g = 2 * pn  # gradient of |p|^2
        p, state = step(g, state, p)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        pn = pn - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(np.asarray(p), pn, rtol=1e-12)


def test_knn_matches_sklearn_and_effective_rank_matches_numpy():
    from sklearn.neighbors import KNeighborsClassifier

    z = RNG.normal(size=(80, 3))
    y = RNG.integers(0, 3, size=80)
    lab = np.zeros(80, bool)
    lab[RNG.permutation(80)[:20]] = True
    clf = KNeighborsClassifier(5).fit(z[lab], y[lab])
    expected = np.mean(clf.predict(z[~lab]) == y[~lab])
    # Ties in the vote may break differently (sklearn: lowest label too); random floats avoid distance ties.
    knn = jax.jit(knn_accuracy, static_argnums=(3, 4))  # as evaluation runs it
    assert abs(float(knn(z, y, lab, 3, 5)) - expected) < 1e-12
    s = np.linalg.svd(z, compute_uv=False)
    p = s / s.sum()
    assert abs(float(jax.jit(embedding_effective_rank)(z)) - np.exp(-np.sum(p * np.log(p)))) < 1e-10


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_indexed_loss_equals_each_named_loss_value_and_gradient(dtype):
    from simulations.training.objectives import LOSSES, contrastive_loss, indexed_loss

    z1 = RNG.normal(size=(12, 3)).astype(dtype)
    z2 = RNG.normal(size=(12, 3)).astype(dtype)
    labels = np.array([0, 1, 2, -1, 0, 1, -1, 2, 0, -1, 1, 2])  # SupCon: some unlabelled rows
    f = indexed_loss(LOSSES, tau=0.5)
    indexed = jax.jit(jax.value_and_grad(lambda a, b, i: f(i, a, b, labels), argnums=(0, 1)))
    for i, name in enumerate(LOSSES):
        value, grads = indexed(z1, z2, np.asarray(i))  # one compilation for every index
        value0, grads0 = jax.jit(jax.value_and_grad(
            lambda a, b: contrastive_loss(name, a, b, labels, 0.5), argnums=(0, 1)))(z1, z2)
        if jax.default_backend() == "cpu":
            # Bit for bit: each branch holds the loss's forward and backward together, as XLA sees
            # them for the named loss. (A plain lax.switch differed by ~1e-8 for VICReg, which Adam
            # amplifies in zero-gradient directions; see indexed_loss.)
            assert float(value) == float(value0), name
            for g, g0 in zip(grads, grads0):
                np.testing.assert_array_equal(np.asarray(g), np.asarray(g0), err_msg=name)
        else:  # other backends may fuse differently: rounding of the dtype only
            rtol = 1e-5 if dtype == "float32" else 1e-12
            np.testing.assert_allclose(float(value), float(value0), rtol=rtol)
            for g, g0 in zip(grads, grads0):
                np.testing.assert_allclose(np.asarray(g), np.asarray(g0), rtol=rtol, atol=rtol)
    assert indexed._cache_size() == 1
    with pytest.raises(ValueError, match="loss must be one of"):
        indexed_loss(("infonce", "simclr"))
