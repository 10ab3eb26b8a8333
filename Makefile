# Quick start: `make test` and `make demo` each do all set-up on a fresh machine.
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
PIP := $(PYTHON) -m pip

.PHONY: install test demo data clean

# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
install:
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install torch==$(TORCH_VERSION)
	$(PIP) install -q -r requirements/build.txt
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/optional.txt
	$(PIP) install -q --no-build-isolation -e .
	$(PYTHON) -m tadet.utils.collect_env
	@# a failed extension build must not pass silently as "reference ops only"
	@[ "$$TADET_NO_EXT" = "1" ] || $(PYTHON) -c "import sys, tadet.ops as o; sys.exit(0 if o.available()['cpu'] else 'error: compiled ops extension was not built (see the pip output above)')"

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
