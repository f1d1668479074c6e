r"""Monte Carlo estimates of the Theorem 1 quantities on the sphere (numpy, fixed seeds).

The numeric half of every symbolic check: draw k i.i.d. vectors uniform on the unit sphere of
:math:`\mathbb{R}^m` (normalised Gaussians), apply one Appendix D step
:math:`x_i^{(1)} = x_i - \frac{\eta}{k-1}\sum_{j\ne i}x_j`, and estimate each expectation with its
standard error, so a test can require agreement within a stated number of standard errors.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Estimate", "sample_sphere", "appendix_d_step", "estimate_moments"]


class Estimate(NamedTuple):
    """A Monte Carlo mean with its standard error."""

    mean: float
    stderr: float

    def within(self, value: float, n_sigma: float) -> bool:
        """True if ``value`` lies within ``n_sigma`` standard errors of the estimate."""
        return abs(self.mean - value) <= n_sigma * self.stderr


def _estimate(samples: np.ndarray) -> Estimate:
    samples = np.asarray(samples, dtype=float).ravel()
    return Estimate(float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(samples.size)))


def sample_sphere(rng: np.random.Generator, trials: int, m: int, k: int) -> np.ndarray:
    r"""``trials`` sets of k i.i.d. uniform unit vectors in :math:`\mathbb{R}^m`, shape ``[trials, m, k]``.

    Example:
        >>> x = sample_sphere(np.random.default_rng(0), 2, 5, 3)
        >>> x.shape, np.allclose(np.linalg.norm(x, axis=1), 1)
        ((2, 5, 3), True)
    """
    g = rng.standard_normal((trials, m, k))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def appendix_d_step(x: np.ndarray, eta: float) -> np.ndarray:
    r"""One unnormalised Appendix D step on columns: :math:`x_i - \eta\,\mathrm{mean}_{j\ne i}x_j`.

    Example:
        >>> x = np.eye(3)
        >>> appendix_d_step(x, 1.0)[:, 0]
        array([ 1. , -0.5, -0.5])
    """
    k = x.shape[-1]
    total = x.sum(axis=-1, keepdims=True)
    return x - eta * (total - x) / (k - 1)


def estimate_moments(k: int, m: int, eta: float, trials: int = 20000, seed: int = 0) -> dict[str, Estimate]:
    r"""Estimate the Appendix D expectations for one step at learning rate ``eta``.

    Returns a dict of :class:`Estimate`:

    * ``norm_sq``: :math:`\mathbb{E}\|x_i^{(1)}\|^2` (all i pooled; derived :math:`1+\eta^2/(k-1)`);
    * ``mean_norm_sq``: :math:`\mathbb{E}\|\mu^{(0)}\|^2` (derived 1/k);
    * ``x_dot_mean``: :math:`\mathbb{E}\langle x_i,\mu^{(0)}\rangle` (derived 1/k);
    * ``mean_shift_residual``: :math:`\|\tfrac1k\sum_i x_i^{(1)} - (1-\eta)\mu^{(0)}\|` (derived: 0
      exactly, so only rounding remains);
    * ``mean_shift_ratio``: :math:`\|\hat\mu^{(1)}\|/\|\mu^{(0)}\|` with every vector renormalised
      (tends to :math:`|1-\eta|/\sqrt{1+\eta^2/(k-1)}` as :math:`m\to\infty`).

    Pooling the k vectors of one trial correlates samples; standard errors are computed from
    per-trial averages, which are independent.

    Example:
        >>> est = estimate_moments(5, 50, 1.0, trials=2000)
        >>> est["norm_sq"].within(1 + 1.0 / 4, 5)
        True
    """
    rng = np.random.default_rng(seed)
    x0 = sample_sphere(rng, trials, m, k)
    x1 = appendix_d_step(x0, eta)
    mu0 = x0.mean(axis=-1)
    mu1_unnormalised = x1.mean(axis=-1)
    x1_hat = x1 / np.linalg.norm(x1, axis=1, keepdims=True)
    mu1 = x1_hat.mean(axis=-1)
    return {
        "norm_sq": _estimate(np.sum(x1**2, axis=1).mean(axis=-1)),
        "mean_norm_sq": _estimate(np.sum(mu0**2, axis=-1)),
        "x_dot_mean": _estimate(np.einsum("tmk,tm->tk", x0, mu0).mean(axis=-1)),
        "mean_shift_residual": _estimate(np.linalg.norm(mu1_unnormalised - (1 - eta) * mu0, axis=-1)),
        "mean_shift_ratio": _estimate(np.linalg.norm(mu1, axis=-1) / np.linalg.norm(mu0, axis=-1)),
    }
