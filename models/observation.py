"""How incidents come to be observed: the one observation model of the synthetic world and of
the test panels of :mod:`models`.

True incidents ``N ~ Poisson(λ)``; ``reported ~ Binomial(N, ρ)`` with a reporting rate ρ per
country; ``detected ~ Binomial(N − reported, 1 − exp(−κ · effort))`` with a detection rate κ
per category. :class:`~models.detection.DetectionModel` estimates ρ and κ back from the split
of observed counts, so both the world and the model tests draw them from the same ranges
(:func:`draw_rates`): a model tested in another regime would be tested where the product
never goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["KAPPA_RANGE", "REPORTING_RATE_RANGE", "draw_rates", "observe"]

# Low-effort regimes: one shift finds 6–13% of the incidents of a cell, and agencies learn of
# 10–45% of incidents without patrols.
REPORTING_RATE_RANGE = (0.1, 0.45)
KAPPA_RANGE = (0.06, 0.14)


def draw_rates(
    rng: np.random.Generator, countries: Sequence[str], categories: Sequence[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Reporting rate per country and detection rate κ per category (rounded to 0.001)."""
    rho = np.round(rng.uniform(*REPORTING_RATE_RANGE, len(countries)), 3)
    kappa = np.round(rng.uniform(*KAPPA_RANGE, len(categories)), 3)
    return (
        dict(zip(countries, rho.tolist(), strict=True)),
        dict(zip(categories, kappa.tolist(), strict=True)),
    )


def observe(
    rng: np.random.Generator,
    incidents: np.ndarray,
    reporting_rate: np.ndarray,
    kappa: np.ndarray,
    effort: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``reported`` and ``detected`` counts of true ``incidents``.

    Arguments broadcast against ``incidents`` (e.g. regions × categories with the rate of
    each region's country as a column and κ as a row).
    """
    reported = rng.binomial(incidents, reporting_rate)
    detected = rng.binomial(incidents - reported, 1.0 - np.exp(-kappa * effort))
    return reported, detected
