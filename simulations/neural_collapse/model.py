r"""The unconstrained-features model of paper 003: free features, SCL/HSCL/UCL/HUCL risks, Adam.

**Model.** ``k`` classes with ``n`` samples each (``N = kn``; sample ``i`` has label ``i // n``), and
free parameters :math:`x_i\in\mathbb R^d` (``d >= k``) optimised directly. A *feature normalisation
layer* maps them to features (gradients flow through it, as through a network's last layer):

.. math:: z = x \;(\text{none}),\qquad z = x/\max(1,\|x\|)\;(\text{unit ball: the projection onto } \|z\|\le1),
    \qquad z = x/\|x\|\;(\text{unit sphere}).

**Views.** Two views of sample ``i`` are :math:`z^{(v)}_i = \mathrm{norm}(x_i + \sigma\xi^{(v)}_i)`,
:math:`\xi\sim\mathcal N(0, I_d)` drawn afresh at every step (``aug_noise_std`` = :math:`\sigma`; 0 makes the
views identical). Anchors are first views, candidates second views, logits
:math:`\ell_{ij} = z^{(1)\top}_i z^{(2)}_j/\tau`.

**Risks** (the latent-class data model of Arora et al. 2019 that paper 003 studies: a positive pair is
two draws from the same class). Positives of anchor ``i``: :math:`P(i) = \{j\ne i: y_j = y_i\}`, the independent
same-class draw of the population risk (``self_positive=True`` adds the anchor's own second view, SimCLR's
pair; with it, exact NC is no longer the UCL minimiser: see ``nc003.etf_optimal``). Negatives: SCL/HSCL :math:`N(i) = \{j: y_j\ne y_i\}`; UCL/HUCL
:math:`N(i) = \{j \ne i\}`, drawn from the marginal, so same-class "collisions" are negatives too (the
only difference between the supervised and unsupervised risks). Hardening reweights negatives by a
nondecreasing function :math:`\eta` of their similarity :math:`s_{ia} = z^{(1)\top}_i z^{(2)}_a`,
normalised per anchor to mean one,

.. math:: w_{ia} = |N(i)|\,\frac{\eta(s_{ia})}{\sum_{b\in N(i)}\eta(s_{ib})},\qquad
    \eta(s) = e^{\beta s}\ (\text{"exp"}),\quad \eta(s) = \max(1+s, 0)^{\beta}\ (\text{"power"}),

so :math:`\beta = 0` gives :math:`w\equiv1`: HSCL = SCL and HUCL = UCL. The risk is

.. math:: \mathcal R = \frac{1}{N}\sum_i\frac{1}{|P(i)|}\sum_{j\in P(i)}\psi_{ij},\qquad
    \psi_{ij} = \begin{cases}
        \log\big(1 + \sum_{a\in N(i)} w_{ia}e^{\ell_{ia}-\ell_{ij}}\big) & \text{infonce}\\
        \frac{1}{|N(i)|}\sum_{a} w_{ia}\,\log(1+e^{\ell_{ia}-\ell_{ij}}) & \text{logistic}\\
        \frac{1}{|N(i)|}\sum_{a} w_{ia}\,\max(0, s_{ia}-s_{ij}+m) & \text{hinge (margin } m)
    \end{cases}

each nondecreasing in every negative similarity, as paper 003's "general loss functions" require.

**CLOP** (paper 001 Section 4, Eq. 4): optionally :math:`+\lambda\sum_{i\in S}(1-\cos(z_i, c_{y_i}))`
with orthonormal prototypes :math:`c` and :math:`S` the first ``round(fraction * n)`` samples of each
class.

**Trainer.** :func:`train` runs Adam (``optax.scale_by_adam``; the learning rate is applied outside so
it can be traced) on every run of a grid at once: one ``vmap`` over runs whose loss kind, normalisation,
hardness, CLOP weight, labelled fraction, learning rate and seed are traced arrays, one compiled
program per grid shape. Keys: run ``r`` uses ``fold_in(key(root_seed), seed_r)``, split by
``fold_in`` into initialisation, view noise (``fold_in`` per step) and prototypes, so a run's result
depends only on its seed, not on its place in the grid.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from simulations import collapse_metrics as cm
from simulations.config import DTYPES, check_choice, check_int, check_real, experiment_config

__all__ = [
    "NORMALISATIONS",
    "LOSS_KINDS",
    "PSIS",
    "HARDENINGS",
    "ARRANGEMENTS",
    "UFMConfig",
    "normalise_features",
    "hardening_weights",
    "contrastive_risk",
    "arrangement",
    "orthonormal_frame",
    "grid_runs",
    "train",
]

#: Feature normalisations, in code order (the traced integer code is the index).
NORMALISATIONS = ("none", "ball", "sphere")
#: The four risks of paper 003: supervised / unsupervised, plain / hard.
LOSS_KINDS = ("SCL", "HSCL", "UCL", "HUCL")
#: Loss functions psi (all nondecreasing in each negative similarity).
PSIS = ("infonce", "logistic", "hinge")
#: Hardening functions eta (nondecreasing, positive).
HARDENINGS = ("exp", "power")
#: Constructed arrangements of :func:`arrangement`.
ARRANGEMENTS = ("etf", "orthonormal", "inverted_groups", "random", "collapsed", "etf_spread")

_FLOOR = 1e-12
_HIGHEST = jax.lax.Precision.HIGHEST


@experiment_config
class UFMConfig:
    """Static sizes and fixed hyperparameters of an unconstrained-features run (names as in :mod:`simulations.config`).

    Attributes:
        num_classes: classes (>= 2). samples_per_class: samples of each class (>= 2; >= 1 with
        ``self_positive``). embed_dim: feature dimension (>= num_classes).
        steps: Adam steps. record_every: steps between metric records (divides ``steps``).
        tau: temperature of the logits. aug_noise_std: per-view perturbation sigma.
        init_scale: initial features are ``init_scale * N(0, I_d / d)`` (norm about ``init_scale``).
        psi: loss function (:data:`PSIS`). hardening: :data:`HARDENINGS`. margin: hinge margin.
        self_positive: the anchor's own second view is one of its positives (see :func:`contrastive_risk`).
        dtype: ``"float32"`` or ``"float64"`` (float64 needs ``jax_enable_x64``).

    Raises:
        ValueError: naming the first bad field, when built.

    Example:
        >>> UFMConfig(num_classes=3, embed_dim=2)
        Traceback (most recent call last):
        ...
        ValueError: embed_dim must be an integer >= 3; got 2
    """

    num_classes: int = 4
    samples_per_class: int = 8
    embed_dim: int = 8
    steps: int = 2000
    record_every: int = 50
    tau: float = 0.5
    aug_noise_std: float = 0.05
    init_scale: float = 1.0
    psi: str = "infonce"
    hardening: str = "exp"
    margin: float = 1.0
    self_positive: bool = False
    dtype: str = "float32"

    def __post_init__(self):
        check_int("num_classes", self.num_classes, 2)
        check_int("samples_per_class", self.samples_per_class, 1 if self.self_positive else 2)
        check_int("embed_dim", self.embed_dim, self.num_classes)
        check_int("record_every", self.record_every, 1)
        if self.steps < 1 or self.steps % self.record_every:
            raise ValueError(f"steps ({self.steps}) must be a positive multiple of record_every ({self.record_every})")
        check_real("tau", self.tau)
        check_real("aug_noise_std", self.aug_noise_std, low_open=False)
        check_choice("psi", self.psi, PSIS)
        check_choice("hardening", self.hardening, HARDENINGS)
        check_choice("dtype", self.dtype, DTYPES)

    @property
    def labels(self) -> np.ndarray:
        """``[N]`` labels, class-major: ``i // n``."""
        return np.repeat(np.arange(self.num_classes), self.samples_per_class)


def normalise_features(X, code) -> jax.Array:
    r"""The feature normalisation layer: code 0 none, 1 unit ball, 2 unit sphere (:data:`NORMALISATIONS`).

    .. math:: z = x,\qquad z = x/\max(1, \|x\|),\qquad z = x/\max(\|x\|, 10^{-12})

    ``code`` may be traced; the gradient is finite everywhere.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> f = jax.jit(normalise_features)      # code traced: one program serves every code, as in train
        >>> x = jnp.array([[3.0, 4.0], [0.3, 0.4]])
        >>> [np.round(np.asarray(f(x, c)), 6).tolist() for c in (1, 2)]
        [[[0.6, 0.8], [0.3, 0.4]], [[0.6, 0.8], [0.6, 0.8]]]
    """
    X = jnp.asarray(X)
    norm = jnp.sqrt(jnp.maximum(jnp.sum(X * X, axis=-1, keepdims=True), _FLOOR**2))
    ball = X / jnp.maximum(norm, 1.0)
    sphere = X / norm
    code = jnp.asarray(code)
    return jnp.where(code == 0, X, jnp.where(code == 1, ball, sphere))


def _log_eta(s, beta, hardening: str):
    if hardening == "exp":
        return beta * s
    if hardening == "power":
        return beta * jnp.log(jnp.maximum(1.0 + s, _FLOOR))
    raise ValueError(f"hardening must be one of {', '.join(HARDENINGS)}; got {hardening!r}")


def hardening_weights(s, negatives, beta, hardening: str = "exp", normalised: bool = True) -> jax.Array:
    r"""Weights of the negatives of each anchor (rows), :math:`w_{ia} = |N(i)|\,\eta(s_{ia})/\sum_{b\in N(i)}\eta(s_{ib})`.

    Zero off the negative set. ``normalised=False`` returns :math:`\eta(s_{ia})` itself (the variant
    under which the lower bound HSCL >= SCL can fail: see :mod:`claims.nc003`).

    Args:
        s: ``[N, M]`` similarities (raw inner products).
        negatives: ``[N, M]`` booleans.
        beta: hardness (traced), >= 0 for hardening.
        hardening: ``"exp"`` or ``"power"`` (static).
        normalised: normalise per anchor to mean one (static).

    Returns:
        ``[N, M]`` weights.

    Example (beta = 0: every negative weighs 1, the plain risk):
        >>> import jax, jax.numpy as jnp
        >>> weights = jax.jit(hardening_weights)   # beta traced, as inside contrastive_risk
        >>> s = jnp.array([[0.0, 0.5, -0.5]]); neg = jnp.array([[False, True, True]])
        >>> weights(s, neg, 0.0).tolist()
        [[0.0, 1.0, 1.0]]
        >>> [round(v, 4) for v in weights(s, neg, 1.0)[0].tolist()]   # 2 e^{.5}/(e^{.5}+e^{-.5})
        [0.0, 1.4621, 0.5379]
    """
    s = jnp.asarray(s)
    log_eta = _log_eta(s, beta, hardening)
    if not normalised:
        return jnp.where(negatives, jnp.exp(log_eta), 0.0)
    logits = jnp.where(negatives, log_eta, -jnp.inf)
    count = jnp.sum(negatives, axis=-1, keepdims=True)
    safe = jnp.where(count > 0, logits, 0.0)
    w = jax.nn.softmax(safe, axis=-1) * count
    return jnp.where(negatives, w, 0.0)


def contrastive_risk(
    Z1,
    Z2,
    labels,
    *,
    unsupervised,
    beta,
    tau,
    psi: str = "infonce",
    hardening: str = "exp",
    margin: float = 1.0,
    normalised_weights: bool = True,
    self_positive: bool = False,
) -> jax.Array:
    r"""The SCL / HSCL / UCL / HUCL risk of paper 003 on given features (see the module docstring).

    Args:
        Z1: ``[N, d]`` first-view features (anchors).
        Z2: ``[N, d]`` second-view features (candidates); pass ``Z1`` for identical views.
        labels: ``[N]`` integer labels.
        unsupervised: traced bool: UCL/HUCL negatives (all ``j != i``) instead of SCL's (other classes).
        beta: hardness (traced); 0 gives SCL / UCL.
        tau: temperature (traced).
        psi: ``"infonce"``, ``"logistic"`` or ``"hinge"`` (static).
        hardening: ``"exp"`` or ``"power"`` (static).
        margin: hinge margin.
        normalised_weights: per-anchor mean-one weights (static; see :func:`hardening_weights`).
        self_positive: count the anchor's own second view among its positives (static; SimCLR's pair).
            Default False: a positive is another same-class sample, the independent same-class draw of
            the latent-class population risk (so ``n >= 2`` is needed for any positive).

    Returns:
        Scalar risk.

    Raises:
        ValueError: unknown ``psi`` or ``hardening``.

    Example (NC on an ETF of 3 classes in the plane, 2 samples each, identical views, SCL, infonce, tau = 1):
        >>> import jax, jax.numpy as jnp
        >>> etf = [[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]]
        >>> Z, y = jnp.array(etf + etf), jnp.array([0, 1, 2, 0, 1, 2])
        >>> r = jax.jit(contrastive_risk)(Z, Z, y, unsupervised=False, beta=0.0, tau=1.0)  # as train runs it
        >>> bool(np.isclose(float(r), np.log(1 + 4 * np.exp(-1.5))))   # log(1 + sum over 4 negatives of e^{-1/2 - 1})
        True
    """
    if psi not in PSIS:
        raise ValueError(f"psi must be one of {', '.join(PSIS)}; got {psi!r}")
    Z1, Z2 = jnp.asarray(Z1), jnp.asarray(Z2)
    labels = jnp.asarray(labels)
    N = Z1.shape[0]
    s = jnp.einsum("id,jd->ij", Z1, Z2, precision=_HIGHEST)
    logit = s / tau
    same = labels[:, None] == labels[None, :]
    eye = jnp.eye(N, dtype=bool)
    positives = same if self_positive else same & ~eye
    negatives = jnp.where(jnp.asarray(unsupervised), ~eye, ~same)
    w = hardening_weights(s, negatives, beta, hardening, normalised_weights)
    n_neg = jnp.maximum(jnp.sum(negatives, axis=1), 1)
    if psi == "infonce":
        # log(1 + sum_a w_ia e^{l_ia - l_ij}) = softplus(LSE_a(log w_ia + l_ia) - l_ij)
        lw = jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)) + logit, -jnp.inf)
        lse = jax.nn.logsumexp(lw, axis=1)
        lse = jnp.where(jnp.isfinite(lse), lse, -1e30)
        per_pair = jax.nn.softplus(lse[:, None] - logit)  # [i, j]
    else:
        if psi == "logistic":
            f = jax.nn.softplus(logit[:, None, :] - logit[:, :, None])  # [i, j, a]: l_ia - l_ij
        else:
            f = jax.nn.relu(s[:, None, :] - s[:, :, None] + margin)
        per_pair = jnp.einsum("ia,ija->ij", w, f, precision=_HIGHEST) / n_neg[:, None]
    n_pos = jnp.maximum(jnp.sum(positives, axis=1), 1)
    per_anchor = jnp.sum(jnp.where(positives, per_pair, 0.0), axis=1) / n_pos
    return jnp.mean(per_anchor)


def orthonormal_frame(key, k: int, d: int, dtype=jnp.float32) -> jax.Array:
    r"""``k`` orthonormal rows in :math:`\mathbb R^d` from the QR factor of a Gaussian (CLOP's prototypes, 001 Sec. 4).

    Example:
        >>> import jax
        >>> c = np.asarray(jax.jit(orthonormal_frame, static_argnums=(1, 2))(jax.random.key(0), 3, 5))
        >>> bool(np.allclose(c @ c.T, np.eye(3), atol=1e-5))
        True
    """
    q, _ = jnp.linalg.qr(jax.random.normal(key, (d, k), dtype=dtype))
    return q.T


def arrangement(name: str, k: int, n: int, d: int, key=None, spread: float = 0.3) -> jax.Array:
    r"""Constructed unit-norm features ``[k n, d]`` (class-major) for comparing risks (claim ``nc003.etf_optimal``).

    * ``etf``: every sample on its class vertex of a simplex ETF (neural collapse);
    * ``orthonormal``: class means on orthonormal axes (CLOP's target), collapsed within class;
    * ``inverted_groups``: paper 001 Section 3.2's third optimum of :math:`\mathcal L_{class}`: classes in
      antipodal pairs :math:`\pm e_1, \pm e_2, \dots` (``k`` even);
    * ``random``: every sample uniform on the sphere (needs ``key``);
    * ``collapsed``: every sample at :math:`e_1`;
    * ``etf_spread``: ETF class vertices plus within-class Gaussian spread ``spread`` (normalised; needs ``key``).

    Raises:
        ValueError: unknown name, ``k > d``, odd ``k`` for ``inverted_groups``, missing key.

    Example:
        >>> Z = np.asarray(arrangement("inverted_groups", 4, 2, 4))
        >>> (Z[::2] @ Z[::2].T).tolist()     # class means e1, -e1, e2, -e2
        [[1.0, -1.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0], [0.0, 0.0, -1.0, 1.0]]
    """
    if name not in ARRANGEMENTS:
        raise ValueError(f"arrangement must be one of {', '.join(ARRANGEMENTS)}; got {name!r}")
    if k > d:
        raise ValueError(f"k must be <= d; got k={k}, d={d}")
    if name in ("random", "etf_spread") and key is None:
        raise ValueError(f"arrangement {name!r} needs a key")
    eye = jnp.eye(k, d)
    if name in ("etf", "etf_spread"):
        means = jnp.sqrt(k / (k - 1)) * (eye - jnp.mean(eye, axis=0, keepdims=True))
    elif name == "orthonormal":
        means = eye
    elif name == "inverted_groups":
        if k % 2:
            raise ValueError(f"inverted_groups needs an even k; got {k}")
        axes = jnp.eye(k // 2, d)
        means = jnp.stack([axes, -axes], axis=1).reshape(k, d)
    elif name == "collapsed":
        means = jnp.tile(jnp.eye(1, d), (k, 1))
    else:
        return normalise_features(jax.random.normal(key, (k * n, d)), 2)
    Z = jnp.repeat(means, n, axis=0)
    if name == "etf_spread":
        Z = normalise_features(Z + spread * jax.random.normal(key, Z.shape), 2)
    return Z


def grid_runs(losses=LOSS_KINDS, normalisations=NORMALISATIONS, betas=(2.0, 5.0), seeds=3,
              lam: float = 0.0, fraction: float = 0.0, lr: float = 0.01) -> dict:
    r"""Flatten a grid into per-run arrays for :func:`train` (``beta = 0`` for SCL/UCL, each of ``betas`` for HSCL/HUCL).

    Returns:
        dict of equal-length arrays ``unsupervised``, ``norm_code``, ``beta``, ``lam``, ``fraction``,
        ``lr``, ``seed`` and the lists ``loss`` / ``normalisation`` naming each run.

    Raises:
        ValueError: unknown loss or normalisation, a hardness <= 0, or seeds < 1.

    Example:
        >>> g = grid_runs(("SCL", "HSCL"), ("sphere",), betas=(1.0, 4.0), seeds=2)
        >>> g["loss"], g["beta"].tolist()
        (['SCL', 'SCL', 'HSCL', 'HSCL', 'HSCL', 'HSCL'], [0.0, 0.0, 1.0, 1.0, 4.0, 4.0])
    """
    bad = [v for v in losses if v not in LOSS_KINDS] + [v for v in normalisations if v not in NORMALISATIONS]
    if bad:
        raise ValueError(f"unknown loss or normalisation {bad[0]!r}; losses: {', '.join(LOSS_KINDS)}; "
                         f"normalisations: {', '.join(NORMALISATIONS)}")
    if any(not b > 0 for b in betas):
        raise ValueError(f"hardness levels must be > 0; got {list(betas)}")
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1; got {seeds}")
    rows = []
    for loss in losses:
        for norm in normalisations:
            for beta in (betas if loss.startswith("H") else (0.0,)):
                for seed in range(seeds):
                    rows.append((loss, norm, float(beta), seed))
    return {
        "loss": [r[0] for r in rows],
        "normalisation": [r[1] for r in rows],
        "unsupervised": np.array([r[0].endswith("UCL") for r in rows]),
        "norm_code": np.array([NORMALISATIONS.index(r[1]) for r in rows], dtype=np.int32),
        "beta": np.array([r[2] for r in rows]),
        "lam": np.full(len(rows), float(lam)),
        "fraction": np.full(len(rows), float(fraction)),
        "lr": np.full(len(rows), float(lr)),
        "seed": np.array([r[3] for r in rows], dtype=np.int32),
    }


_METRIC_KEYS = ("risk", "nc1", "within_between", "nc2", "nc2_centred", "orthonormal_distance", "effective_rank",
                "rankme", "dimension_ratio", "class", "mean_norm")


def _run_fn(config: UFMConfig, root_seed: int):
    cfg = config
    labels = jnp.asarray(cfg.labels)
    dtype = jnp.dtype(cfg.dtype)
    N = cfg.num_classes * cfg.samples_per_class
    within_index = jnp.arange(N) % cfg.samples_per_class
    opt = optax.scale_by_adam()
    chunks = cfg.steps // cfg.record_every

    def risk_of(Z1, Z2, unsup, beta):
        return contrastive_risk(Z1, Z2, labels, unsupervised=unsup, beta=beta, tau=cfg.tau, psi=cfg.psi,
                                hardening=cfg.hardening, margin=cfg.margin, self_positive=cfg.self_positive)

    def one(unsup, code, beta, lam, fraction, lr, seed):
        key = jax.random.fold_in(jax.random.key(root_seed), seed)
        k_init, k_noise, k_proto = (jax.random.fold_in(key, i) for i in range(3))
        X0 = cfg.init_scale * jax.random.normal(k_init, (N, cfg.embed_dim), dtype) / np.sqrt(cfg.embed_dim)
        protos = orthonormal_frame(k_proto, cfg.num_classes, cfg.embed_dim, dtype)
        labelled = within_index < jnp.round(fraction * cfg.samples_per_class)

        def clop(Z):
            Zn = normalise_features(Z, 2)
            per = 1.0 - jnp.sum(Zn * protos[labels], axis=-1)
            return lam * jnp.sum(jnp.where(labelled, per, 0.0))

        def loss(X, t):
            e = jax.random.normal(jax.random.fold_in(k_noise, t), (2, N, cfg.embed_dim), dtype)
            Z1 = normalise_features(X + cfg.aug_noise_std * e[0], code)
            Z2 = normalise_features(X + cfg.aug_noise_std * e[1], code)
            return risk_of(Z1, Z2, unsup, beta) + clop(normalise_features(X, code))

        def record(X):
            Z = normalise_features(X, code)
            out = cm.summary(Z, labels, cfg.num_classes)
            out["risk"] = risk_of(Z, Z, unsup, beta)
            out["mean_norm"] = jnp.mean(jnp.linalg.norm(Z, axis=-1))
            return {name: out[name] for name in _METRIC_KEYS}

        def step(t, carry):
            X, state = carry
            g = jax.grad(loss)(X, t)
            upd, state = opt.update(g, state)
            return X - lr * upd, state

        def chunk(carry, c):
            rec = record(carry[0])  # record at the start of the chunk, then its steps
            stop = jnp.minimum((c + 1) * cfg.record_every, cfg.steps)  # the last chunk has no steps
            return jax.lax.fori_loop(c * cfg.record_every, stop, step, carry), rec

        (X, _), recs = jax.lax.scan(chunk, (X0, opt.init(X0)), jnp.arange(chunks + 1))
        return recs, normalise_features(X, code)

    return one


@functools.lru_cache(maxsize=8)
def _compiled(config: UFMConfig, root_seed: int):
    """The jitted, vmapped trainer for one static configuration (cached: a new grid of traced values reuses it)."""
    return jax.jit(jax.vmap(_run_fn(config, root_seed)))


def train(config: UFMConfig, runs: dict, root_seed: int = 0) -> dict:
    r"""Run Adam on every run of a grid in one compiled, vmapped program; record collapse metrics.

    Args:
        config: static sizes and hyperparameters.
        runs: per-run arrays as made by :func:`grid_runs` (``unsupervised``, ``norm_code``, ``beta``,
            ``lam``, ``fraction``, ``lr``, ``seed``); extra keys are ignored.
        root_seed: root of the key tree.

    Returns:
        dict of NumPy arrays: ``steps`` ``[T+1]`` (record times, 0 first) and for each metric of
        :func:`simulations.collapse_metrics.summary` plus ``risk`` (noise-free views) and ``mean_norm``
        an array ``[R, T+1]``; ``features`` ``[R, N, d]`` final normalised features; ``labels``.

    Example (two runs, 20 steps; the first record is the random start; compiling takes seconds, so the
    default suite skips it and ``tests/simulations/test_nc_collapse.py`` runs the trainer under ``slow``):
        >>> cfg = UFMConfig(num_classes=3, samples_per_class=2, embed_dim=3, steps=20, record_every=10)
        >>> out = train(cfg, grid_runs(("SCL",), ("sphere",), seeds=2))  # doctest: +SKIP
        >>> out["nc2"].shape, out["steps"].tolist(), out["features"].shape  # doctest: +SKIP
        ((2, 3), [0, 10, 20], (2, 6, 3))
    """
    fn = _compiled(config, int(root_seed))
    dtype = jnp.dtype(config.dtype)
    args = (jnp.asarray(runs["unsupervised"], bool), jnp.asarray(runs["norm_code"], jnp.int32),
            jnp.asarray(runs["beta"], dtype), jnp.asarray(runs["lam"], dtype), jnp.asarray(runs["fraction"], dtype),
            jnp.asarray(runs["lr"], dtype), jnp.asarray(runs["seed"], jnp.int32))
    recs, final = fn(*args)
    out = {name: np.asarray(v) for name, v in recs.items()}
    out["steps"] = np.arange(config.steps // config.record_every + 1) * config.record_every
    out["features"] = np.asarray(final)
    out["labels"] = config.labels
    return out
