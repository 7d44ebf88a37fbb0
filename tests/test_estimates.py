"""The estimates that notebooks print before they train: they follow the parameters, and a run whose
checkpoint exists costs nothing."""
import torch

from labutils import estimates
from labutils.config import AEConfig, GANConfig, VAEConfig
from labutils.estimates import REFERENCE_COSTS, measured_costs, plan_gan, plan_mnist
from labutils.runtime import checkpoint_path
from labutils.training.gan import GANParts
from labutils.training.gan_options import RECIPE

MNIST_VALUES = {"num_epochs": 10, "train_size": None, "test_size": None, "seeds": 3, "collapse_demo_epochs": 3,
                "exercise_epochs": 5}
GAN_VALUES = {"image_size": 32, "num_epochs": 30, "train_size": None, "variant_epochs": 8, "recipe_epochs": 30,
              "swd_images": 1024, "classifier_epochs": 4, "data_fractions": (0.25, 0.5, 1.0), "exercise_epochs": 50}


def training(plan, sections=None) -> float:
    return sum(p.seconds(REFERENCE_COSTS) for p in plan if sections is None or p.section.split(",")[0] in sections)


def test_doubling_num_epochs_doubles_the_training_it_drives(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))  # no checkpoints: everything trains
    config = AEConfig(num_epochs=10)
    once = plan_mnist("01_autoencoder", MNIST_VALUES, config, code="c")
    twice = plan_mnist("01_autoencoder", {**MNIST_VALUES, "num_epochs": 20}, config, code="c")
    assert training(twice, {"main run", "seeds"}) == 2 * training(once, {"main run", "seeds"}) > 0
    gan = GANConfig(image_size=32, num_epochs=30)
    once, twice = (plan_gan({**GAN_VALUES, "num_epochs": n}, gan, "c", 2872) for n in (30, 60))
    assert training(twice, {"main run"}) == 2 * training(once, {"main run"}) > 0
    assert training(twice) < 2 * training(once)  # the study, the sweep and the exercise keep their epochs


def test_a_loaded_run_costs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    plan = plan_mnist("02_vae", MNIST_VALUES, VAEConfig(num_epochs=10), code="c")
    assert [p.section for p in plan] == ["main run", "seeds, seed 1", "seeds, seed 2", "collapse demo, sum",
                                         "collapse demo, mean", "exercise, latent_dim 2"]
    main = plan[0]
    assert main.seconds(REFERENCE_COSTS) > 0
    main.checkpoint.touch()  # the checkpoint of this config and code: the run is loaded
    assert main.loaded and main.seconds(REFERENCE_COSTS) == 0
    assert all(not p.loaded for p in plan[1:])


def test_the_parameters_say_which_sections_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    gan = GANConfig(image_size=32, num_epochs=30)
    sections = lambda values: [p.section for p in plan_gan(values, gan, "c", 2872)]
    assert sections(GAN_VALUES).count("options study") == 5
    # the sweep: a quarter with two seeds, a half with one, the whole set's second seed (its first is the study's)
    sweep = [p for p in plan_gan(GAN_VALUES, gan, "c", 2872) if p.section == "data sweep"]
    assert [(p.images, p.epochs) for p in sweep] == [(718, 32), (718, 32), (1436, 16), (2872, 8)]
    assert len({p.checkpoint for p in sweep}) == 4
    # the recipe run: the notebook's own, the recipe on the main run's seed, so a trained one counts as loaded
    recipe, = [p for p in plan_gan(GAN_VALUES, gan, "c", 2872) if p.section == "recipe run"]
    assert recipe.checkpoint == checkpoint_path(gan.replace(**RECIPE, num_epochs=30).run_id(code="c"))
    off = {**GAN_VALUES, "variant_epochs": 0, "recipe_epochs": 0, "exercise_epochs": 0}
    assert sections(off) == ["main run"]
    # Twice the image side, four times the pixels: the main run costs four times as much.
    big = plan_gan({**off, "image_size": 64}, gan, "c", 2872)
    assert training(big) == 4 * training(plan_gan(off, gan, "c", 2872))


def test_costs_come_from_this_machines_checkpoints(tmp_path):
    state = {"history": {"epochs": [{"seconds": 3.0}, {"seconds": 3.0}], "iterations": {"loss": [0.0] * 20}},
             "config": {"batch_size": 10}}
    torch.save(state, tmp_path / "autoencoder-00000000.pt")
    costs = measured_costs(tmp_path)
    assert costs["autoencoder"] == 6.0 / (20 * 10 * 784)   # 6 s over 200 images x 784 pixels
    assert costs["vae"] == REFERENCE_COSTS["vae"]           # none here: the reference CPU's
    state["history"]["epochs"] = [{"seconds": 1.0}]           # a smoke run's: mostly set-up, not used
    torch.save(state, tmp_path / "vae-00000000.pt")
    assert measured_costs(tmp_path)["vae"] == REFERENCE_COSTS["vae"]


def test_the_printed_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    now, quick = estimates.show("01_autoencoder", "full", {**MNIST_VALUES, "num_epochs": 50},
                                lambda values: plan_mnist("01_autoencoder", values, AEConfig(), code="c"),
                                REFERENCE_COSTS)
    printed = capsys.readouterr().out
    assert "main run" in printed and "total" in printed and "profile quick would take" in printed
    assert now > quick > 0


def test_03_names_the_runs_of_01_and_02_it_did_not_find(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))  # a fresh runtime: none of them
    values = {"tsne_samples": 300, "classifier_epochs": 1, "iwae_k": 10, "iwae_images": 200, "seeds": 2}
    estimates.show_evaluation("smoke", values, AEConfig(num_epochs=1), VAEConfig(num_epochs=1))
    printed = capsys.readouterr().out
    assert "01's AE, 2 of its 2 seed(s)" in printed and "02's VAE, 2 of its 2 seed(s)" in printed


def test_each_04_exercise_costs_at_most_the_run_it_retrains(tmp_path, monkeypatch, capsys):
    """Exercises 2-5 train the main run alone (`main_run_only`), exercise 1 its two small runs: none costs
    more than the main run at the quick profile, and each counts as trained anew even where loaded."""
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    quick = {**GAN_VALUES, "num_epochs": 20, "variant_epochs": 3, "recipe_epochs": 0, "exercise_epochs": 0}
    config = GANConfig(image_size=32, num_epochs=20)
    parts = GANParts()
    here = estimates.show_exercises(quick, config, parts, 2872)
    printed = capsys.readouterr().out
    main_run = plan_gan({**quick, "variant_epochs": 0}, config, parts.fingerprint(), 2872)[0]
    assert main_run.section == "main run"
    main_seconds = main_run.training_seconds(measured_costs())
    assert set(here) == {"1  exercise_epochs = N, nothing else", '2  generator = "mlp", main_run_only = True',
                         "3-5  an edited loss or update, or beta1, main_run_only = True"}
    assert all(0 < seconds <= main_seconds for seconds in here.values())
    assert "2 run(s), 50 ep." in printed and "1 run(s), 20 ep." in printed
    main_run.checkpoint.touch()  # the unchanged main run is loaded; an exercise's edited run still trains
    assert estimates.show_exercises(quick, config, parts, 2872) == here
