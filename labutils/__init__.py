"""labutils: the shared code of the generative-models lab.

Notebooks start with `import labutils as lab` and call into it:

    runtime   where files live, device, seed          labutils.runtime
    config    one typed dataclass per model family     labutils.config
    data      MNIST, abstract art, fast tensor loaders labutils.data
    models    AE, VAE, DCGAN, MNIST classifier          labutils.models
    training  one engine, per-family steps, recipes    labutils.training
    metrics   measurements and metrics files           labutils.metrics, labutils.image_metrics
    plots     figures                                  labutils.plots
    profiles  full / quick / smoke parameter sets      labutils.profiles
    pipeline, report, bench: `make run-all`, `make report`/`make readme`, `make bench`
"""
from labutils import metrics, plots, profiles
from labutils.config import AEConfig, VAEConfig
from labutils.data import TensorLoader, load_abstract_art, load_mnist
from labutils.models import VAE, Autoencoder
from labutils.runtime import data_dir, describe_device, get_device, outputs_dir, repo_root, set_seed
from labutils.training import Trainer, train_mnist_model
from labutils.training.gan import GANConfig, train_gan

__all__ = [
    "AEConfig", "VAEConfig", "TensorLoader", "load_abstract_art", "load_mnist", "VAE", "Autoencoder",
    "data_dir", "describe_device", "get_device", "outputs_dir", "repo_root", "set_seed",
    "Trainer", "train_mnist_model", "GANConfig", "train_gan", "metrics", "plots", "profiles",
]
