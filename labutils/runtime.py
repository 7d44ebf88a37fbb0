"""Runtime: where the lab's files live, which device it trains on, and seeding.

Everything here is resolved once and printed, so a notebook's first cell says exactly
where it reads and writes and on what hardware it runs. The lowest layer of the package:
it imports nothing else of the lab.
"""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch

_MARKERS = ("pyproject.toml", "labutils")


def _looks_like_root(path: Path) -> bool:
    return all((path / marker).exists() for marker in _MARKERS)


def repo_root() -> Path:
    """The lab's root folder, whatever the working directory (papermill --cwd, Jupyter, Colab).

    Order: $LAB_ROOT, the checkout this package was imported from (editable install),
    then the working directory and its parents. Falls back to the working directory,
    so a pip-installed labutils in Colab writes next to the notebook.
    """
    if env := os.environ.get("LAB_ROOT"):
        return Path(env).expanduser().resolve()
    package_parent = Path(__file__).resolve().parent.parent
    if _looks_like_root(package_parent):
        return package_parent
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if _looks_like_root(candidate):
            return candidate
    return cwd


def data_dir(*parts: str) -> Path:
    """`<root>/data/...`, created on first use. Downloaded or generated data, never committed."""
    path = repo_root().joinpath("data", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def outputs_dir(*parts: str) -> Path:
    """`<root>/outputs/...`, created on first use: figures, metrics, notebooks, checkpoints.

    $LAB_OUTPUTS moves the whole tree; the tests use it so that they never overwrite a real run.
    """
    base = Path(os.environ["LAB_OUTPUTS"]).expanduser() if os.environ.get("LAB_OUTPUTS") else repo_root() / "outputs"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_path(run_id: str) -> Path:
    """`outputs/checkpoints/<run_id>.pt`: every trained model of the lab is stored under its run id."""
    return outputs_dir("checkpoints") / f"{run_id}.pt"


def write_atomically(path: Path | str, write: Callable[[Path], None]) -> Path:
    """`write(partial)` to a temporary name beside `path`, then rename it to `path`.

    An interrupted run never leaves half a file that a later run would take for a whole one, and a
    `write` that raises leaves nothing at all: its partial file is removed before the error goes on.
    The temporary name holds the process id, so two processes never write into the same one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:  # Ctrl-C included
        partial.unlink(missing_ok=True)
        raise
    return path


def save_atomically(obj: Any, path: Path | str) -> Path:
    """`torch.save(obj)` to `path` through `write_atomically`: checkpoints and data caches."""
    import torch

    return write_atomically(path, lambda partial: torch.save(obj, partial))


def get_device(preference: str = "auto") -> "torch.device":
    """Resolve `"auto"` to CUDA, then Apple MPS, then CPU; or check an explicit choice.

    An explicit device that is not available is refused here, before any training starts. So is a
    CUDA device whose architecture this torch build has no kernels for; `"auto"` then says so in one
    line and trains on the CPU instead of failing at the first kernel.
    """
    import torch  # here, not at the top: `make run-all`'s runner imports this module without torch

    preference = str(preference).strip().lower()
    if preference == "auto":
        if torch.cuda.is_available():
            problem = unsupported_cuda_device(None)
            if problem is None:
                return torch.device("cuda")
            why, fix = problem
            if why not in _FALLBACKS_REPORTED:  # once per process, not at every run's start
                _FALLBACKS_REPORTED.add(why)
                print(f"{why}: training on the CPU; {fix}", flush=True)
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError as err:
        raise ValueError(
            f"Unknown device {preference!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={preference!r} but CUDA is not available here: use 'auto' or 'cpu'.")
    if device.type == "cuda" and device.index is not None and device.index >= (count := torch.cuda.device_count()):
        raise ValueError(f"device={preference!r} but this machine has {count} CUDA device(s), "
                         f"cuda:0..cuda:{count - 1}: use 'cuda' or one of those.")
    if device.type == "cuda" and (problem := unsupported_cuda_device(device.index)) is not None:
        raise ValueError(f"device={preference!r}: {problem[0]}: {problem[1]}.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={preference!r} but Apple MPS is not available here: use 'auto' or 'cpu'.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"Unsupported device {preference!r}: use 'auto', 'cpu', 'cuda' or 'mps'.")
    return device


_FALLBACKS_REPORTED: set[str] = set()  # the unsupported devices `get_device("auto")` has printed


def unsupported_cuda_device(index: int | None = None) -> tuple[str, str] | None:
    """(why, fix) where this torch build cannot run on CUDA device `index` (None: the current one), else None.

    `torch.cuda.get_arch_list()` names what the build holds: 'sm_XY' binary kernels, which run on
    compute capability X.Y and later minors of the same major (an 'sm_XYa' one on X.Y alone), and
    'compute_XY' PTX, which the driver compiles for any capability from X.Y on. A device none of them
    covers reports CUDA as available and then fails at its first kernel ("no kernel image is
    available"), as Kaggle's P100 (6.0) does with a torch built from sm_70 on. A build that names no
    such architecture (ROCm, or none reported) is not judged here.
    """
    import torch

    binaries, exact, ptx = set(), set(), set()
    for arch in torch.cuda.get_arch_list():
        kind, _, version = arch.partition("_")
        number = version.rstrip("af")  # sm_90a: for 9.0 alone; sm_100f: the family of 10.0
        if not number.isdigit():
            continue
        if kind == "sm":
            (exact if version.endswith("a") else binaries).add(int(number))
        elif kind == "compute":
            ptx.add(int(number))
    if not binaries | exact | ptx:
        return None
    major, minor = torch.cuda.get_device_capability(index)
    capability = 10 * major + minor  # (6, 0) -> 60, (12, 0) -> 120: the numbers of 'sm_XY'
    if (capability in exact or any(sm // 10 == major and sm % 10 <= minor for sm in binaries)
            or any(code <= capability for code in ptx)):
        return None
    sms = sorted(binaries | exact)
    built_for = [f"sm_{sms[0]}..sm_{sms[-1]}" if len(sms) > 1 else f"sm_{sms[0]}"] if sms else []
    built_for += [f"PTX compute_{code}" for code in sorted(ptx)]
    return (f"CUDA device {torch.cuda.get_device_name(index)} (sm_{capability}) is not supported by this torch "
            f"build (built for {' and '.join(built_for)})",
            f"install a torch built for sm_{capability} or use device='cpu'")


def describe_device(device: "torch.device") -> str:
    """A one-line, human description, e.g. 'cuda (NVIDIA H100 80GB HBM3)' or 'cpu (2 threads)'."""
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices) in one place.

    `deterministic=True` also asks torch for deterministic algorithms (slower on GPU);
    on the CPU the lab's runs are repeatable without it.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


# --- Sharing the CPU between the lab's trainings -------------------------------------------------
# Two processes that each run torch's default threads on the same cores do not each get half the
# speed: their threads spin waiting for each other, and an epoch takes 20 to 60 times as long. So every
# training on the CPU registers itself here, and each uses its share of the threads it would use
# alone: all of them alone, half of them beside one other training, and so on.
CPU_SHARE_DIR = Path(tempfile.gettempdir()) / "labutils-cpu-share"
THREADS_ENV = "LAB_THREADS"  # LAB_THREADS=N: always N threads, whatever else trains


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def trainings_running(folder: Path | None = None) -> int:
    """How many of the lab's processes are training on the CPU now (this one included if it is);
    the registrations of processes that ended without saying so are removed."""
    folder = folder or CPU_SHARE_DIR
    count = 0
    for entry in folder.glob("*.pid") if folder.is_dir() else []:
        if entry.stem.isdigit() and _alive(int(entry.stem)):
            count += 1
        else:
            entry.unlink(missing_ok=True)
    return count


class CPUShare:
    """While active, this process trains with its share of the CPU's threads (see above).

    `threads_alone` is what it uses with no other training beside it: torch's own default, so a
    training alone is exactly as fast as without the policy. `update()` looks again (cheap: one
    directory listing); the engine calls it every few dozen batches, so a training started beside
    this one is noticed within seconds. `LAB_THREADS=N` in the environment turns the policy off.
    """

    def __init__(self, folder: Path | None = None):
        import torch

        self.folder = folder or CPU_SHARE_DIR
        self.fixed = int(os.environ[THREADS_ENV]) if os.environ.get(THREADS_ENV) else None
        self.threads_alone = torch.get_num_threads()
        self._entry = self.folder / f"{os.getpid()}.pid"

    def __enter__(self) -> "CPUShare":
        self.folder.mkdir(parents=True, exist_ok=True)
        self._entry.touch()
        self.update()
        return self

    def __exit__(self, *exc) -> None:
        import torch

        self._entry.unlink(missing_ok=True)
        torch.set_num_threads(self.threads_alone)  # as before the training

    def threads(self) -> int:
        """The threads this process should use now."""
        if self.fixed:
            return self.fixed
        return max(1, self.threads_alone // max(1, trainings_running(self.folder)))

    def update(self) -> int:
        import torch

        threads = self.threads()
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        return threads


# --- Progress of a headless run -----------------------------------------------------------------
PROGRESS_ENV = "LAB_PROGRESS_FILE"  # set by `make run-all` for each notebook it runs


def report_progress(**event: Any) -> None:
    """Append one event (JSON, with the time) to $LAB_PROGRESS_FILE, where `make run-all` shows it
    in the terminal; without the variable (Jupyter, the tests) nothing happens. Never in a notebook's
    own output, and never an error: progress is a courtesy, not part of the run."""
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    import json
    import time

    try:
        with open(path, "a") as f:
            f.write(json.dumps({"time": time.time(), **event}) + "\n")
    except OSError:
        pass
