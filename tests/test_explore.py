"""The explorers: each render answers the controls' values, the widget re-renders on a change, and a
headless run gets the static figure instead."""
import io

import torch
from PIL import Image

from labutils import explore
from labutils.explore import gan as explore_gan
from labutils.explore import vae as explore_vae
from labutils.explore.autoencoder import reconstruction_picker
from labutils.models.autoencoder import VAE, Autoencoder
from labutils.models.gan import Generator
from labutils.models.sampling import generate, noise, to_uint8


def _png(data):
    return Image.open(io.BytesIO(data))


def test_to_png_lays_out_a_grid_of_scaled_images():
    picture = _png(explore.to_png(torch.rand(6, 784), nrow=3, scale=2))
    assert picture.size == (2 * (3 * 30 + 2), 2 * (2 * 30 + 2))  # make_grid pads every image by 2 pixels


def test_latent_sliders_decode_what_the_sliders_say():
    torch.manual_seed(0)
    model = VAE(hidden_dims=(16,), latent_dim=4).eval()
    starts = torch.randn(10, 4)
    sliders = explore_vae.latent_sliders(model, starts, dims=[2, 0])
    assert list(sliders.controls) == ["start", "z2", "z0"]
    before = sliders.render(**sliders.values())
    sliders.controls["z2"].value = 2.5
    after = sliders.render(**sliders.values())
    z = starts[0].clone()
    z[2] = 2.5
    assert after != before and after == explore.to_png(model.decode(z[None]).detach(), nrow=1, scale=8)


def test_the_widget_redraws_on_a_change_and_a_digit_pick_moves_the_sliders():
    model = VAE(hidden_dims=(16,), latent_dim=4).eval()
    starts = torch.randn(10, 4)
    sliders = explore_vae.latent_sliders(model, starts, dims=[1])
    box = sliders.widget()
    assert "lab-latent-explorer" in box._dom_classes
    image = box.children[0].children[1]
    first = image.value
    sliders.controls["start"].value = 3
    assert sliders.controls["z1"].value == float(starts[3, 1]) and image.value != first


def test_interpolation_runs_from_the_first_image_s_code_to_the_last_s():
    model = VAE(hidden_dims=(16,), latent_dim=4).eval()
    images = torch.rand(5, 784)
    walk = explore_vae.interpolation(model, images, first=1, last=3)
    mu = model.encode(images[[1, 3]])[0]
    for t, code in ((0.0, mu[0]), (1.0, mu[1])):
        walk.controls["t"].value = t
        expected = torch.cat([images[1:2], model.decode(code[None]).detach(), images[3:4]])
        assert walk.render(**walk.values()) == explore.to_png(expected, nrow=3, scale=6)


def test_the_manifold_and_traversal_figures_hold_every_decoded_code():
    model = VAE(hidden_dims=(8,), latent_dim=2).eval()
    assert explore_vae.manifold_figure(model, n=5).axes[0].images[0].get_array().shape[:2] == (5 * 30 + 2,) * 2
    traversal = explore_vae.traversal_figure(model, torch.zeros(2), dims=[0, 1], steps=4)
    assert traversal.axes[0].images[0].get_array().shape[:2] == (2 * 30 + 2, 4 * 30 + 2)


def test_the_reconstruction_picker_shows_the_picked_image_and_its_reconstruction():
    model = Autoencoder(hidden_dims=(8,), latent_dim=2).eval()
    images = torch.rand(4, 784)
    picker = reconstruction_picker(model, images)
    picker.controls["index"].value = 2
    expected = torch.cat([images[2:3], model(images[2:3]).detach()])
    assert picker.render(**picker.values()) == explore.to_png(expected, nrow=2, scale=6)


def test_gan_explorers_show_the_picked_epoch_and_the_walk_s_ends():
    snapshots = [torch.full((4, 3, 32, 32), 10 * e, dtype=torch.uint8) for e in range(3)]
    slider = explore_gan.training_slider(snapshots)
    assert slider.controls["epoch"].value == 3
    assert slider.render(epoch=2) == explore.to_png(snapshots[1], nrow=8, image_shape=(3, 32, 32), scale=2)
    generator = Generator(latent_dim=8, image_size=32, width=4)
    walk = explore_gan.latent_walk(generator, 8, first_seed=1, last_seed=2)
    start = to_uint8(generate(generator, noise(explore_gan.WALK_IMAGES, 8, 1)))
    assert walk.render(first=1, last=2, t=0.0) == explore.to_png(start, nrow=explore_gan.WALK_IMAGES,
                                                                 image_shape=(3, 32, 32))
    assert walk.render(first=1, last=2, t=1.0) != walk.render(first=1, last=2, t=0.0)


def test_show_puts_the_static_figure_in_place_of_the_widget_when_headless(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    model = VAE(hidden_dims=(8,), latent_dim=2).eval()
    sliders = explore_vae.latent_sliders(model, torch.zeros(10, 2), dims=[0])
    import matplotlib.pyplot as plt

    open_before = set(plt.get_fignums())
    explore.show(sliders, interactive=False, name="static", static=lambda: explore_vae.manifold_figure(model, 3))
    assert (tmp_path / "figures" / "static.png").exists()
    assert set(plt.get_fignums()) == open_before  # displayed once, then closed: the inline backend shows no copy
    explore.show(sliders, interactive=True, name="never", static=lambda: 1 / 0)  # the widget: no figure is made
    assert not (tmp_path / "figures" / "never.png").exists()
