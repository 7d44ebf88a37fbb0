"""`make bench`: how long each explorer takes to answer a move of its control, on this device.

The networks are the reports' sizes, untrained: a render costs the same whatever the weights. The
neighbour search runs over 60000 random training rows, as many as MNIST has. The issue's bar for a
slider that feels live is 0.2 s.
"""
from __future__ import annotations

import torch

LIVE_SECONDS = 0.2


def explorer_response_times(device: torch.device, repeats: int = 20) -> dict[str, float]:
    """{explorer: median seconds of one render} for every explorer the notebooks show."""
    from labutils.explore import gan as explore_gan
    from labutils.explore import vae as explore_vae
    from labutils.explore.autoencoder import reconstruction_picker
    from labutils.explore.neighbours import NeighbourSearch, neighbour_explorer
    from labutils.models.autoencoder import VAE, Autoencoder
    from labutils.models.gan import Generator

    torch.manual_seed(0)
    vae, ae = VAE().to(device).eval(), Autoencoder().to(device).eval()
    generator = Generator(image_size=64).to(device).eval()
    test, train = torch.rand(1000, 784), torch.rand(60000, 784)
    search = NeighbourSearch.build({"pixels": (train, test), "AE": (torch.randn(60000, 32), torch.randn(1000, 32)),
                                    "VAE": (torch.randn(60000, 32), torch.randn(1000, 32))},
                                   train, test, torch.zeros(60000), torch.zeros(1000))
    explorers = {
        "01 reconstruction picker": reconstruction_picker(ae, test),
        "02 latent sliders (8)": explore_vae.latent_sliders(vae, torch.randn(10, 32), dims=list(range(8))),
        "02 interpolation": explore_vae.interpolation(vae, test, 0, 1),
        "03 nearest neighbours (3 spaces, 60000 images)": neighbour_explorer(search),
        "04 training slider (64 px)": explore_gan.training_slider([torch.zeros(64, 3, 64, 64, dtype=torch.uint8)] * 5),
        "04 latent walk (8 images, 64 px)": explore_gan.latent_walk(generator, 100, 3, 4),
    }
    return {name: explorer.response_seconds(repeats) for name, explorer in explorers.items()}


def format_response_times(times: dict[str, float]) -> str:
    lines = [f"Explorers, one render per control move (the bar: {1000 * LIVE_SECONDS:.0f} ms):"]
    lines += [f"  {name:<48} {1000 * seconds:7.1f} ms" for name, seconds in times.items()]
    return "\n".join(lines)
