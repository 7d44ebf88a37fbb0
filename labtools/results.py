"""The results of the last run as Markdown: `make readme` rewrites the marked sections (<!-- name -->
... <!-- /name -->) of README.md (headline results, the reports' claims and their verdicts),
docs/results.md (every result, with where it comes from) and docs/performance.md (the run's
timings, `make bench`'s output). Each number names the run it comes from, and each section says
which of its numbers are older than the code (`labtools.provenance`); what is around the markers is
written by hand.
"""
from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import NamedTuple

from labtools import provenance
from labtools.provenance import Source
from labutils.runtime import outputs_dir, repo_root


class ReportError(RuntimeError):
    """The run's notebooks or records are missing or unfinished: nothing is made from them."""


class Figure(NamedTuple):
    caption: str  # the bold line above the image
    alt: str  # the image's alternative text: short, so that its Markdown line stays readable


class Row(NamedTuple):
    key: str  # what the row is, for choosing the README's headline rows
    measure: str
    value: str
    notebook: str  # whose metrics file holds the value: its run is the row's source


RESULT_FIGURES = {  # figure file (outputs/figures) -> how the results show it, in this order
    "02_vae_losses": Figure("VAE: loss (reconstruction + β·KL), reconstruction and KL per epoch",
                            "VAE losses"),
    "02_vae_aggregate_posterior": Figure("VAE: the aggregate posterior q(z) per dimension against N(0, I)",
                                         "VAE aggregate posterior"),
    "03_loss_comparison": Figure("AE and VAE losses on shared axes", "AE and VAE losses"),
    "01_ae_reconstructions": Figure("AE: test digits and reconstructions", "AE reconstructions"),
    "02_vae_reconstructions": Figure("VAE: test digits and reconstructions", "VAE reconstructions"),
    "02_vae_prior_samples": Figure("VAE: samples from the prior", "VAE prior samples"),
    "03_latent_tsne_pca": Figure("t-SNE and PCA of the AE and VAE latent spaces", "Latent spaces"),
    "04_gan_real_vs_generated": Figure("GAN: real images beside generated ones", "GAN samples"),
    "04_gan_recipe_run": Figure(
        "GAN: real images, the reports' set-up and the lab's recipe (R3GAN-style)",
        "GAN: real, reports' set-up, the lab's recipe"),
    "04_gan_recipe_collapse": Figure(
        "GAN: one initial G, two games (the reports' set-up, the recipe): the same noise through training",
        "GAN: the same start, two games"),
    "04_gan_recipe_run_swd": Figure(
        "GAN: the distance to the real images during training, both runs",
        "GAN: distance during training"),
    "04_gan_data_sweep": Figure("GAN: a quarter, half and all of the images at an equal number of updates",
                                "GAN: more data at equal updates"),
    "04_gan_mnist_real_vs_generated": Figure(
        "GAN on MNIST (`make run-gan-mnist`): real digits beside generated ones",
        "GAN on MNIST: real and generated"),
}
# Shown only when the other figure is missing: the three-panel figure holds the two-panel one.
SUPERSEDED = {"04_gan_real_vs_generated": "04_gan_recipe_run"}
# The README's figures: at most three, as the two GAN-on-art figures exclude each other.
HEADLINE_FIGURES = ("02_vae_prior_samples", "04_gan_recipe_run", "04_gan_real_vs_generated",
                    "04_gan_mnist_real_vs_generated")
HEADLINE_ROWS = {"ae_mse", "vae_loss", "vae_active_units", "gan_swd", "gan_recipe_swd", "gan_recipe_diversity",
                 "gan_mnist_swd"}
RESULTS_PAGE, PERFORMANCE_PAGE = "docs/results.md", "docs/performance.md"


def load_metrics() -> dict[str, dict]:
    paths = sorted(outputs_dir("metrics").glob("*.json"))
    return {path.stem: json.loads(path.read_text()) for path in paths}


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _paragraph(text: str) -> str:
    """`text` wrapped at 100 columns, like the hand-written Markdown around it; a `code span`
    is kept on one line, so that a command reads whole in the source too."""
    kept = re.sub(r"`[^`]*`", lambda span: span.group().replace(" ", "\0"), text)
    wrapped = textwrap.fill(kept, width=100, break_long_words=False, break_on_hyphens=False)
    return wrapped.replace("\0", " ")


def _figure_notebook(name: str, notebooks) -> str | None:
    """The notebook (of `notebooks`) that draws figure `name`: the longest whose name and "_" begin the
    figure's (04_gan_mnist_... is the GAN on MNIST's), else the shortest of the same number (01_ae_...)."""
    prefixed = [n for n in notebooks if name.startswith(n + "_")]
    if prefixed:
        return max(prefixed, key=len)
    numbered = [n for n in notebooks if n[:3] == name[:3]]
    return min(numbered, key=len) if numbered else None


def _result_figures() -> list[str]:
    """The RESULT_FIGURES that the last run of their notebook made (a file older than that run's start is
    an earlier run's, of a section it no longer runs), less those that a figure it also made supersedes."""
    started: dict[str, str] = {}
    for record in provenance.run_records(outputs_dir()).values():
        for notebook in record.get("notebooks", {}):
            started[notebook] = max(started.get(notebook, ""), record.get("started", ""))
    made = []
    for name in RESULT_FIGURES:
        path = outputs_dir("figures") / f"{name}.png"
        if not path.exists():
            continue
        start = provenance._time(started.get(_figure_notebook(name, started) or "", ""))
        if start is None or path.stat().st_mtime >= start.timestamp():
            made.append(name)
    return [name for name in made if SUPERSEDED.get(name) not in made]


def _autoencoder_rows(ae: dict, vae: dict, evaluation: dict) -> list[Row]:
    """Notebooks 01-03: reconstruction, the VAE's loss terms, its ELBO and log p(x), latent structure.

    The VAE loss is the training objective, reconstruction + beta * KL; the ELBO and log p(x) are
    log-densities in nats per image, the decoder's constant included (-ELBO = loss + 448.7 only with
    beta = 1). The ELBO is notebook 02's, or notebook 03's where 02's record predates it."""
    latent_dim = vae.get("config", {}).get("latent_dim", "—")
    elbo = vae.get("test_elbo_nats", evaluation.get("test_elbo_nats"))
    rows = [
        Row("ae_mse", "AE test reconstruction error (MSE per pixel)",
            _fmt(ae.get("test_mse"), ".5f"), "01_autoencoder"),
        Row("vae_mse", "VAE test reconstruction error (MSE per pixel, posterior mean)",
            _fmt(vae.get("test_recon_mse"), ".5f"), "02_vae"),
        Row("vae_kl", "VAE test KL (nats per image)", _fmt(vae.get("test_kl"), ".2f"), "02_vae"),
        Row("vae_loss", "VAE test loss, reconstruction + β·KL, the training objective (per image)",
            _fmt(vae.get("test_loss"), ".2f"), "02_vae"),
        Row("vae_elbo", "VAE test ELBO, a lower bound on log p(x) (nats per image)", _fmt(elbo, ".1f"),
            "02_vae" if "test_elbo_nats" in vae else "03_evaluation"),
        Row("vae_active_units", "VAE active latent units",
            f"{vae.get('active_units', '—')} of {latent_dim}", "02_vae"),
    ]
    if iwae := evaluation.get("iwae", {}):
        rows.append(Row("vae_log_likelihood", "VAE test log p(x), importance-weighted estimate "
                        f"(k = {iwae.get('k')}, nats per image)",
                        _fmt(iwae.get("log_likelihood_nats"), ".1f"), "03_evaluation"))
    for key, name in (("knn_accuracy", "kNN (k=5) digit accuracy"),
                      ("linear_probe_accuracy", "linear-probe accuracy"),
                      ("silhouette", "silhouette by digit")):
        if key in evaluation:
            values = " / ".join(_fmt(evaluation[key].get(k), ".3f")
                                for k in ("pixels", "pca", "ae", "vae"))
            rows.append(Row(key, f"{name}: pixels / PCA-32 / AE / VAE", values, "03_evaluation"))
    return rows


def _gan_rows(gan: dict) -> list[Row]:
    """Notebook 04 on art: the reports' set-up against its floor, and the lab's recipe's run."""
    if not gan:
        return []
    data = gan.get("data_label", gan.get("data_source", ""))
    rows = [Row("gan_swd", f"GAN sliced Wasserstein distance ×10³ ({data})",
                f"{_fmt(gan.get('swd'), '.1f')} "
                f"(floor, real vs real: {_fmt(gan.get('swd_floor'), '.1f')})", "04_gan")]
    if recipe := gan.get("recipe_run"):
        epochs, same = gan.get("epochs", "?"), recipe.get("swd_in_training_at_main_end")
        if same is not None:  # the headline compares equal budgets; the longer run stands beside it
            rows.append(Row("gan_recipe_swd",
                            f"GAN SWD ×10³ after {epochs} epochs each, in-training sample: the reports' set-up / "
                            "the lab's recipe",
                            f"{_fmt(recipe.get('main_swd_in_training_at_end'), '.1f')} / {_fmt(same, '.1f')}",
                            "04_gan"))
        if recipe.get("recall_ratio") is not None:  # what the recipe changes: the collapse
            rows.append(Row("gan_recipe_diversity",
                            "GAN diversity, recall over the real images' (1: as varied, near 0: collapsed): the "
                            "reports' set-up / the lab's recipe",
                            f"{_fmt(recipe.get('main_recall_ratio'), '.2f')} / {_fmt(recipe['recall_ratio'], '.2f')}",
                            "04_gan"))
        rows.append(Row("gan_recipe_swd_longer",
                        "GAN sliced Wasserstein distance ×10³ with the lab's recipe, "
                        f"{recipe.get('epochs', '?')} epochs (the reports' set-up: {epochs})",
                        _fmt(recipe.get("swd"), ".1f"), "04_gan"))
    return rows


def _gan_mnist_rows(mnist: dict) -> list[Row]:
    """Notebook 04 on MNIST, from its own run (`make run-gan-mnist`): said in the row."""
    if not mnist:
        return []
    source = f"MNIST, `make run-gan-mnist`, {mnist.get('epochs', '?')} epochs"
    frechet = (f"{_fmt(mnist.get('classifier_frechet_distance'), '.2f')} "
               f"(floor: {_fmt(mnist.get('classifier_frechet_distance_floor'), '.2f')})")
    return [Row("gan_mnist_swd", f"GAN sliced Wasserstein distance ×10³ ({source})",
                f"{_fmt(mnist.get('swd'), '.1f')} (floor: {_fmt(mnist.get('swd_floor'), '.1f')})", "04_gan_mnist"),
            Row("gan_mnist_frechet",
                "GAN on MNIST: Fréchet distance in the lab classifier's features", frechet, "04_gan_mnist")]


def result_rows(metrics: dict[str, dict]) -> list[Row]:
    """Every measure of the results table, in order, from the run's metrics files."""
    return (_autoencoder_rows(metrics.get("01_autoencoder", {}), metrics.get("02_vae", {}),
                              metrics.get("03_evaluation", {}))
            + _gan_rows(metrics.get("04_gan", {}))
            + _gan_mnist_rows(metrics.get("04_gan_mnist", {})))


VERDICT_NOTEBOOKS = ("01_autoencoder", "02_vae", "03_evaluation", "04_gan", "04_gan_mnist")


def verdict_rows(metrics: dict[str, dict]) -> list[dict]:
    """Every notebook's `verdicts` (labutils.metrics.verdicts records), in notebook order, each with its notebook."""
    return [{**v, "notebook": stem} for stem in VERDICT_NOTEBOOKS for v in metrics.get(stem, {}).get("verdicts", [])]


def verdicts_markdown(metrics: dict[str, dict], readings: bool = False) -> str:
    """The reports' claims and their verdicts, one table row each, with each verdict's error rate and
    whether it survives Holm's correction over the run's verdicts, and a sentence that counts them;
    empty when no notebook recorded any. `readings` adds the report's words and how the lab reads the
    claim (docs/results.md and the report; the README's table stays compact)."""
    # the verdicts' one format (kept out of the torch-free import)
    from labutils.metrics.verdicts import error_rate, holm, holm_text, interval_text, p_value

    rows = verdict_rows(metrics)
    if not rows:
        return ""
    # A record written before p-values were kept gets one from its interval, where the interval allows it.
    rows = [{**r, "p_value": r.get("p_value", p_value(r["interval"], r["interval"]["threshold"]))} for r in rows]
    corrected = holm(rows)
    rates = [r.get("error_rate", error_rate(r["interval"])) for r in rows]
    lines = [f"| `{r['notebook']}` | {r['report']} | {r['claim']} | **{r['outcome']}** | "
             f"{interval_text(r['interval'])}, {r['interval'].get('holds', 'above')} {r['interval']['threshold']:g} | "
             f"{'—' if rate is None else f'{100 * rate:.0f}%'} | {holm_text(r, c)} |"
             + (f" {_cell(r.get('quote'), quoted=True)} | {_cell(r.get('reading'))} |" if readings else "")
             for r, c, rate in zip(rows, corrected, rates)]
    decided = [c for r, c in zip(rows, corrected) if r["outcome"] != "within noise"]
    without = sum(r["p_value"] is None for r in rows)
    sentence = (f"Each verdict's error rate is the chance that its interval misses (1 − its level). Over the "
                f"{len(rows)} verdicts as one family, Holm's correction (family-wise error 5%) keeps "
                f"{sum(c['survives'] for c in decided)} of the {len(decided)} decided ones"
                + (f"; {without} {'has' if without == 1 else 'have'} no p-value (no interval, or a record that kept none)" if without else "") + ".")
    header = ("| notebook | report | claim | verdict | statistic [interval], holds when | error rate | "
              "p, Holm over the run |" + (" the report's words | read as |" if readings else ""))
    return "\n".join([header, "|---" * header.count(" |") + "|", *lines, "", sentence])


def _cell(text: str | None, quoted: bool = False) -> str:
    """Text for one Markdown table cell: its pipes escaped; a dash where there is none."""
    if not text:
        return "—"
    text = text.replace("|", "\\|").replace("\n", " ")
    return f"“{text}”" if quoted and "“" not in text else text   # a quote of two reports marks its own


def _table(rows: list[Row], found: dict[str, Source]) -> str:
    """The measures, each with the run that made it (`provenance.source_text`)."""
    lines = (f"| {row.measure} | {row.value} | "
             f"{provenance.source_text(found[row.notebook]) if row.notebook in found else '—'} |" for row in rows)
    return "\n".join(["| measure | value | from the run: profile, date, commit |", "|---|---|---|", *lines])


def _shown(notebooks, found: dict[str, Source]) -> list[Source]:
    """The runs of `notebooks`, once each, in the order given."""
    return [found[name] for name in dict.fromkeys(notebooks) if name in found]


def _figures(names: list[str], figures_dir: str) -> str:
    return "\n\n".join(f"**{RESULT_FIGURES[name].caption}**\n\n"
                       f"![{RESULT_FIGURES[name].alt}]({figures_dir}/{name}.png)" for name in names)


def run_name(run: dict) -> str:
    """The run a section's numbers come from, as outputs/run.json records it."""
    return (f"the `make run-all PROFILE={run.get('profile', '?')}` run started {run.get('started', '?')} "
            f"on {run.get('device', '?')} (commit `{run.get('git_commit', '?')[:12]}`)")


def claims_markdown(run: dict, metrics: dict[str, dict], found: dict[str, Source], root: Path) -> str:
    """The README's table of the reports' claims: every verdict the notebooks recorded, with the runs
    that wrote them named above it, and which of them are older than the code."""
    table = verdicts_markdown(metrics)
    if not table:
        return _paragraph(f"No notebook of {run_name(run)} recorded a verdict.") + "\n"
    shown = _shown((r["notebook"] for r in verdict_rows(metrics)), found)
    header = _paragraph(f"From {provenance.runs_sentence(shown)}. {provenance.age_sentence(shown, root, remake=False)}")
    return f"{header}\n\n{table}\n"


def full_results_markdown(run: dict, metrics: dict[str, dict], found: dict[str, Source], root: Path,
                          figures_dir: str = "figures") -> str:
    """docs/results.md's marked section: where each number came from, every measure, every figure."""
    rows = result_rows(metrics)
    shown = _shown((row.notebook for row in rows), found)
    header = _paragraph(
        f"From {provenance.runs_sentence(shown)}. {provenance.age_sentence(shown, root)} "
        f"Device: {', '.join(dict.fromkeys(source.device for source in shown)) or '?'}. "
        f"Data: {'; '.join(run.get('data_sources', [])) or '?'}. "
        "`make readme` rewrites this section from `outputs/`; the full story is in `make report`.")
    table, figures = _table(rows, found), _figures(_result_figures(), figures_dir)
    claims = verdicts_markdown(metrics, readings=True)
    if claims:
        claims = f"**The reports' claims** (each test in its notebook's metrics file, `verdicts`):\n\n{claims}\n\n"
    return f"{header}\n\n{table}\n\n{claims}{figures}\n"


def headline_markdown(metrics: dict[str, dict], found: dict[str, Source], root: Path,
                      figures_dir: str = "docs/figures") -> str:
    """The README's marked results: a few rows, each with its run, whether any is older than the code,
    at most three figures, and where the rest is (the claims' verdicts are `claims_markdown`)."""
    rows = [row for row in result_rows(metrics) if row.key in HEADLINE_ROWS]
    figures = [name for name in _result_figures() if name in HEADLINE_FIGURES]
    header = _paragraph(f"{provenance.age_sentence(_shown((row.notebook for row in rows), found), root)} "
                        f"Every measure and figure, and where each comes from: [{RESULTS_PAGE}]({RESULTS_PAGE}).")
    return f"{header}\n\n{_table(rows, found)}\n\n{_figures(figures, figures_dir)}\n"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def timings_markdown(run: dict) -> str:
    """docs/performance.md's "how long a full run takes": the last run's wall time per notebook."""
    notebooks = run.get("notebooks", {})
    rows = [f"| `{stem}` | {_duration(entry['seconds'])} |" for stem, entry in notebooks.items()]
    first_three = [e["seconds"] for stem, e in notebooks.items() if stem[:2] in ("01", "02", "03")]
    if len(first_three) == 3:
        rows.append(f"| 01–03 together | {_duration(sum(first_three))} |")
    rows.append(f"| all, with papermill's start-up | {_duration(run.get('total_seconds', 0))} |")
    intro = _paragraph(f"`make run-all PROFILE={run.get('profile', '?')}` "
                       f"on {run.get('device', '?')}, started {run.get('started', '?')} "
                       "(from `outputs/run.json`):")
    return f"{intro}\n\n| notebook | wall time |\n|---|---|\n" + "\n".join(rows) + "\n"


def bench_markdown(bench: dict) -> str:
    """docs/performance.md's marked section: `make bench`'s output, with its date and commit.
    (How it measures, and why the lab is faster, is the page's own text around it.)"""
    from labtools.bench import format_table

    return (f"Output of `make bench` on {bench.get('date', '?')} "
            f"(commit `{bench.get('git_commit', '?')[:12]}`):\n\n"
            f"```\n{format_table(bench)}\n```\n")


def trained_nothing(run: dict) -> bool:
    """True when every notebook of the run loaded its checkpoints: its times are load times."""
    trained = [entry.get("trained") for entry in run.get("notebooks", {}).values()]
    return bool(trained) and all(t is False for t in trained)


def readme_sections(run: dict, metrics: dict[str, dict], bench: dict | None,
                    runs: dict[str, dict] | None = None, root: Path | None = None) -> dict[str, dict]:
    """{file, from the repository root: {marker name: its new text}}: what `make readme` writes.

    `runs` are the run records ({file name: record}; `run` alone by default) that the metrics came
    from; `root` the repository whose history says which numbers are older than the code.
    The timings only from a run that trained (a run that loaded everything keeps the last ones);
    the bench section only when there is a `make bench` output to write."""
    found, root = provenance.sources(metrics, runs or {"run.json": run}), root or repo_root()
    performance = {} if trained_nothing(run) else {"timings": timings_markdown(run)}
    if bench:
        performance["bench"] = bench_markdown(bench)
    return {"README.md": {"headline": headline_markdown(metrics, found, root),
                          "claims": claims_markdown(run, metrics, found, root)},
            RESULTS_PAGE: {"results": full_results_markdown(run, metrics, found, root)},
            PERFORMANCE_PAGE: performance}


def replace_sections(text: str, bodies: dict[str, str], where: str) -> str:
    """`text` with what is between each `<!-- name -->` and `<!-- /name -->` replaced by its body.

    A missing marker is refused, naming the file (`where`): `make readme` writes nowhere else."""
    for name, body in bodies.items():
        begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
        start, stop = text.find(begin), text.find(end)
        if start < 0 or stop < start:
            raise ReportError(f"{where} has no {begin} ... {end} section: put the two markers "
                              "where `make readme` should write it.")
        text = text[:start + len(begin)] + "\n" + body + text[stop:]
    return text


def _finished_run() -> dict:
    run_json = outputs_dir() / "run.json"
    if not run_json.exists():
        raise ReportError(f"{run_json} is missing: run `make run-all` first.")
    run = json.loads(run_json.read_text())
    if run.get("status") != "ok":
        raise ReportError(f"The last run did not finish ({run.get('status')}): "
                          "the README shows finished runs only.")
    return run


def update_readme(root: Path | None = None) -> list[Path]:
    """Rewrite the marked sections of README.md, docs/results.md and docs/performance.md from the
    last run (and from `outputs/bench.json`, when there is one), copy the results' figures to
    docs/figures/ and remove those that no page shows any more. Every file is checked before any is
    written. Returns the files written."""
    root = root or repo_root()
    run = _finished_run()
    bench_json = outputs_dir() / "bench.json"
    bench = json.loads(bench_json.read_text()) if bench_json.exists() else None
    runs = {**provenance.run_records(outputs_dir()), "run.json": run}
    sections = readme_sections(run, load_metrics(), bench, runs, root)
    texts = {root / name: replace_sections((root / name).read_text(), bodies, name)
             for name, bodies in sections.items() if bodies}
    figures = root / "docs" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for name in _result_figures():
        shutil.copyfile(outputs_dir("figures") / f"{name}.png", figures / f"{name}.png")
    for path, text in texts.items():
        path.write_text(text)
    shown = "".join(path.read_text() for path in (root / "README.md", *root.glob("docs/*.md")) if path.exists())
    for name in RESULT_FIGURES:  # a figure of an earlier run that no page shows any more
        if f"figures/{name}.png" not in shown:
            (figures / f"{name}.png").unlink(missing_ok=True)
    return list(texts)
