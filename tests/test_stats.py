"""Statistics helpers against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from scalesim.stats import binomial_pvalue


@pytest.mark.parametrize("n,p", [(10, 0.3), (50, 0.5), (2000, 1e-3), (2000, 0.999), (10000, 2e-4)])
def test_binomial_pvalue_matches_scipy_tails(n, p):
    ks = np.arange(0, min(n, 40) + 1) if p < 0.9 else np.arange(n - 40, n + 1)
    want = np.array([min(1.0, 2 * min(st.binom.cdf(k, n, p), st.binom.sf(k - 1, n, p))) for k in ks])
    np.testing.assert_allclose(binomial_pvalue(ks, n, p), want, rtol=1e-9, atol=1e-300)


def test_binomial_pvalue_sure_outcomes_and_validation():
    np.testing.assert_array_equal(binomial_pvalue([0, 1, 5], 5, 0.0), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(binomial_pvalue([0, 4, 5], 5, 1.0), [0.0, 0.0, 1.0])
    for k, n, p in [(6, 5, 0.5), (-1, 5, 0.5), (1.5, 5, 0.5), (1, 5, 1.5), (0, 0, 0.5)]:
        with pytest.raises(ValueError, match="binomial_pvalue needs"):
            binomial_pvalue(k, n, p)
