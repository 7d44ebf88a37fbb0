"""The aggregate posterior against N(0, I): moments, the Gaussian fit's KL and the MMD test, on
posteriors made in the test whose answer is known."""
import math

import pytest
import torch

from labutils.metrics import prior_match
from labutils.summaries.mnist_models import aggregate_posterior as aggregate_text


def _normal(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_posteriors_equal_to_the_prior_give_its_moments_and_no_kl():
    mu, logvar = torch.zeros(1000, 4), torch.zeros(1000, 4)
    mean, variance = prior_match.aggregate_moments(mu, logvar)
    assert torch.equal(mean, torch.zeros(4)) and torch.equal(variance, torch.ones(4))
    assert prior_match.gaussian_fit_kl(mu, logvar) == pytest.approx(0.0, abs=1e-9)


def test_the_gaussian_fit_kl_is_the_closed_form_for_a_wider_aggregate():
    mu, logvar = 1.5 * _normal(200000, 3), torch.full((200000, 3), -1.0)   # q(z) variance 2.25 + e^-1
    variance = 2.25 + math.exp(-1)
    expected = 3 * 0.5 * (variance - 1 - math.log(variance))
    assert prior_match.gaussian_fit_kl(mu, logvar) == pytest.approx(expected, rel=0.02)


def test_the_mmd_test_keeps_one_distribution_and_rejects_a_shifted_one():
    same = prior_match.mmd_test(_normal(400, 8, seed=1), _normal(400, 8, seed=2), permutations=100)
    shifted = prior_match.mmd_test(_normal(400, 8, seed=1) + 0.5, _normal(400, 8, seed=2), permutations=100)
    assert same["p_value"] >= prior_match.MMD_LEVEL and same["mmd2"] < same["threshold_95"]
    assert shifted["p_value"] < prior_match.MMD_LEVEL and shifted["mmd2"] > shifted["threshold_95"]


def test_aggregate_posterior_reads_prior_draws_as_matching_and_says_so():
    matching = prior_match.aggregate_posterior(torch.zeros(800, 4), torch.zeros(800, 4), n=400, permutations=100)
    narrow = prior_match.aggregate_posterior(0.3 * _normal(800, 4), torch.full((800, 4), -4.0), n=400,
                                             permutations=100)
    assert matching["matches_prior"] and not narrow["matches_prior"]
    assert "**matches** the prior" in aggregate_text(matching, [True] * 4).data
    text = aggregate_text(narrow, [True, True, False, False]).data
    assert "**differs from** the prior" in text and "Over the 2 active dimensions" in text
