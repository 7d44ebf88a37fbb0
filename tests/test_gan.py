import ast
import copy
import math
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
from torch import nn

from labutils import plots
from labutils.config import GANConfig
from labutils.data.gan_data import GANData, mnist_for_gan
from labutils.data.loaders import TensorLoader, to_signed_unit_interval
from labutils.metrics import images as image_metrics
from labutils.models.gan import Discriminator, Generator, init_dcgan_weights
from labutils.models.sampling import ema_decay_at, generate, noise, recalibrate_batchnorm, to_uint8, update_ema
from labutils.training import gan_step
from labutils.training.diffaugment import diff_augment
from labutils.training.engine import Trainer
from labutils.training.gan import build_gan, train_gan
from labutils.training.gan_step import GANStep
from labutils.training.gan_watch import GANWatch


# --- models -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("kind", ["conv", "mlp"])
def test_generator_output_shape_and_range(size, kind):
    g = Generator(latent_dim=100, image_size=size, channels=3, kind=kind, width=8, hidden_dims=(16, 32))
    x = g(torch.randn(2, 100))
    assert x.shape == (2, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1  # Tanh


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_gives_one_logit_per_image(size, spectral_norm):
    d = Discriminator(image_size=size, channels=3, width=8, spectral_norm=spectral_norm)
    assert d(torch.randn(3, 3, size, size)).shape == (3,)
    p = d.probability(torch.randn(3, 3, size, size))
    assert ((p > 0) & (p < 1)).all()


def test_spectral_norm_replaces_batchnorm_and_adds_biases():
    plain, sn = Discriminator(image_size=32, width=8), Discriminator(image_size=32, width=8, spectral_norm=True)
    convs = lambda d: [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is None for m in convs(plain)) and any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert all(m.bias is not None for m in convs(sn)) and not any(isinstance(m, nn.BatchNorm2d) for m in sn.modules())
    x = torch.rand(4, 3, 32, 32)
    assert not torch.allclose(sn(2 * x), 2 * sn(x))  # not positively homogeneous


def test_a_normalisation_free_discriminator_has_no_batchnorm_and_biases_instead():
    free = Discriminator(image_size=32, width=8, extra_layers=1, batchnorm=False)
    convs = [m for m in free.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5 and all(m.bias is not None for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in free.modules())
    x = torch.rand(4, 3, 32, 32)
    free.train()
    torch.testing.assert_close(free(x)[:2], free(x[:2]))  # each image scored alone: no batch statistics
    config = GANConfig(image_size=32, d_width=8, d_batchnorm=False, device="cpu")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in build_gan(config, torch.device("cpu"))[1].modules())


def test_grey_images_and_extra_layers():
    g = Generator(latent_dim=10, image_size=32, channels=1, width=8, extra_layers=2)
    d = Discriminator(image_size=32, channels=1, width=8, extra_layers=2)
    assert d(g(torch.randn(4, 10))).shape == (4,)


def test_dcgan_widths_at_64():
    g = Generator(image_size=64)
    widths = [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert widths == [512, 256, 128, 64, 3]
    mlp = Generator(image_size=64, kind="mlp")
    assert [m.out_features for m in mlp.modules() if isinstance(m, nn.Linear)] == [256, 512, 3 * 64 * 64]


@pytest.mark.parametrize("size", [16, 48, 256])
def test_other_sizes_are_refused(size):
    with pytest.raises(ValueError, match="power of two"):
        Generator(image_size=size)
    with pytest.raises(ValueError, match="power of two"):
        Discriminator(image_size=size)
    with pytest.raises(ValueError, match="image_size"):
        GANConfig(image_size=size)


def test_initialisation_statistics():
    torch.manual_seed(0)
    g, d = Generator(image_size=64), Discriminator(image_size=64)
    conv = torch.cat([m.weight.detach().flatten() for net in (g, d) for m in net.modules()
                      if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    bn = torch.cat([m.weight.detach() for net in (g, d) for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(float(conv.mean())) < 1e-3 and float(conv.std()) == pytest.approx(0.02, rel=0.02)
    assert float(bn.mean()) == pytest.approx(1.0, abs=0.01) and float(bn.std()) == pytest.approx(0.02, rel=0.2)
    assert all((m.bias == 0).all() for m in g.modules() if isinstance(m, nn.BatchNorm2d))


def test_initialisation_reaches_the_raw_weight_under_spectral_norm():
    d = Discriminator(image_size=32, width=32, spectral_norm=True)
    init_dcgan_weights(d, std=0.5)
    raw = d.net[0].parametrizations.weight.original
    assert float(raw.detach().std()) == pytest.approx(0.5, rel=0.1)


# --- the distance ---------------------------------------------------------------------------------------

def _textures(n, seed, grid=4):
    """Smooth random colour fields: a distribution with real spatial structure."""
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(torch.rand(n, 3, grid, grid, generator=g), size=32, mode="bilinear")
    return (x * 255).to(torch.uint8)


def test_swd_identical_sets_give_zero_and_a_second_sample_gives_the_floor():
    a, b = _textures(64, 0), _textures(64, 1)
    same = image_metrics.swd(a, a.clone(), seed=0)
    assert set(same) == {"32px", "16px", "average"}
    floor = image_metrics.swd(a, b)["average"]
    # The same images, patches drawn elsewhere: as close as two samples of one distribution.
    assert same["average"] < 1.5 * floor
    noise_ = (torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 255).to(torch.uint8)
    assert image_metrics.swd(a, noise_)["average"] > 2 * floor
    finer = _textures(64, 1, grid=16)  # the same kind of colour field, with four times the detail
    assert image_metrics.swd(a, finer)["average"] > 2 * floor


def test_swd_is_exactly_zero_for_identical_descriptors_and_needs_equal_sizes():
    a = _textures(16, 0)
    d = image_metrics.patch_descriptors(a, seed=3)
    assert image_metrics.swd_from_descriptors(d, d, 32)["average"] == 0
    with pytest.raises(ValueError, match="same shape"):
        image_metrics.swd(a, a[:8])


def test_columns_sort_as_torch_sorts_them():
    x = torch.randn(300, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(image_metrics._sort_columns(x), torch.sort(x, dim=0).values)


def test_the_monitor_measures_exactly_what_the_full_computation_gives(tmp_path):
    """The monitor keeps the real side's projections; each measurement must equal `swd` from scratch."""
    from labutils.training.gan_watch import SWDMonitor

    real = _textures(40, 0)
    monitor = SWDMonitor(real, n=16, latent_dim=8, seed=5, patches_per_image=image_metrics.PATCHES_PER_IMAGE)
    g = Generator(latent_dim=8, image_size=32, channels=3, width=4)
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(5))
    reference = image_metrics.patch_descriptors(real[order[:16]], seed=5)
    other = image_metrics.patch_descriptors(real[order[16:32]], seed=6)
    assert monitor.floor == image_metrics.swd_from_descriptors(reference, other, 32, seed=7)["average"]
    fake = image_metrics.patch_descriptors(to_uint8(generate(g, monitor.noise)), seed=6)
    expected = image_metrics.swd_from_descriptors(reference, fake, 32, seed=7)["average"]
    assert monitor(g) == expected
    with torch.no_grad():
        g.net[-2].weight.mul_(3)  # another generator: another distance, from the same kept real side
    assert monitor(g) != expected


def test_a_kept_reference_measures_as_the_distance_computed_from_scratch():
    real, fake = _textures(48, 0), _textures(20, 9, grid=8)
    reference = image_metrics.SWDReference(real, n=16, seed=3)
    order = torch.randperm(48, generator=torch.Generator().manual_seed(3))
    ref_desc = image_metrics.patch_descriptors(real[order[:16]], seed=3)
    expected = image_metrics.swd_from_descriptors(ref_desc, image_metrics.patch_descriptors(fake[:16], seed=4),
                                                  32, seed=5)
    floor = image_metrics.swd_from_descriptors(ref_desc, image_metrics.patch_descriptors(real[order[16:32]], seed=4),
                                               32, seed=5)
    assert reference.measure(fake) == {"n": 16, "swd": expected, "floor": floor}
    assert image_metrics.swd_against_floor(real, fake, 16, seed=3) == reference.measure(fake)
    with pytest.raises(ValueError, match="Need n = 16 generated images"):
        reference.measure(fake[:8])


def test_each_repeated_distance_measures_its_own_generated_images():
    real, fake = _textures(64, 0), _textures(48, 9, grid=8)
    out = image_metrics.swd_repeats(real, {"g": fake}, n=16, repeats=3, seed=2)
    for r, s in enumerate(out["seeds"]):
        reference = image_metrics.SWDReference(real, 16, seed=s)
        assert out["g"][r] == reference.measure(fake[16 * r:16 * (r + 1)])["swd"]["average"]
        assert out["floor"][r] == reference.floor["average"]
    with pytest.raises(ValueError, match="each repeat its own n"):
        image_metrics.swd_repeats(real, {"g": fake[:40]}, n=16, repeats=3)


def test_laplacian_pyramid_reconstructs_the_image():
    x = torch.rand(2, 3, 64, 64)
    levels = image_metrics.laplacian_pyramid(x)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]
    out = levels[-1]
    for level in reversed(levels[:-1]):
        out = level + image_metrics._pyr_up(out)
    torch.testing.assert_close(out, x)


def test_frechet_against_floor_in_any_feature_space():
    real = _textures(200, 0)
    flat = lambda x: x.float().flatten(1)[:, ::64]  # (N, 48)
    same = image_metrics.frechet_against_floor(flat, real, _textures(100, 5), n=100)
    other = image_metrics.frechet_against_floor(flat, real, _textures(100, 5, grid=16), n=100)
    assert same["distance"] < 2 * same["floor"] < other["distance"]


def test_nearest_neighbours_finds_the_copy():
    pool = torch.rand(300, 3, 8, 8)
    queries = pool[[7, 250]] + 0.01
    index, distance = image_metrics.nearest_neighbours(queries, pool, batch_size=64)
    assert index.tolist() == [7, 250]
    assert torch.allclose(distance, torch.full((2,), 0.01), atol=1e-4)


# --- training -------------------------------------------------------------------------------------------

def test_diffaugment_keeps_shapes_and_is_differentiable():
    torch.manual_seed(0)
    x = torch.rand(5, 3, 32, 32, requires_grad=True)
    y = diff_augment(x * 2 - 1)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="diffaugment_policy"):
        GANConfig(diffaugment_policy="color,rotate")


def test_ema_follows_the_model_with_a_warm_up():
    assert ema_decay_at(0, 0.999) == pytest.approx(0.1)
    assert ema_decay_at(10**6, 0.999) == 0.999
    model, ema = nn.Linear(2, 2), nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.fill_(1.0)
        ema.weight.fill_(0.0)
    update_ema(ema, model, decay=0.75)
    assert torch.allclose(ema.weight, torch.full((2, 2), 0.25))


def test_recalibration_sets_batchnorm_statistics_of_the_generator():
    g = Generator(latent_dim=8, image_size=32, width=4)
    bn = next(m for m in g.modules() if isinstance(m, nn.BatchNorm2d))
    bn.running_mean.fill_(100.0)
    recalibrate_batchnorm(g, 8, seed=0, batches=2, batch_size=8)
    assert bn.running_mean.abs().max() < 10 and bn.momentum == 0.1


def test_every_epoch_end_reestimates_the_batchnorm_statistics_it_samples_with(tmp_path):
    trainer, step = _tiny(tmp_path, num_epochs=1, ema=True)
    trainer.fit()
    for generator in (step.generator, step.ema_generator):
        norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
        kept = [m.running_var.clone() for m in norms]
        recalibrate_batchnorm(generator, step.config.latent_dim, seed=step.config.seed + 1)
        # Training's momentum average alone would differ from a fresh estimate; end_epoch left the fresh one.
        assert all(torch.allclose(m.running_var, k) for m, k in zip(norms, kept))


def test_config_checks_values():
    for bad in (dict(dataset="cifar"), dict(generator="resnet"), dict(batch_size=1), dict(beta1=1.0),
                dict(train_size=10), dict(ema_decay=1.0), dict(device="tpu"), dict(r1_gamma=-1.0), dict(r1_every=0),
                dict(r2_gamma=-1.0)):
        with pytest.raises(ValueError):
            GANConfig(**bad)
    with pytest.raises(ValueError, match="loss must be one of"):
        GANConfig(loss="hinge")
    for penalty in ("r1_gamma", "r2_gamma"):
        with pytest.raises(ValueError, match="torch.compile"):
            GANConfig(**{penalty: 1.0}, compile=True)
    # Fields added later keep the names of runs that leave them at their defaults
    assert not {"loss", "r2_gamma", "d_batchnorm"} & set(GANConfig().identity())
    named = [GANConfig(**change).run_id() for change in ({}, {"loss": "relativistic"}, {"d_batchnorm": False},
                                                          {"r2_gamma": 1.0})]
    assert len(set(named)) == 4
    assert GANConfig().run_id() == GANConfig(device="cpu").run_id()
    assert GANConfig().run_id() != GANConfig(ema=True).run_id()
    assert GANConfig().replace(dataset="mnist").channels == 1


def test_each_data_set_has_its_own_image_size_unless_one_is_named():
    assert GANConfig().image_size == 64  # the reports' size for the art
    assert GANConfig(dataset="mnist").image_size == 32  # the digits padded, not upsampled
    assert GANConfig(dataset="mnist", image_size=64).image_size == 64
    # Resolved before the identity is taken: naming the default is the same run.
    assert GANConfig(image_size=64).run_id() == GANConfig().run_id()


def _tiny(tmp_path, num_epochs, config_epochs=None, **changes):
    config = GANConfig(image_size=32, latent_dim=8, g_width=4, d_width=4, batch_size=8,
                       num_epochs=config_epochs or num_epochs, swd_train_images=8, device="cpu", **changes)
    torch.manual_seed(0)
    images = (torch.rand(32, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    g, d = build_gan(config, torch.device("cpu"))
    step = GANStep(g, d, config)
    loader = TensorLoader(images, batch_size=8, shuffle=True, drop_last=True, transform=to_signed_unit_interval)
    trainer = Trainer(step, loader, num_epochs, checkpoint_path=tmp_path / "gan.pt", config=config.identity(),
                      progress=False, watch=GANWatch(config, real_images=images))
    return trainer, step


@pytest.mark.parametrize("options", [{}, dict(diffaugment=True, spectral_norm=True, ema=True)])
def test_gan_step_logs_finite_metrics(tmp_path, options):
    trainer, step = _tiny(tmp_path, 1, **options)
    batch = next(iter(trainer.train_loader))
    out = step.train_step(batch)
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert 0 < float(out["d_real"]) < 1 and 0 < float(out["d_fake"]) < 1


def _weights(module):
    return [p.detach().clone() for p in module.parameters()]


def test_each_players_update_moves_its_own_network_only_and_returns_what_it_measured():
    """The updates take what they use as arguments: D's update must not reach G, G's must leave D as it was."""
    from contextlib import nullcontext

    config = GANConfig(image_size=32, latent_dim=8, g_width=4, d_width=4, device="cpu")
    torch.manual_seed(0)
    g, d = build_gan(config, torch.device("cpu"))
    opt_g, opt_d = gan_step.gan_optimizers(g, d, config)
    assert opt_d.param_groups[0]["betas"] == (0.5, 0.999) and opt_g.param_groups[0]["lr"] == 2e-4  # DCGAN's
    x, fake = torch.rand(8, 3, 32, 32) * 2 - 1, g(torch.randn(8, 8))
    g_before, d_before = _weights(g), _weights(d)
    measured = gan_step.discriminator_update(d, opt_d, x, fake, lambda images: images, nullcontext)
    assert set(measured) == {"d_loss", "d_real", "d_fake"} and not any(v.requires_grad for v in measured.values())
    assert all(p.grad is None for p in g.parameters()) and all(torch.equal(a, b) for a, b in zip(g_before, _weights(g)))
    assert not any(torch.equal(a, b) for a, b in zip(d_before, _weights(d)))
    with_r1 = gan_step.discriminator_update(d, opt_d, x, fake, lambda images: images, nullcontext, r1_weight=2.0)
    assert float(with_r1["r1"]) > 0
    d_before = _weights(d)
    g_loss = gan_step.generator_update(d, opt_g, fake, lambda images: images, nullcontext)
    assert g_loss.dim() == 0 and not g_loss.requires_grad
    assert all(torch.equal(a, b) for a, b in zip(d_before, _weights(d))) and all(p.requires_grad for p in d.parameters())
    assert not any(torch.equal(a, b) for a, b in zip(g_before, _weights(g)))


def test_snapshots_and_history_survive_a_checkpoint_round_trip(tmp_path):
    trainer, step = _tiny(tmp_path, 2, ema=True)
    history = trainer.fit()
    snapshots = trainer.watch.snapshots
    assert len(snapshots) == 2 and snapshots[0].shape == (64, 3, 32, 32) and snapshots[0].dtype == torch.uint8
    assert len(history.iterations["d_loss"]) == 2 * 4
    assert {"swd", "swd_floor"} <= set(history.epochs[-1])
    again, fresh = _tiny(tmp_path, 2, ema=True)
    again.fit()  # loads instead of training
    assert len(again.watch.snapshots) == 2
    for a, b in zip(snapshots, again.watch.snapshots):
        assert torch.equal(a, b)
    assert fresh.iterations == step.iterations == 8
    for a, b in zip(step.ema_generator.parameters(), fresh.ema_generator.parameters()):
        assert torch.equal(a, b)


def test_resume_gives_the_same_generator_as_a_straight_run(tmp_path):
    straight, s1 = _tiny(tmp_path / "a", 2)
    straight.fit()
    first, _ = _tiny(tmp_path / "b", 1, config_epochs=2)  # interrupted after one of two epochs
    first.fit()
    torch.manual_seed(123)
    resumed, s2 = _tiny(tmp_path / "b", 2)
    resumed.fit()
    for a, b in zip(s1.generator.parameters(), s2.generator.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(resumed.watch.snapshots) == 2 and s2.iterations == s1.iterations == 8


def _tiny_recipe(tmp_path, monkeypatch):
    """A one-epoch config of a tiny GAN on 24 random digits, with its outputs under tmp_path."""
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    images = (torch.rand(24, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    data = GANData(images, "test tensors", False, "test")
    config = GANConfig(dataset="mnist", image_size=32, latent_dim=8, g_width=4, d_width=4, batch_size=8,
                       num_epochs=1, swd_train_images=8, device="cpu")
    return config, data


def test_train_gan_recipe_on_given_data(tmp_path, monkeypatch):
    config, data = _tiny_recipe(tmp_path, monkeypatch)
    run = train_gan(config, progress=False, data=data)
    assert run.checkpoint.exists() and run.checkpoint.parent == tmp_path / "checkpoints"
    assert run.sample(3).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="shape"):
        train_gan(config.replace(image_size=64), progress=False, data=data)


def test_a_loaded_checkpoint_samples_with_the_statistics_a_fresh_run_would_have(tmp_path, monkeypatch):
    config, data = _tiny_recipe(tmp_path, monkeypatch)
    run = train_gan(config, progress=False, data=data)
    fresh = run.sample(4)
    state = torch.load(run.checkpoint, weights_only=False)  # stored statistics that its weights do not give
    for key, value in state["step"]["modules"]["generator"].items():
        if key.endswith("running_mean"):
            value.fill_(5.0)
    torch.save(state, run.checkpoint)
    torch.testing.assert_close(train_gan(config, progress=False, data=data).sample(4), fresh)


def test_r1_penalty_is_the_squared_input_gradient_on_real_images_and_reaches_d(tmp_path):
    trainer, step = _tiny(tmp_path, 1, r1_gamma=10.0)
    batch = next(iter(trainer.train_loader))
    x = batch[0].detach().clone().requires_grad_(True)
    d_before = {k: v.clone() for k, v in step.discriminator.state_dict().items()}
    grad, = torch.autograd.grad(step.discriminator(x).sum(), x)  # D in training mode, as the step runs it
    step.discriminator.load_state_dict(d_before)  # undo the BatchNorm running-statistics update
    torch.manual_seed(1)
    out = step.train_step(batch)
    torch.testing.assert_close(out["r1"], grad.square().sum(dim=(1, 2, 3)).mean())
    _, plain = _tiny(tmp_path / "plain", 1)  # same seed, same weights, no penalty
    torch.manual_seed(1)
    assert "r1" not in plain.train_step(batch)
    penalised, unpenalised = step.discriminator.net[0].weight, plain.discriminator.net[0].weight
    assert not torch.allclose(penalised, unpenalised)


def test_relativistic_losses_score_each_real_image_against_its_generated_pair():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])  # pairs: real ahead by 2, behind by 1
    # softplus(fake - real) pair by pair: D is rewarded for real above fake, G for the order reversed
    expected_d = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2
    expected_g = (math.log1p(math.exp(2.0)) + math.log1p(math.exp(-1.0))) / 2
    assert float(gan_step.discriminator_loss(real, fake, "relativistic")) == pytest.approx(expected_d)
    assert float(gan_step.generator_loss(fake, real, "relativistic")) == pytest.approx(expected_g)
    assert expected_d < expected_g  # D ranks the real images higher overall: D is winning
    shifted = gan_step.discriminator_loss(real + 5, fake + 5, "relativistic")  # only differences count
    assert float(shifted) == pytest.approx(expected_d)
    assert float(gan_step.discriminator_loss(real + 5, fake + 5)) != pytest.approx(
        float(gan_step.discriminator_loss(real, fake)))  # BCE scores each image alone
    equal = torch.zeros(3)
    assert float(gan_step.discriminator_loss(equal, equal, "relativistic")) == pytest.approx(math.log(2))


def test_r2_penalty_is_the_squared_input_gradient_on_generated_images(tmp_path):
    from contextlib import nullcontext

    config = GANConfig(image_size=32, latent_dim=8, g_width=4, d_width=4, d_batchnorm=False, device="cpu")
    torch.manual_seed(0)
    g, d = build_gan(config, torch.device("cpu"))
    opt_g, opt_d = gan_step.gan_optimizers(g, d, config)
    x, fake = torch.rand(8, 3, 32, 32) * 2 - 1, g(torch.randn(8, 8))
    at_fake = fake.detach().clone().requires_grad_(True)
    grad, = torch.autograd.grad(d(at_fake).sum(), at_fake)
    g_before = _weights(g)
    measured = gan_step.discriminator_update(d, opt_d, x, fake, lambda images: images, nullcontext,
                                             loss="relativistic", r2_weight=3.0)
    assert set(measured) == {"d_loss", "d_real", "d_fake", "r2"}
    torch.testing.assert_close(measured["r2"], grad.square().sum(dim=(1, 2, 3)).mean())
    assert all(p.grad is None for p in g.parameters()) and all(torch.equal(a, b) for a, b in zip(g_before, _weights(g)))
    # The penalty reaches D's update: the same step without it moves D elsewhere
    penalised = _weights(d)
    torch.manual_seed(0)
    g2, d2 = build_gan(config, torch.device("cpu"))
    _, opt_d2 = gan_step.gan_optimizers(g2, d2, config)
    gan_step.discriminator_update(d2, opt_d2, x, fake, lambda images: images, nullcontext, loss="relativistic")
    assert not torch.allclose(penalised[0], _weights(d2)[0])


def test_a_relativistic_step_with_both_penalties_logs_them_and_moves_g_against_the_real_batch(tmp_path):
    trainer, step = _tiny(tmp_path, 1, loss="relativistic", r1_gamma=1.0, r2_gamma=1.0, r1_every=2,
                          d_batchnorm=False)
    batches = list(trainer.train_loader)[:2]
    torch.manual_seed(1)
    first = step.train_step(batches[0])
    assert set(first) == {"d_loss", "g_loss", "d_real", "d_fake", "r1", "r2"}
    assert all(torch.isfinite(v) for v in first.values()) and float(first["r2"]) > 0
    second = step.train_step(batches[1])  # lazy: not measured, the last measurements logged again
    assert torch.equal(second["r1"], first["r1"]) and torch.equal(second["r2"], first["r2"])
    assert step.state_dict()["counters"]["last_r2"] == pytest.approx(float(first["r2"]))
    # G's relativistic update reads the real batch (another batch, another update of G) and leaves D as it was
    from contextlib import nullcontext
    g, d = step.generator, step.discriminator
    d.eval()  # BatchNorm-free here; eval also keeps anything else in D from moving
    z = torch.randn(8, 8, generator=torch.Generator().manual_seed(3))
    d_before, moved = _weights(d), []
    for real in (batches[0][0], torch.flip(batches[0][0], dims=(0,))):  # the same images, paired otherwise
        g_copy = copy.deepcopy(g)
        opt = torch.optim.Adam(g_copy.parameters(), lr=1e-2)
        gan_step.generator_update(d, opt, g_copy(z), lambda i: i, nullcontext, "relativistic", real)
        moved.append(_weights(g_copy))
    assert not all(torch.allclose(a, b) for a, b in zip(*moved))
    assert all(torch.equal(a, b) for a, b in zip(d_before, _weights(d)))


def test_lazy_r1_penalises_every_nth_update_and_logs_the_last_measurement(tmp_path):
    trainer, lazy = _tiny(tmp_path, 1, r1_gamma=10.0, r1_every=2)
    _, plain = _tiny(tmp_path / "plain", 1)
    batches = list(trainer.train_loader)[:2]
    torch.manual_seed(1)
    first = lazy.train_step(batches[0])
    # From here both steps hold the same D, G and optimiser states: those after the penalised update.
    plain.discriminator.load_state_dict({k: v.clone() for k, v in lazy.discriminator.state_dict().items()})
    plain.generator.load_state_dict(lazy.generator.state_dict())
    plain.opt_d.load_state_dict(copy.deepcopy(lazy.opt_d.state_dict()))  # a copy: loading shares the tensors
    plain.opt_g.load_state_dict(copy.deepcopy(lazy.opt_g.state_dict()))
    torch.manual_seed(2)
    second = lazy.train_step(batches[1])  # not penalised: the same update as without R1
    torch.manual_seed(2)
    plain.train_step(batches[1])
    assert torch.equal(second["r1"], first["r1"]) and float(first["r1"]) > 0
    torch.testing.assert_close(lazy.discriminator.net[0].weight, plain.discriminator.net[0].weight)


def test_continuing_a_shorter_run_equals_training_straight_through(tmp_path, monkeypatch):
    """DiffAugment draws random numbers, EMA and lazy R1 count updates: all must carry over."""
    config, data = _tiny_recipe(tmp_path, monkeypatch)
    config = config.replace(diffaugment=True, ema=True, r1_gamma=1.0, r1_every=4, num_epochs=3)  # 3 updates an epoch
    straight = train_gan(config, progress=False, data=data)
    shorter = train_gan(config.replace(num_epochs=2), progress=False, data=data)
    straight.checkpoint.unlink()
    continued = train_gan(config, progress=False, data=data, continue_from=2)
    assert len(continued.history) == 3 and continued.checkpoint == straight.checkpoint and straight.checkpoint.exists()
    for name, module in straight.step.modules.items():
        for key, value in module.state_dict().items():
            torch.testing.assert_close(continued.step.modules[name].state_dict()[key], value, msg=f"{name}.{key}")
    assert continued.history.iterations == straight.history.iterations
    shorter.checkpoint.unlink()
    with pytest.raises(ValueError, match="nothing to continue"):
        train_gan(config.replace(num_epochs=2), progress=False, data=data, continue_from=3)
    with pytest.raises(FileNotFoundError, match="continue from"):
        train_gan(config.replace(num_epochs=4), progress=False, data=data, continue_from=1)


def test_mnist_is_padded_then_resized():
    digits = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    x32 = mnist_for_gan(digits, 32)
    assert x32.shape == (2, 1, 32, 32) and x32[0, 0, 0, 0] == 0 and x32[0, 0, 16, 16] == 255
    assert mnist_for_gan(digits, 64).shape == (2, 1, 64, 64)


def test_uint8_round_trip_and_seeded_noise():
    x = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    assert torch.equal(to_uint8(to_signed_unit_interval(x)), x)
    assert torch.equal(noise(4, 8, seed=1), noise(4, 8, seed=1))


def test_keeping_an_ema_does_not_change_training(tmp_path):
    """The options study reads '+ EMA' from the reports' run: that is fair only if the EMA changes nothing."""
    plain, s_plain = _tiny(tmp_path / "plain", 2)
    plain.fit()
    with_ema, s_ema = _tiny(tmp_path / "ema", 2, ema=True)
    with_ema.fit()
    for a, b in zip(s_plain.generator.parameters(), s_ema.generator.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not all(torch.equal(a, b) for a, b in zip(s_ema.generator.parameters(), s_ema.ema_generator.parameters()))


def test_a_bf16_autocast_step_logs_float32_metrics():
    trainer, step = _tiny_step_only(ema=True)
    step.autocast_dtype = torch.bfloat16
    out = step.train_step((torch.rand(8, 3, 32, 32) * 2 - 1,))
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in out.values())
    assert GANConfig(mixed_precision="bf16", compile=True).run_id() == GANConfig().run_id()
    with pytest.raises(ValueError, match="mixed_precision"):
        GANConfig(mixed_precision="fp8")


def _tiny_step_only(**changes):
    config = GANConfig(image_size=32, latent_dim=8, g_width=4, d_width=4, batch_size=8, swd_every=0,
                       device="cpu", **changes)
    g, d = build_gan(config, torch.device("cpu"))
    return None, GANStep(g, d, config)


# --- on a GPU -------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:.*to a meta parameter")  # loading weights into 'meta' ones: a no-op
def test_a_resumed_lazy_r1_keeps_its_last_measurement_on_the_training_device(tmp_path):
    """The engine reads a checkpoint onto the CPU; a GPU run's updates between two R1 measurements log
    last_r1 beside CUDA values, and stacking them needs one device. The 'meta' device stands in for the GPU."""
    trainer, step = _tiny(tmp_path, 1, r1_gamma=10.0, r1_every=2)
    trainer.fit()
    counters = step.state_dict()["counters"]
    assert counters["last_r1"].device == torch.device("cpu") and float(counters["last_r1"]) > 0
    assert not counters["last_r1"].requires_grad  # the measurement, without the graph of R1's double backward
    config = step.config
    on_meta = GANStep(*build_gan(config, torch.device("meta")), config)
    on_meta.load_state_dict(step.state_dict())
    assert on_meta.last_r1.device == torch.device("meta") and on_meta.iterations == step.iterations == 4


@pytest.mark.parametrize("device, deterministic, before, after", [
    ("cuda", False, False, True),   # fixed shapes: cuDNN's autotuner pays off
    ("cuda", True, False, False),   # deterministic algorithms asked for: no autotuning
    ("cpu", False, False, False),   # not touched on the CPU
    ("cpu", False, True, True),
])
def test_cudnn_autotunes_the_gan_on_cuda_only(monkeypatch, device, deterministic, before, after):
    from labutils.training.gan import tune_for_device

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    monkeypatch.setattr(torch, "are_deterministic_algorithms_enabled", lambda: deterministic)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", before)
    _, step = _tiny_step_only()
    tune_for_device(step, step.config, torch.device(device))
    assert torch.backends.cudnn.benchmark is after


# --- the loss plot's equilibrium lines ------------------------------------------------------------------

def _saturating_generator_loss(logits_generated):
    """Exercise 3 of notebook 04: G minimises log(1 - D(G(z)))."""
    return -torch.nn.functional.binary_cross_entropy_with_logits(logits_generated, torch.zeros_like(logits_generated))


@pytest.mark.parametrize("generator_loss, at_one_half", [
    (gan_step.generator_loss, lambda d: -math.log(d)),         # non-saturating: ln 2
    (_saturating_generator_loss, lambda d: math.log(1 - d)),   # saturating: -ln 2
])
def test_the_loss_plots_equilibrium_lines_are_the_losses_at_d_one_half(generator_loss, at_one_half):
    """Each reference line sits at its player's loss where D answers 1/2 (logits 0), whichever G loss is used."""
    reference = plots.gan_equilibrium_lines(gan_step.discriminator_loss, generator_loss)
    fig = plots.plot_gan_iterations({"d_loss": [1.0] * 8, "g_loss": [0.5] * 8}, {"d_loss": "D", "g_loss": "G"}, 4,
                                    title="t", ylabel="y", reference=reference)
    drawn = {line.get_label(): line.get_ydata()[0] for line in fig.axes[0].lines if "equilibrium" in line.get_label()}
    plt.close(fig)
    logits_at_one_half = torch.zeros(5)
    (d_label, d_y), (g_label, g_y) = sorted(drawn.items())
    assert d_y == pytest.approx(float(gan_step.discriminator_loss(logits_at_one_half, logits_at_one_half)))
    assert d_y == pytest.approx(-math.log(0.5) - math.log(1 - 0.5))  # 2 ln 2, on both sides of D
    assert g_y == pytest.approx(float(generator_loss(logits_at_one_half)))
    assert g_y == pytest.approx(at_one_half(0.5))
    assert (d_label, g_label) == (f"D at equilibrium: {d_y:.2f}", f"G at equilibrium: {g_y:.2f}")


def test_notebook_04_draws_the_equilibrium_lines_from_the_loss_functions_on_its_page():
    """A learner who edits `generator_loss` (exercise 3) sees its line move: the loss plot's reference lines
    are computed from the page's loss functions, not written as numbers."""
    cells = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks" / "04_gan.ipynb", as_version=4).cells
    calls = [node for cell in cells if cell.cell_type == "code" for node in ast.walk(ast.parse(cell.source))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "plot_gan_iterations"
             and "d_loss" in ast.unparse(node.args[1])]
    assert len(calls) == 1, "notebook 04: one loss plot (plot_gan_iterations of d_loss)"
    reference = next(k.value for k in calls[0].keywords if k.arg == "reference")
    assert ast.unparse(reference) == "lab.plots.gan_equilibrium_lines(discriminator_loss, generator_loss)", \
        f"notebook 04's loss plot draws its equilibrium lines from {ast.unparse(reference)}, not from the losses"


def test_the_options_study_starts_from_dcgans_generator_whatever_the_main_runs():
    """Exercise 2 sets `generator = "mlp"`: the study's "reports' set-up" and the data sweep stay DCGAN's,
    so that every variant is what its label says; the fully connected G is its own variant."""
    from labutils.training.gan_options import STUDY_VARIANTS, study_base

    for generator in ("conv", "mlp"):
        base = study_base(GANConfig(image_size=32, generator=generator), epochs=3)
        assert base.generator == "conv" and base.num_epochs == 3
        assert base.replace(**STUDY_VARIANTS["fully connected G (reports)"][0]).generator == "mlp"
    # A main run with every option on: the study's "reports' set-up" is still the reports'
    options = dict(diffaugment=True, spectral_norm=True, r1_gamma=1.0, r2_gamma=1.0, loss="relativistic",
                   d_batchnorm=False, beta1=0.5)
    base = study_base(GANConfig(image_size=32, **options), epochs=3)
    reports = GANConfig(image_size=32, num_epochs=3, ema=True, seed=base.seed)
    assert base.identity() == reports.identity()


def test_the_recipe_starts_from_the_main_runs_generator_and_changes_only_the_game():
    from labutils.training.gan import build_gan_step
    from labutils.training.gan_options import RECIPE

    config = GANConfig(image_size=32)
    main, recipe = (build_gan_step(c, torch.device("cpu")) for c in (config, config.replace(**RECIPE)))
    # 04's same-initialisation figure: both runs' G are the same network with the same weights
    for (name, a), b in zip(main.generator.state_dict().items(), recipe.generator.state_dict().values()):
        assert torch.equal(a, b), name
    assert any(isinstance(m, nn.BatchNorm2d) for m in main.discriminator.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in recipe.discriminator.modules())
    changed = {k for k, v in config.replace(**RECIPE).to_dict().items() if config.to_dict()[k] != v}
    assert changed == set(RECIPE)  # every field of the recipe differs from the reports' set-up, and nothing else
