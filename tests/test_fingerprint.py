"""A run is named after the code that trains it: the same code anywhere gives the same name, edited code another."""
import linecache
import textwrap

import torch

from labutils.config import AEConfig
from labutils.data.mnist import MNIST
from labutils.fingerprint import code_fingerprint
from labutils.models.autoencoder import Autoencoder
from labutils.training.runs import train_mnist_model
from labutils.training.steps import AutoencoderStep

STEP = '''
import torch.nn.functional as F
from labutils.training.step import Step, adam
latent_dim = {latent_dim}   # a notebook parameter that shares its name with a local


def ae_loss(x_hat, x):
    return {loss}


class AutoencoderStep(Step):
    def __init__(self, model, config):
        self.model = model
        self.optimizer = adam(model.parameters(), lr=config.lr)
        self.modules, self.optimizers = {{"model": model}}, {{"optimizer": self.optimizer}}

    def train_step(self, batch):
        x = batch[0].flatten(1)  {comment}
        latent_dim = 3
        loss = ae_loss(self.model(x), x)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {{"loss": loss.detach()}}

    def eval_step(self, batch):
        x = batch[0].flatten(1)
        return {{"loss": ae_loss(self.model(x), x)}}
'''


def _run_as_a_cell(name, source, defines="AutoencoderStep"):
    """Run `source` as a notebook cell runs (IPython keeps its source in linecache), in a namespace of its own;
    return what it `defines`."""
    filename = f"<cell {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[defines]


def _cell(name, loss="F.mse_loss(x_hat, x)", comment="", latent_dim=32):
    return _run_as_a_cell(name, textwrap.dedent(STEP.format(loss=loss, comment=comment, latent_dim=latent_dim)))


def test_the_same_code_in_two_places_names_the_same_run_and_an_edit_another():
    original = code_fingerprint(Autoencoder, _cell("a"))
    assert code_fingerprint(Autoencoder, _cell("b", comment="# a comment changes nothing")) == original
    assert code_fingerprint(Autoencoder, _cell("c", latent_dim=2)) == original  # a global the code does not read
    assert code_fingerprint(Autoencoder, _cell("d", loss="F.l1_loss(x_hat, x)")) != original  # the loss it calls
    assert code_fingerprint(Autoencoder, _cell("e", loss="2 * F.mse_loss(x_hat, x)")) != original


def _package_copy(name, edit=("", "")):
    """The package's AutoencoderStep and its loss, run as a notebook cell (optionally edited)."""
    import inspect

    from labutils.training import steps

    source = ("import torch\nimport torch.nn.functional as F\nfrom labutils.config import AEConfig\n"
              "from labutils.models.autoencoder import Autoencoder\nfrom labutils.training.step import Step, adam\n\n"
              + inspect.getsource(steps.ae_loss) + "\n\n" + inspect.getsource(steps.AutoencoderStep)).replace(*edit)
    return _run_as_a_cell(name, source)


def test_the_notebook_s_copy_of_a_class_names_the_same_run_as_the_package_s():
    """What test_notebook_export guarantees textually, the fingerprint sees as the same code."""
    assert code_fingerprint(Autoencoder, _package_copy("copy")) == code_fingerprint(Autoencoder, AutoencoderStep)


def _tiny_mnist():
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(80, 28, 28, generator=g) * 255).to(torch.uint8)
    labels = torch.arange(80) % 10
    return MNIST(images[:64], labels[:64], images[64:], labels[64:], "test tensors")


def test_a_checkpoint_trained_by_other_code_is_never_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    mnist, config = _tiny_mnist(), AEConfig(num_epochs=1, hidden_dims=(8,), latent_dim=2, batch_size=16, device="cpu")
    package = train_mnist_model(config, mnist, progress=False)
    again = train_mnist_model(config, mnist, progress=False, step_class=_package_copy("same"))
    assert again.loaded and again.checkpoint == package.checkpoint  # the notebook's unchanged copy: loaded
    edited_step = _package_copy("edited", ("F.mse_loss(x_hat, x)", "F.l1_loss(x_hat, x)"))
    edited = train_mnist_model(config, mnist, progress=False, step_class=edited_step)
    assert not edited.loaded and edited.checkpoint != package.checkpoint  # edited: trained anew, beside it
    assert edited.history["train_loss"] != package.history["train_loss"]
    assert package.checkpoint.exists() and edited.checkpoint.exists()


def _loop_copy(name, edit=("", "")):
    """The package's `train_loop` and its `evaluate` (notebook 01's cell), run as a notebook cell (optionally edited)."""
    import inspect

    from labutils.training import loop

    source = ("import torch\nfrom labutils.training.step import Step, mean_metrics\n\n"
              + inspect.getsource(loop.evaluate) + "\n\n" + inspect.getsource(loop.train_loop)).replace(*edit)
    return _run_as_a_cell(name, source, defines="train_loop")


def test_the_loop_is_part_of_a_run_s_name_and_an_edited_loop_is_what_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    mnist, config = _tiny_mnist(), AEConfig(num_epochs=1, hidden_dims=(8,), latent_dim=2, batch_size=16, device="cpu")
    package = train_mnist_model(config, mnist, progress=False)
    same = train_mnist_model(config, mnist, progress=False, loop=_loop_copy("loop"))
    assert same.loaded and same.checkpoint == package.checkpoint  # notebook 01's unchanged copy: loaded
    mirrored = ("step.train_step(batch)", "step.train_step((batch[0].flip(-1), *batch[1:]))")  # trains on mirror images
    edited = train_mnist_model(config, mnist, progress=False, loop=_loop_copy("edited loop", mirrored))
    assert not edited.loaded and edited.checkpoint != package.checkpoint  # edited: trained anew, beside it
    assert edited.history["train_loss"] != package.history["train_loss"]  # by the edited loop


def test_an_edit_of_the_in_training_distance_renames_no_gan_run_but_an_edit_of_the_step_does(monkeypatch):
    from labutils.metrics import images
    from labutils.training import gan_step
    from labutils.training.gan import GANParts

    def other_sort(x):  # the distance's code, edited
        return x.sort(dim=0, descending=True).values

    def other_ema(ema, model, decay):  # the EMA update, edited
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.copy_(p)

    before = GANParts().fingerprint()
    monkeypatch.setattr(images, "_sort_columns", other_sort)
    assert GANParts().fingerprint() == before  # how training is watched is not part of a run's name
    monkeypatch.setattr(gan_step, "update_ema", other_ema)
    assert GANParts().fingerprint() != before  # what trains is


PINNED = '''
import math

SCALE = 0.5  # a module constant that the code reads: it counts


def squash(x, power=2):
    """A docstring does not count."""
    return math.tanh(x) ** power


class Scaler:
    """Nor does this one."""
    offset = 1

    @staticmethod
    def label(x):
        return f"{x!r:>{8}} scaled"  # from 3.12 an f-string comes as pieces: it is read whole

    def __call__(self, x):
        return SCALE * squash(x) + self.offset
'''
PINNED_FINGERPRINT = "e9db6ece"  # the name of PINNED's `Scaler` on Python 3.11, 3.12 and 3.13 alike


def test_the_normal_form_is_pinned():
    """Any change to the normal form renames every run (a checkpoint trained before is not found): it shows here."""
    import inspect

    from labutils.fingerprint import normal_form

    scaler = _run_as_a_cell("pinned", PINNED, defines="Scaler")
    assert normal_form(inspect.getsource(scaler.label)) == '@ staticmethod\ndef label ( x ) :\n return f"{x!r:>{8}} scaled"'
    assert code_fingerprint(scaler) == PINNED_FINGERPRINT


def test_the_normal_form_leaves_out_what_does_not_run_and_keeps_what_does():
    from labutils.fingerprint import normal_form

    method = '''
    @torch.no_grad()
    def step(self, x,
             scale=2):  # a comment
        """A docstring."""

        y = f"{x}"  # an f-string computes: it stays
        return scale*x
'''
    form = normal_form(method)
    assert form == ('@ torch . no_grad ( )\ndef step ( self , x , scale = 2 ) :\n y = f"{x}"\n'
                    ' return scale * x')
    assert normal_form(textwrap.dedent(method)) == form  # a method as its class holds it, or at a cell's top
    assert normal_form(method.replace("    ", "\t")) == form  # indentation's width and kind
    assert normal_form(method.replace("return scale*x", "return scale * x")) == form
    assert normal_form(method.replace("scale*x", "scale*x*x")) != form
    assert normal_form(method.replace('f"{x}"', 'f"{x!r}"')) != form
    assert normal_form(method.replace("        return", "    return")) != form  # out of the function: another program


def test_a_function_without_source_is_refused_and_a_dataclass_is_named_by_its_fields():
    import pytest

    from labutils.fingerprint import NoSource

    namespace = {"__name__": "__main__"}
    exec("def no_file(x):\n    return x + 1\n", namespace)  # no linecache entry: compiled code only
    with pytest.raises(NoSource, match="no_file: its source cannot be read"):
        code_fingerprint(namespace["no_file"])
    cell = "from dataclasses import dataclass\n\n@dataclass\nclass Part:\n    width: int\n\n    def area(self):\n        return self.width ** 2\n"
    named = code_fingerprint(_run_as_a_cell("dataclass", cell, defines="Part"))  # its __init__ has no source
    assert code_fingerprint(_run_as_a_cell("dataclass again", cell, defines="Part")) == named
    assert code_fingerprint(_run_as_a_cell("another field", cell.replace("width: int\n", "width: int\n    height: int\n"),
                                           defines="Part")) != named


def test_the_fingerprint_follows_names_through_a_decorator():
    """`@torch.no_grad()` wraps a function in torch's: the fingerprint reads ours, and what ours names."""
    cell = "import torch\n\ndef helper(x):\n    return x * 2\n\n@torch.no_grad()\ndef evaluate(x):\n    return helper(x)\n"
    named = code_fingerprint(_run_as_a_cell("wrapped", cell, defines="evaluate"))
    assert code_fingerprint(_run_as_a_cell("wrapped, helper edited", cell.replace("x * 2", "x * 3"), defines="evaluate")) != named


F_STRINGS = "y = f\"a{x!r:>{w}}b\" + f'{f\"{x}\"}'\n"
F_STRING_PIECES = [  # tokenize's tokens of F_STRINGS on Python 3.12 and 3.13 (recorded there): (kind, string, columns)
    ("NAME", "y", 0, 1), ("OP", "=", 2, 3), ("FSTRING_START", 'f"', 4, 6), ("FSTRING_MIDDLE", "a", 6, 7),
    ("OP", "{", 7, 8), ("NAME", "x", 8, 9), ("OP", "!", 9, 10), ("NAME", "r", 10, 11), ("OP", ":", 11, 12),
    ("FSTRING_MIDDLE", ">", 12, 13), ("OP", "{", 13, 14), ("NAME", "w", 14, 15), ("OP", "}", 15, 16),
    ("FSTRING_MIDDLE", "", 16, 16), ("OP", "}", 16, 17), ("FSTRING_MIDDLE", "b", 17, 18), ("FSTRING_END", '"', 18, 19),
    ("OP", "+", 20, 21), ("FSTRING_START", "f'", 22, 24), ("OP", "{", 24, 25), ("FSTRING_START", 'f"', 25, 27),
    ("OP", "{", 27, 28), ("NAME", "x", 28, 29), ("OP", "}", 29, 30), ("FSTRING_END", '"', 30, 31), ("OP", "}", 31, 32),
    ("FSTRING_END", "'", 32, 33), ("NEWLINE", "\n", 33, 34)]


def test_3_12_s_f_string_pieces_read_as_3_11_s_one_token(monkeypatch):
    """The tests run on 3.11, whose tokenize gives an f-string whole; 3.12's pieces are fed in to show they read the same."""
    import tokenize

    from labutils import fingerprint

    as_3_11_reads_it = fingerprint.normal_form(F_STRINGS)
    assert as_3_11_reads_it == "y = f\"a{x!r:>{w}}b\" + f'{f\"{x}\"}'"
    kinds = {"NAME": tokenize.NAME, "OP": tokenize.OP, "NEWLINE": tokenize.NEWLINE,
             "FSTRING_START": 1001, "FSTRING_MIDDLE": 1002, "FSTRING_END": 1003}  # kinds that 3.11 does not have
    pieces = [tokenize.TokenInfo(kinds[kind], string, (1, start), (1, end), F_STRINGS)
              for kind, string, start, end in F_STRING_PIECES]
    monkeypatch.setattr(fingerprint, "_STRING_STARTS", {kinds["FSTRING_START"]})
    monkeypatch.setattr(fingerprint, "_STRING_ENDS", {kinds["FSTRING_END"]})
    monkeypatch.setattr(tokenize, "generate_tokens", lambda readline: iter(pieces))
    assert fingerprint.normal_form(F_STRINGS) == as_3_11_reads_it
