# Quick start: `make test` and `make demo` each do all set-up on a fresh machine.
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
PIP := $(PYTHON) -m pip

.PHONY: install reinstall test demo data clean

# Set-up is redone only when it is needed: a second `make demo` / `make test` does not rebuild
# the ops extension (~80 s). It is needed when there is no stamp, the stamp is older than
# setup.py / pyproject.toml / requirements / the ops sources, another python made it, or
# `import tadet` does not give this checkout with its compiled ops. `make reinstall` forces it.
STAMP := build/.installed
INSTALL_INPUTS := setup.py pyproject.toml $(wildcard requirements/*.txt) \
	$(shell find tadet/ops/csrc -type f ! -name '*.pyc' 2>/dev/null)
PY_ID := import sys; print(sys.executable)
INSTALLED_OK := import os, sys, tadet, tadet.ops as o; \
	here = os.path.samefile(os.path.dirname(tadet.__file__), '$(CURDIR)/tadet'); \
	ext = os.environ.get('TADET_NO_EXT') == '1' or o.available()['cpu']; sys.exit(0 if here and ext else 1)

install:
	@if [ -f $(STAMP) ] && [ "$$(cat $(STAMP))" = "$$($(PYTHON) -c '$(PY_ID)')" ] \
		&& [ -z "$$(find $(INSTALL_INPUTS) -newer $(STAMP) 2>/dev/null)" ] \
		&& (cd / && $(PYTHON) -c "$(INSTALLED_OK)") 2>/dev/null; then \
		echo "tadet: installed and up to date ($(STAMP)); make reinstall to force set-up"; \
	else $(MAKE) --no-print-directory reinstall; fi

# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
reinstall:
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install torch==$(TORCH_VERSION)
	$(PIP) install -q -r requirements/build.txt
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/optional.txt
	$(PIP) install -q --no-build-isolation -e .
	$(PYTHON) -m tadet.utils.collect_env
	@# a failed extension build must not pass silently as "reference ops only"
	@[ "$$TADET_NO_EXT" = "1" ] || $(PYTHON) -c "import sys, tadet.ops as o; sys.exit(0 if o.available()['cpu'] else 'error: compiled ops extension was not built (see the pip output above)')"
	@mkdir -p build && $(PYTHON) -c '$(PY_ID)' > $(STAMP)

test: install
	$(PYTHON) -m pytest tests -q -p no:cacheprovider

data: install
	$(PYTHON) tools/data/make_synthetic.py --preset thumos14_synth

# trains, tests and profiles every method of the spec; a finished run is not redone (delete
# work_dirs/benchmark/thumos14_synth to start over). One OpenMP thread unless set: with the
# data loader process beside it, two threads on a 2-core CPU oversubscribe it.
demo: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PYTHON) tools/benchmark.py configs/benchmark/thumos14_synth.py

clean:
	rm -rf build *.egg-info tadet/*.so work_dirs
