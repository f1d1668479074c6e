r"""Fast numeric calculators for the Theorem 1 learning-rate bound (paper 001, Section 3.1, Appendix D).

These are the closed forms that :mod:`theory.derivation` derives symbolically; the test-suite checks
that both agree at many points. In the setting of Theorem 1 (k i.i.d. unit vectors, uniform on the
sphere of :math:`\mathbb{R}^m`, :math:`m \ge k > 2`), one step of the Appendix D update

.. math:: x_i^{(1)} = x_i^{(0)} - \eta\,\frac{1}{k-1}\sum_{j\ne i} x_j^{(0)}

has :math:`\mathbb{E}\|x_i^{(1)}\|^2 = 1 + \eta^2/(k-1)` and moves the (unnormalised) mean to
:math:`(1-\eta)\mu^{(0)}`. Dividing by :math:`B=\sqrt{\mathbb{E}\|x_i^{(1)}\|^2}` (the proof's
renormalisation), the mean's norm changes by the factor

.. math:: \rho(\eta, k) = \frac{|1-\eta|}{\sqrt{1 + \eta^2/(k-1)}},

and :math:`\rho \le 1+\varepsilon` holds exactly for :math:`0 \le \eta \le \eta_{\max}(k,\varepsilon)`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["eta_max", "paper_eta_max", "mean_shift_factor", "expected_update_norm_sq", "check_k", "check_eps",
           "check_eta"]


def _scalar_or_array(value: np.ndarray):
    return float(value) if np.ndim(value) == 0 else value


def _shown(value) -> str:
    """A one-line rendering of a bad input for error messages (arrays flattened to a list)."""
    if isinstance(value, np.ndarray):
        return repr(value.ravel().tolist())
    return repr(value)


def check_k(k) -> np.ndarray:
    """Validate the number of class embeddings: integers (any dtype, integral value) with k > 2.

    Raises:
        ValueError: naming ``k`` and the accepted range.

    Returns:
        int64 values, or float64 ones where a k is beyond int64 (``1e30``, ``10**30``), never wrapped.

    Example:
        >>> check_k([3, 10]).tolist()
        [3, 10]
        >>> check_k(10**30).tolist(), check_k(1e300).tolist()
        (1e+30, 1e+300)
        >>> check_k(2)
        Traceback (most recent call last):
        ...
        ValueError: k must be an integer > 2 (Theorem 1 assumes m >= k > 2); got 2
    """
    arr = np.asarray(k)
    if arr.dtype == object and arr.size and all(isinstance(v, int) and not isinstance(v, bool) for v in arr.ravel()):
        arr = arr.astype(float)  # Python integers beyond int64: their float value (exact enough for any bound)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"k must be an integer > 2 (Theorem 1 assumes m >= k > 2); got {_shown(k)}")
    if not np.all(np.isfinite(arr)) or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"k must be an integer > 2 (Theorem 1 assumes m >= k > 2); got {_shown(k)}")
    if np.any(arr <= 2):
        raise ValueError(f"k must be an integer > 2 (Theorem 1 assumes m >= k > 2); got {_shown(k)}")
    if np.any(np.abs(arr) > 2**62):  # beyond int64: keep the (integral) float values, never wrap around
        return arr.astype(float)
    return arr.astype(np.int64)


def check_eps(eps) -> np.ndarray:
    r"""Validate the mean-growth tolerance epsilon: real, not NaN, in :math:`[0, \infty]`.

    Raises:
        ValueError: naming ``eps`` and the accepted range.

    Example:
        >>> check_eps([0.0, 0.5]).tolist()
        [0.0, 0.5]
        >>> check_eps(-1)
        Traceback (most recent call last):
        ...
        ValueError: eps must be a real number in [0, inf] (not NaN); got -1
    """
    arr = np.asarray(eps, dtype=float) if not isinstance(eps, str) else None
    if arr is None or np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError(f"eps must be a real number in [0, inf] (not NaN); got {_shown(eps)}")
    return arr


def check_eta(eta) -> np.ndarray:
    """Validate learning rates: finite reals >= 0 (any shape); returns them as a float array.

    Raises:
        ValueError: naming ``eta`` and the accepted range.

    Example:
        >>> check_eta([0.5, 2.0]).tolist()
        [0.5, 2.0]
        >>> check_eta(-1)
        Traceback (most recent call last):
        ...
        ValueError: eta must be a finite real number >= 0; got -1
    """
    try:
        arr = np.asarray(eta, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"eta must be a finite real number >= 0; got {_shown(eta)}") from None
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"eta must be a finite real number >= 0; got {_shown(eta)}")
    return arr


def eta_max(k, eps=0.0):
    r"""Largest learning rate whose one-step mean growth stays within a factor :math:`1+\varepsilon`.

    The toolkit's derivation (see :func:`theory.derivation.derive`): with :math:`c=(1+\varepsilon)^2`
    and :math:`A = 1 - c/(k-1)`, the condition :math:`(1-\eta)^2 \le c\,(1+\eta^2/(k-1))` reads
    :math:`A\eta^2 - 2\eta + 1 - c \le 0`, so

    .. math::
        \eta_{\max}(k,\varepsilon) = \frac{1 + \sqrt{1 + A(c-1)}}{A} \quad (A>0),
        \qquad \eta_{\max}(k, 0) = \frac{2(k-1)}{k-2} = 2 + \frac{2}{k} + O(k^{-2}),

    and :math:`\eta_{\max}=\infty` when :math:`A \le 0`, i.e. :math:`(1+\varepsilon)^2 \ge k-1`: then
    every :math:`\eta\ge0` satisfies the condition.

    Args:
        k: number of class embeddings, integer(s) > 2; broadcasts against ``eps``.
        eps: tolerated relative growth of the mean's norm, in [0, inf].

    Returns:
        float, or an ndarray of floats for array input (``inf`` where no upper bound exists).

    Raises:
        ValueError: for non-integer k, k <= 2, or NaN / negative eps.

    Example:
        >>> round(eta_max(30), 4)
        2.0714
        >>> eta_max(3)
        4.0
        >>> eta_max(5, eps=1.0)    # (1+eps)^2 = 4 >= k - 1 = 4: no upper bound
        inf
        >>> eta_max(30, eps=1e308)  # (1+eps)^2 overflows: still no upper bound, and no warning
        inf
    """
    k = check_k(k).astype(float)
    eps = check_eps(eps)
    k, eps = np.broadcast_arrays(k, eps)
    # eps near the float64 maximum: c overflows to inf, so a = -inf and the bound is inf (correctly;
    # every eta satisfies the condition), without a RuntimeWarning on the way.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        c = (1.0 + eps) ** 2
        a = 1.0 - c / (k - 1.0)
        bound = (1.0 + np.sqrt(1.0 + a * (c - 1.0))) / a
    bound = np.where(a > 0, bound, np.inf)
    return _scalar_or_array(bound)


def paper_eta_max(k):
    r"""The closed form of Appendix D of paper 001 exactly as printed (the printed claim, not derived).

    .. math:: \eta \le \frac{2k^3 - 5k^2 + 5k - 2}{k^3 - 3k^2 + 4k - 2}

    :func:`theory.errata` compares it with :func:`eta_max`.

    Example:
        >>> round(paper_eta_max(30), 4)     # the "2.03" quoted in Section 3.1
        2.0333
        >>> paper_eta_max(1e200)            # k**3 would overflow: the limit 2, not nan
        2.0
    """
    k = check_k(k).astype(float)
    with np.errstate(over="ignore", invalid="ignore"):  # k**3 overflows beyond ~5.6e102: divide by k**3 there
        value = (2 * k**3 - 5 * k**2 + 5 * k - 2) / (k**3 - 3 * k**2 + 4 * k - 2)
        scaled = (2 - 5 / k + 5 / k**2 - 2 / k**3) / (1 - 3 / k + 4 / k**2 - 2 / k**3)
    return _scalar_or_array(np.where(k < 1e100, value, scaled))


def expected_update_norm_sq(eta, k):
    r"""Derived :math:`\mathbb{E}\|x_i^{(1)}\|^2 = 1 + \eta^2/(k-1)` for one Appendix D step.

    Example:
        >>> expected_update_norm_sq(2.0, 5)
        2.0
        >>> expected_update_norm_sq(1e200, 3)
        inf
    """
    k = check_k(k).astype(float)
    eta = check_eta(eta)
    with np.errstate(over="ignore"):  # eta**2 beyond the float range: the value is inf, and it is
        return _scalar_or_array(1.0 + eta**2 / (k - 1.0))


def mean_shift_factor(eta, k):
    r"""Derived one-step factor on the norm of the class-embedding mean.

    .. math:: \rho(\eta,k) = \frac{\|\mu^{(1)}\|}{\|\mu^{(0)}\|} \approx \frac{|1-\eta|}{\sqrt{1+\eta^2/(k-1)}}

    It is exact in the limit :math:`m\to\infty` (the updated norms concentrate at
    :math:`\sqrt{1+\eta^2/(k-1)}`); at finite m it is the proof's approximation of renormalising every
    vector by the same :math:`B`. :math:`\rho \le 1` exactly for :math:`\eta \le \eta_{\max}(k, 0)`.

    Args:
        eta: learning rate(s), finite, >= 0.
        k: number of class embeddings, integer(s) > 2.

    Example:
        >>> mean_shift_factor(1.0, 10)
        0.0
        >>> round(mean_shift_factor(2 * 29 / 28, 30), 12)   # at eta_max(30): exactly 1
        1.0
        >>> round(mean_shift_factor(1e200, 3), 6)    # eta^2 overflows; the factor tends to sqrt(k - 1)
        1.414214
    """
    k = check_k(k).astype(float)
    eta = check_eta(eta)
    # sqrt(1 + eta^2/(k-1)) as hypot(1, eta/sqrt(k-1)) where eta^2 would overflow (eta > 1.3e154)
    with np.errstate(over="ignore"):
        direct = np.abs(1.0 - eta) / np.sqrt(1.0 + eta**2 / (k - 1.0))
        safe = np.abs(1.0 - eta) / np.hypot(1.0, eta / np.sqrt(k - 1.0))
    return _scalar_or_array(np.where(eta < 1e150, direct, safe))
