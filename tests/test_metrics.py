"""The evaluation metrics of notebook 03, each on small inputs whose answer is known."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from labutils import metrics
from labutils.models import VAE, Autoencoder
from labutils.models.classifier import MNISTClassifier
from labutils.training.steps import ClassifierStep


def _clusters(n_per_class=50, dim=4, separation=20.0, seed=0):
    """Two tight Gaussian clusters `separation` apart: (x (2n, dim), labels (2n,))."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * n_per_class, dim, generator=g)
    y = torch.arange(2).repeat_interleave(n_per_class)
    x[:, 0] += separation * y
    return x, y


# --- kNN, linear probe, silhouette ---------------------------------------------------------------

def test_knn_separated_clusters_is_perfect():
    train_x, train_y = _clusters(seed=0)
    test_x, test_y = _clusters(seed=1)
    assert metrics.knn_accuracy(train_x, train_y, test_x, test_y, k=5) == 1.0


def test_knn_random_labels_is_chance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 3, generator=g)
    y = torch.randint(0, 2, (4000,), generator=g)
    accuracy = metrics.knn_accuracy(x[:3000], y[:3000], x[3000:], y[3000:], k=5)
    assert accuracy == pytest.approx(0.5, abs=0.05)


def test_knn_uses_k_neighbours():
    # One mislabelled point inside class 0: k=1 copies its label, k=3 outvotes it.
    train_x = torch.tensor([[0.0], [0.1], [0.2], [10.0], [10.1]])
    train_y = torch.tensor([0, 0, 1, 1, 1])
    test_x, test_y = torch.tensor([[0.21]]), torch.tensor([0])
    assert metrics.knn_accuracy(train_x, train_y, test_x, test_y, k=1) == 0.0
    assert metrics.knn_accuracy(train_x, train_y, test_x, test_y, k=3) == 1.0


def test_linear_probe_separable_is_perfect_and_random_is_chance():
    train_x, train_y = _clusters(seed=0, separation=8.0)
    test_x, test_y = _clusters(seed=1, separation=8.0)
    assert metrics.linear_probe_accuracy(train_x, train_y, test_x, test_y) == 1.0
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4000, 5, generator=g), torch.randint(0, 2, (4000,), generator=g)
    assert metrics.linear_probe_accuracy(x[:3000], y[:3000], x[3000:], y[3000:]) == pytest.approx(0.5, abs=0.05)


def test_linear_probe_needs_a_linear_boundary():
    # XOR on four corners (with jitter): a kNN finds it, a linear read-out cannot.
    g = torch.Generator().manual_seed(0)
    corners = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]).repeat(100, 1)
    x = corners + 0.05 * torch.randn(corners.shape, generator=g)
    y = torch.tensor([0, 0, 1, 1]).repeat(100)
    assert metrics.knn_accuracy(x[:300], y[:300], x[300:], y[300:]) == 1.0
    assert metrics.linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) < 0.75


def test_silhouette_hand_computed():
    # 1-D points 0, 1 (class a) and 10, 11 (class b). For 0: a = 1, b = mean(10, 11) = 10.5, s = 1 - 1/10.5;
    # for 1: a = 1, b = mean(9, 10) = 9.5, s = 1 - 1/9.5; the other two mirror these.
    x = torch.tensor([[0.0], [1.0], [10.0], [11.0]])
    y = torch.tensor([0, 0, 1, 1])
    expected = ((1 - 1 / 10.5) + (1 - 1 / 9.5)) / 2
    assert metrics.silhouette(x, y, sample_size=None) == pytest.approx(expected)


def test_silhouette_separated_is_near_one_and_mixed_is_near_zero():
    x, y = _clusters(separation=100.0)
    assert metrics.silhouette(x, y, sample_size=None) > 0.95
    g = torch.Generator().manual_seed(0)
    assert abs(metrics.silhouette(torch.randn(600, 3, generator=g), torch.randint(0, 2, (600,), generator=g),
                                  sample_size=None)) < 0.05


def test_silhouette_subset_is_seeded():
    x, y = _clusters(n_per_class=300, separation=2.0)
    assert metrics.silhouette(x, y, 100, seed=3) == metrics.silhouette(x, y, 100, seed=3)
    assert metrics.silhouette(x, y, 100, seed=3) != metrics.silhouette(x, y, 100, seed=4)


def test_structure_table_keys():
    train_x, train_y = _clusters(seed=0)
    test_x, test_y = _clusters(seed=1)
    table = metrics.structure_table({"a": (train_x, test_x), "b": (train_x[:, 1:], test_x[:, 1:])},
                                    train_y, test_y, k=5, silhouette_samples=50)
    assert set(table) == {"knn_accuracy", "linear_probe_accuracy", "silhouette"}
    assert table["knn_accuracy"]["a"] == 1.0
    assert table["knn_accuracy"]["b"] < 0.8  # the informative dimension removed


# --- Fréchet distance ---------------------------------------------------------------------------

def test_frechet_of_identical_sets_is_zero():
    a = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_one_dimensional_closed_form():
    # Between N(m1, s1^2) and N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2.
    assert metrics.frechet_distance_from_moments(0.0, 1.0, 1.0, 4.0) == pytest.approx(1.0 + 1.0)


def test_frechet_non_commuting_covariances_closed_form():
    # With S_a = I the trace term is sum_i (1 - sqrt(lambda_i(S_b)))^2, whatever the eigenvectors of S_b.
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    eigenvalues = torch.tensor([0.25, 1.0, 4.0, 9.0], dtype=torch.float64)
    cov_b = (q * eigenvalues) @ q.T
    mu_b = np.array([1.0, 2.0, 0.0, 0.0])
    expected = 1.0 + 4.0 + float(((1 - eigenvalues.sqrt()) ** 2).sum())   # = 5 + 0.25 + 0 + 1 + 4
    got = metrics.frechet_distance_from_moments(np.zeros(4), np.eye(4), mu_b, cov_b.numpy())
    assert got == pytest.approx(expected)
    # Symmetric in its two arguments.
    assert metrics.frechet_distance_from_moments(mu_b, cov_b.numpy(), np.zeros(4), np.eye(4)) == pytest.approx(expected)


def test_frechet_from_samples_matches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    b = torch.randn(200_000, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0, 3.0]) + torch.tensor([1.0, 0.0])
    # (1 - 0)^2 + (1 - 2)^2 + (1 - 3)^2 = 6
    assert metrics.frechet_distance(a, b) == pytest.approx(6.0, rel=0.02)


def test_frechet_with_a_singular_covariance_is_finite():
    a = torch.randn(300, 5, generator=torch.Generator().manual_seed(0))
    a[:, 4] = 0.0  # a dead feature
    value = metrics.frechet_distance(a, a + 1.0)
    assert math.isfinite(value) and value == pytest.approx(5.0, abs=1e-3)


# --- classifier scores ----------------------------------------------------------------------------

def test_confidence_and_entropies_at_their_extremes():
    uniform = torch.full((4, 10), 0.1)
    one_hot = torch.eye(10)[[3, 3, 7, 7]]
    assert metrics.class_confidence(uniform) == pytest.approx(0.1)
    assert metrics.class_entropy(uniform) == pytest.approx(math.log(10))
    assert metrics.class_confidence(one_hot) == pytest.approx(1.0)
    assert metrics.class_entropy(one_hot) == pytest.approx(0.0, abs=1e-9)
    # Confident but only two digits: the balance entropy is log(2), not log(10).
    assert metrics.class_balance_entropy(one_hot) == pytest.approx(math.log(2))
    assert metrics.class_balance_entropy(torch.eye(10)) == pytest.approx(math.log(10))


def test_classifier_shapes_and_classify():
    model = MNISTClassifier()
    for x in (torch.rand(3, 1, 28, 28), torch.rand(3, 784)):
        assert model(x).shape == (3, 10)
        assert model.features(x).shape == (3, MNISTClassifier.feature_dim)
    probs, feats = metrics.classify(model, torch.rand(5, 784), batch_size=2)
    assert probs.shape == (5, 10) and feats.shape == (5, 128)
    torch.testing.assert_close(probs.sum(1), torch.ones(5))


def test_classifier_step_learns_a_toy_problem():
    torch.manual_seed(0)
    model = MNISTClassifier()
    step = ClassifierStep(model, lr=1e-3)
    x = torch.zeros(20, 1, 28, 28)
    x[10:, :, :14] = 1.0            # class 1: top half lit
    y = torch.tensor([0] * 10 + [1] * 10)
    for _ in range(30):
        step.train_step((x, y))
    result = step.eval_step((x, y))
    assert set(result) == {"loss", "accuracy"}
    assert result["accuracy"].item() == 1.0


# --- reconstruction, ELBO and the importance-weighted likelihood -------------------------------------

def test_reconstruction_mse_of_a_perfect_and_a_constant_model():
    class Fixed(nn.Module):
        def __init__(self, output):
            super().__init__()
            self.output = output
        def encode(self, x):
            return x
        def decode(self, z):
            return z if self.output is None else torch.full_like(z, self.output)

    x = torch.rand(6, 784, generator=torch.Generator().manual_seed(0))
    loader = [(x[:4], None), (x[4:], None)]
    assert metrics.reconstruction_mse(Fixed(None), loader) == 0.0
    assert metrics.reconstruction_mse(Fixed(0.0), loader) == pytest.approx(float(x.pow(2).mean()), rel=1e-6)


def test_vae_reconstruction_with_a_sample_is_worse_than_with_the_mean():
    torch.manual_seed(0)
    model = VAE(hidden_dims=(16,), latent_dim=4)
    x = torch.rand(64, 784)
    loader = [(x, None)]
    mean = metrics.reconstruction_mse(model, loader)
    sample = metrics.reconstruction_mse(model, loader, sample=True, generator=torch.Generator().manual_seed(0))
    assert mean != sample
    assert metrics.reconstruction_mse(Autoencoder(hidden_dims=(16,), latent_dim=4), loader) > 0


def test_gaussian_decoder_constant():
    # Summed squared error = -log N(x | x_hat, 1/2 I) - (D/2) log(pi), checked against torch.distributions.
    x, x_hat = torch.rand(3, 10), torch.rand(3, 10)
    log_p = torch.distributions.Normal(x_hat, math.sqrt(0.5)).log_prob(x).sum(1)
    sse = (x - x_hat).pow(2).sum(1)
    torch.testing.assert_close(-log_p, sse + metrics.gaussian_decoder_constant(10))
    assert metrics.gaussian_decoder_constant(784) == pytest.approx(448.73, abs=0.01)


class LinearGaussianVAE(nn.Module):
    """z ~ N(0, I_2), x | z ~ N(W z + b, I/2) in 3-D, with a diagonal Gaussian encoder.

    The marginal is exact: p(x) = N(b, W W^T + I/2). W has orthogonal columns, so the true posterior
    is diagonal: covariance S = (I + 2 W^T W)^-1, mean S 2 W^T (x - b). `exact=True` encodes with it;
    otherwise with a deliberately wrong one.
    """

    def __init__(self, exact: bool):
        super().__init__()
        self.W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
        self.b = torch.tensor([0.5, -0.5, 0.2], dtype=torch.float64)
        self.exact = exact
        self.dummy = nn.Parameter(torch.zeros(1))

    def posterior(self, x):
        S = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + 2 * self.W.T @ self.W)   # diagonal
        mu = (x - self.b) @ (2 * self.W) @ S
        return mu, torch.diagonal(S).log().expand_as(mu)

    def encode(self, x):
        mu, logvar = self.posterior(x)
        return (mu, logvar) if self.exact else (0.5 * mu, logvar + 1.0)

    def decode(self, z):
        return z @ self.W.T + self.b

    def log_marginal(self, x):
        cov = self.W @ self.W.T + 0.5 * torch.eye(3, dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x)

    def analytic_elbo(self, x):
        """E_q[log p(x|z)] - KL(q || p), both in closed form for this model."""
        mu, logvar = self.encode(x)
        var = logvar.exp()
        sse = (x - self.decode(mu)).pow(2).sum(1) + (self.W.pow(2).sum(0) * var).sum(1)   # + tr(W diag(var) W^T)
        kl = 0.5 * (mu.pow(2) + var - 1 - logvar).sum(1)
        return -sse - metrics.gaussian_decoder_constant(3) - kl


def _points():
    return torch.tensor([[0.3, -1.0, 0.0], [1.5, 2.0, 0.4], [-0.7, 0.1, -0.3]], dtype=torch.float64)


def test_iwae_with_the_exact_posterior_is_exact_for_any_k():
    model, x = LinearGaussianVAE(exact=True), _points()
    for k in (1, 7):
        got = metrics.iwae_log_likelihood(model, x, k, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(got, model.log_marginal(x))


def test_iwae_approaches_the_true_log_likelihood_from_below():
    model, x = LinearGaussianVAE(exact=False), _points()
    truth = model.log_marginal(x)
    g = torch.Generator().manual_seed(0)
    weights = metrics.importance_log_weights(model, x, 20_000, generator=g)        # (k, N)
    k1 = weights.mean(0)                                # average of 20000 single-sample bounds
    torch.testing.assert_close(k1, model.analytic_elbo(x), atol=0.05, rtol=0)   # k = 1: the ELBO in expectation
    assert (k1 < truth - 0.1).all()                     # ... which is strictly below log p(x) here
    bounds = [metrics.iwae_bound(weights[:k]) for k in (1, 10, 100, 20_000)]
    torch.testing.assert_close(bounds[-1], truth, atol=0.02, rtol=0)               # large k: log p(x)
    assert float(bounds[1].mean()) > float(k1.mean()) and float(bounds[2].mean()) > float(bounds[1].mean())


def test_elbo_matches_its_closed_form_on_average():
    model, x = LinearGaussianVAE(exact=False), _points()
    g = torch.Generator().manual_seed(0)
    estimates = torch.stack([metrics.elbo(model, x, generator=g) for _ in range(5000)]).mean(0)
    torch.testing.assert_close(estimates, model.analytic_elbo(x), atol=0.05, rtol=0)


def test_iwae_on_a_tiny_vae_is_above_its_elbo():
    torch.manual_seed(0)
    model = VAE(input_dim=784, hidden_dims=(16,), latent_dim=3)
    x = torch.rand(8, 784)
    weights = metrics.importance_log_weights(model, x, 500, generator=torch.Generator().manual_seed(0), max_rows=1000)
    assert weights.shape == (500, 8)
    assert (metrics.iwae_bound(weights) >= weights.mean(0)).all()   # Jensen: log-mean-exp >= mean
    assert metrics.iwae_log_likelihood(model, x, 500, "bce").shape == (8,)


# --- trend --------------------------------------------------------------------------------------------

def test_trend_of_a_rise_then_plateau():
    t = metrics.trend([1.0, 5.0, 9.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.1])
    assert t["first"] == 1.0 and t["peak"] == 10.1 and t["peak_epoch"] == 10 and t["last"] == 10.1
    assert t["tail_epochs"] == 2 and t["tail_slope"] == pytest.approx(0.1)
    assert t["tail_relative_change"] == pytest.approx(0.1 / 10.1)


def test_trend_slope_ignores_alternating_noise():
    # A flat series with +-1 noise: no drift over the tail, whatever the spread.
    t = metrics.trend([5.0, 11.0, 9.0, 11.0, 9.0, 11.0, 9.0, 11.0, 9.0, 11.0], tail_fraction=0.4)
    assert t["tail_epochs"] == 4 and abs(t["tail_slope"]) < 0.5
    line = metrics.trend([float(v) for v in range(1, 11)])
    assert line["tail_slope"] == pytest.approx(1.0) and line["tail_relative_change"] == pytest.approx(0.1)
    assert metrics.trend([3.0])["tail_relative_change"] == 0.0


def test_train_mnist_classifier_trains_then_loads(tmp_path, monkeypatch, capsys):
    from labutils.data.mnist import MNIST
    from labutils.training.runs import train_mnist_classifier

    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    g = torch.Generator().manual_seed(0)
    images = lambda n: (torch.rand(n, 28, 28, generator=g) * 255).to(torch.uint8)  # noqa: E731
    labels = lambda n: torch.randint(0, 10, (n,), generator=g)  # noqa: E731
    tiny = MNIST(images(64), labels(64), images(32), labels(32), source="test")
    model = train_mnist_classifier(tiny, epochs=1, device="cpu", seed=0, progress=False)
    assert not model.training and len(model.history) == 1
    assert set(model.history.epochs[0]) >= {"train_loss", "test_loss", "test_accuracy"}
    assert len(list((tmp_path / "checkpoints").glob("classifier-*.pt"))) == 1
    again = train_mnist_classifier(tiny, epochs=1, device="cpu", seed=0, progress=False)
    assert "Loaded classifier-" in capsys.readouterr().out
    torch.testing.assert_close(again.head.weight, model.head.weight)
    with pytest.raises(ValueError):
        train_mnist_classifier(tiny, epochs=0)
