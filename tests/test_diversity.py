"""Improved precision and recall (Kynkäänniemi et al. 2019) on point sets whose answer is known: one
distribution twice, a collapsed copy, a far shift, and a brute-force reference."""
import pytest
import torch

from labutils.metrics import diversity


def _normal(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _brute_force(real, fake, k):
    """The paper's definition in explicit loops, in float64: radius = distance to the k-th nearest
    other point of the same set; a point is covered when it is within some ball's radius."""
    def radii(points):
        out = []
        for i in range(len(points)):
            others = sorted(float((points[i] - points[j]).norm()) for j in range(len(points)) if j != i)
            out.append(others[k - 1])
        return out

    def covered(points, centres, centre_radii):
        inside = 0
        for p in points:
            inside += any(float((p - c).norm()) <= r for c, r in zip(centres, centre_radii))
        return inside / len(points)

    real, fake = real.double(), fake.double()
    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def test_two_draws_of_one_distribution_score_near_one_and_near_the_floor():
    real, fake, other = _normal(500, 8, seed=1), _normal(500, 8, seed=2), _normal(500, 8, seed=3)
    score = diversity.precision_recall(real, fake)
    floor = diversity.precision_recall(real, other)
    assert score["precision"] > 0.8 and score["recall"] > 0.8
    assert score["precision"] == pytest.approx(floor["precision"], abs=0.05)
    assert score["recall"] == pytest.approx(floor["recall"], abs=0.05)
    assert (score["k"], score["n_real"], score["n_fake"]) == (3, 500, 500)


def test_a_collapsed_generator_keeps_precision_and_loses_recall():
    real, other = _normal(500, 8, seed=1), _normal(500, 8, seed=3)
    modes = real[:3]  # three real points; every generated sample lies close to one of them
    collapsed = modes[torch.arange(500) % 3] + 0.05 * _normal(500, 8, seed=2)
    score = diversity.precision_recall(real, collapsed)
    floor = diversity.precision_recall(real, other)
    assert score["precision"] > 0.8
    assert score["recall"] < 0.3 and floor["recall"] > 0.8


def test_a_far_shifted_generator_scores_zero():
    real = _normal(500, 8, seed=1)
    score = diversity.precision_recall(real, _normal(500, 8, seed=2) + 100.0)
    assert score["precision"] == 0.0 and score["recall"] == 0.0


@pytest.mark.parametrize("k", [1, 3])
def test_agrees_with_a_brute_force_reference(k):
    # different sizes and spreads, so neither number is 0 or 1 and precision differs from recall
    real, fake = _normal(30, 4, seed=5), 1.3 * _normal(25, 4, seed=6) + 0.4
    score = diversity.precision_recall(real, fake, k=k)
    precision, recall = _brute_force(real, fake, k)
    assert 0 < precision < 1 and 0 < recall < 1
    # the same points covered: torch-fidelity's float32 mean is within 1e-6 of the count's fraction
    assert round(score["precision"] * len(fake)) == round(precision * len(fake))
    assert round(score["recall"] * len(real)) == round(recall * len(real))
    assert score["precision"] == pytest.approx(precision, abs=1e-6)
    assert score["recall"] == pytest.approx(recall, abs=1e-6)


def test_batches_smaller_than_the_sets_give_the_same_numbers():
    real, fake = _normal(300, 8, seed=1), 1.2 * _normal(200, 8, seed=2)
    whole = diversity.precision_recall(real, fake, batch_size=1024)
    batched = diversity.precision_recall(real, fake, batch_size=37)
    assert (batched["precision"], batched["recall"]) == (whole["precision"], whole["recall"])


def test_too_few_real_images_for_the_floor_is_an_error_that_names_the_fix():
    with pytest.raises(ValueError, match="smaller n"):
        diversity.diversity_against_floor(lambda x: x, _normal(150, 8), _normal(100, 8), n=100, repeats=2)


def test_pixel_features_are_area_means_in_the_unit_interval():
    images = torch.randint(0, 256, (5, 3, 64, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    features = diversity.pixel_features(images, size=16)
    assert features.shape == (5, 3 * 16 * 16) and features.dtype == torch.float32
    assert features.min() >= 0.0 and features.max() <= 1.0
    white = diversity.pixel_features(torch.full((2, 3, 32, 32), 255, dtype=torch.uint8), size=8)
    assert torch.allclose(white, torch.ones(2, 3 * 8 * 8))
    # one value per 4 x 3 block: its mean
    assert features[0, 0] == pytest.approx(float(images[0, 0, :4, :3].float().mean() / 255), abs=1e-6)


def test_diversity_against_floor_repeats_and_its_interval_holds_the_floor():
    real, fake = _normal(1000, 8, seed=1), _normal(1500, 8, seed=2)
    calls = []

    def features(x):
        calls.append(len(x))
        return x

    result = diversity.diversity_against_floor(features, real, fake, n=300, repeats=5)
    assert calls == [1000, 1500]  # once per image set
    for key in ("precision", "recall", "floor_precision", "floor_recall", "precision_ratio", "recall_ratio"):
        assert len(result[key]) == 5
        summary = result["summary"][key]
        assert summary["low"] <= summary["mean"] <= summary["high"]
    assert (result["n"], result["k"], result["repeats"]) == (300, 3, 5)
    assert len(set(result["floor_recall"])) > 1  # each repeat draws other real samples
    # one distribution: the generator's recall is the floor's, to within the measurement's spread
    recall = result["summary"]["recall"]
    assert recall["low"] <= result["summary"]["floor_recall"]["mean"] <= recall["high"]
    assert result["summary"]["recall_ratio"]["mean"] == pytest.approx(1.0, abs=0.1)


def test_each_repeat_measures_its_own_generated_images():
    # Repeat 1's generated images are collapsed onto three real points, the others are fresh draws: only
    # repeat 1's recall falls, so each repeat reads its own slice of `fake`, not one shared sample.
    real = _normal(600, 8, seed=1)
    fake = _normal(900, 8, seed=2)
    fake[300:600] = real[torch.arange(300) % 3] + 0.01 * _normal(300, 8, seed=3)
    result = diversity.diversity_against_floor(lambda x: x, real, fake, n=300, repeats=3)
    assert result["recall"][1] < 0.2 < min(result["recall"][0], result["recall"][2])
    with pytest.raises(ValueError, match="each repeat its own n"):
        diversity.diversity_against_floor(lambda x: x, real, fake[:600], n=300, repeats=3)
