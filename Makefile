# The lab's commands. On a fresh clone, `make run-all` and `make test` set everything up themselves.
#   make run-all [PROFILE=full|quick|smoke]   run every notebook headless -> outputs/
#   make run-gan-mnist [PROFILE=...]          notebook 04 on MNIST, its fast option -> outputs/
#   make test                                 a smoke run of every notebook, its checks and the unit tests
#   make nbval                                every notebook under nbval (smoke profile)
#   make browser-test                         notebook 02 in JupyterLab, in headless chromium -> outputs/browser/
#   make bench                                training speed: the lab against the usual DataLoader way
#   make gan-search                           GAN recipes at the quick budget, on seeds kept from the comparison (docs/gan_recipe.md)
#   make report | make readme                 outputs/report.html | the README's and docs/' results, from the last run
#   make book | make book-check               outputs/book/: the last run's notebooks as a site | its pages in headless chromium
#   make export                               copy the notebooks' #@save cells into labutils (a test checks they agree)
#   make publish-checkpoints [BASE_URL=...]   the last run's trained models -> outputs/publish/, for a release (docs/checkpoints.md)
#   make data | make lab | make setup | make clean
#   make fork REPO=https://github.com/OWNER/NAME  point every badge and setup cell at your fork

PROFILE ?= full
VENV    := .venv
PY      := $(VENV)/bin/python
KERNEL  := generative-lab
# Where conda or mamba is on PATH, the environment is made from environment.yml (ENV_TOOL=venv to opt out).
ENV_TOOL ?= $(or $(shell command -v mamba 2>/dev/null),$(shell command -v conda 2>/dev/null),venv)
STAMP   := $(VENV)/.installed
TEST_OUTPUTS := $(CURDIR)/outputs/test
# Seconds: a smoke-run cell that runs longer fails `make test` (and `make nbval`).
CELL_TIMEOUT := 900

.PHONY: setup data run-all run-gan-mnist test nbval browser-test bench gan-search report readme book book-check lab export publish-checkpoints fork clean help
.DEFAULT_GOAL := help

help:  # the comment lines at the top
	@sed -n '/^#/!q;p' Makefile | sed 's/^# \{0,1\}//'

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt environment.yml
ifeq ($(ENV_TOOL),venv)
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e ".[lab]"
else
	$(ENV_TOOL) env create --yes --prefix $(VENV) --file environment.yml
endif
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (generative lab)"
	touch $@

data: $(STAMP)
	$(PY) -m labtools.data

run-all: data
	$(PY) -m labtools.pipeline run --profile $(PROFILE) --kernel $(KERNEL)

run-gan-mnist: data
	$(PY) -m labtools.pipeline run --profile $(PROFILE) --kernel $(KERNEL) --only 04_gan_mnist

# A smoke run of every notebook and of the GAN on MNIST (papermill), each executed once, then in one
# pytest session: the unit tests, the tests of that run and the report built from it, and every cell
# of every executed notebook checked as nbval checks it (tests/test_notebook_cells.py). Test runs write
# to outputs/test/, never over a real run's, and never download the FID's Inception weights or a
# published checkpoint.
test: export LAB_FID_DOWNLOAD = 0
test: export LAB_CHECKPOINT_DOWNLOAD = 0
test: data
	rm -rf $(TEST_OUTPUTS)
	LAB_OUTPUTS=$(TEST_OUTPUTS) $(PY) -m labtools.pipeline run --profile smoke --kernel $(KERNEL) --cell-timeout $(CELL_TIMEOUT)
	LAB_OUTPUTS=$(TEST_OUTPUTS) $(PY) -m labtools.pipeline run --profile smoke --kernel $(KERNEL) --cell-timeout $(CELL_TIMEOUT) --only 04_gan_mnist
	LAB_OUTPUTS=$(TEST_OUTPUTS) LAB_SMOKE_RUN=1 $(PY) -m pytest tests -p no:cacheprovider

# The notebooks under nbval itself, each executed again in a fresh kernel from a copy with the smoke
# parameters injected (not part of `make test`, whose smoke run already executes each one once).
nbval: export LAB_FID_DOWNLOAD = 0
nbval: export LAB_CHECKPOINT_DOWNLOAD = 0
nbval: data
	LAB_OUTPUTS=$(TEST_OUTPUTS) $(PY) -m labtools.pipeline prepare --profile smoke --out $(TEST_OUTPUTS)/nbval
	LAB_OUTPUTS=$(TEST_OUTPUTS) $(PY) -m pytest $(TEST_OUTPUTS)/nbval --nbval-lax --nbval-kernel-name $(KERNEL) \
		--nbval-cell-timeout $(CELL_TIMEOUT) -p no:cacheprovider

# Notebook 02 run in JupyterLab by a real browser (headless chromium, driven by playwright-core from
# npm), which then moves a slider of the latent explorer and checks that the decoded image changes.
# Needs `apt-get install chromium` and Node; screenshots in outputs/browser/ (tests/browser/run.py;
# its --notebook 04_gan --as-is [--set num_epochs=5] opens a notebook as a learner does, and times it).
browser-test: data
	$(PY) tests/browser/run.py

bench: data
	$(PY) -m labtools.bench --repeats 3 --json outputs/bench.json

# Candidate GAN recipes, each 3 seeds at 04's quick budget, about 60 min on a 2-core CPU with native bf16
# (labtools/gan_search.py) -> outputs/gan_search/: search.json, a sample grid per run, the table printed.
gan-search: data
	$(PY) -m labtools.gan_search

report: setup
	$(PY) -m labtools.report html

readme: setup
	$(PY) -m labtools.report readme

# The last run's executed notebooks as a static site (labtools/book.py): an index, a page for each
# notebook with its figures, the report; outputs/book/index.html opens offline. book-check opens every
# page in headless chromium (tests/browser/book_check.py; needs what browser-test needs).
book: setup
	$(PY) -m labtools.book

book-check: setup
	$(PY) tests/browser/book_check.py

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

# The model, loss and step cells a notebook marks `#@save labutils.X` are that module's code too.
export: setup
	$(PY) -m labtools.notebook_export

# The last run's finished checkpoints copied to outputs/publish/ with their registry entries
# (outputs/publish/registry.json); BASE_URL: where they will be uploaded (several: mirrors, tried in
# order; default: this repository's release checkpoints-<commit>). WRITE_REGISTRY=1 once they are
# uploaded: the entries go into labutils/training/published_checkpoints.json, to commit.
publish-checkpoints: setup
	$(PY) -m labtools.publish $(foreach url,$(BASE_URL),--base-url $(url)) $(if $(WRITE_REGISTRY),--write-registry)

# Rewrites pyproject.toml's Repository and every notebook's badges and setup cell. The install
# does not depend on that address, so the set-up stamp is kept (else the next command would
# reinstall everything for a changed URL).
fork: setup
	@test -n "$(REPO)" || { echo "usage: make fork REPO=https://github.com/OWNER/NAME" >&2; exit 2; }
	$(PY) -m labtools.notebook_setup --repository "$(REPO)"
	touch $(STAMP)

clean:
	rm -rf outputs/* $(VENV)
