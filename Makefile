# XAI Studio: `make run` starts the dashboard, `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEBIAN_TEST_PACKAGES := chromium dataset-fashion-mnist fonts-noto-cjk postgresql

.PHONY: run test system-test-deps clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements-scale.txt $(VENV)/.installed-run
	$(PY) -m pip install -r requirements-test.txt -r requirements-scale.txt
	touch $@

run: $(VENV)/.installed-run
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port 8501

# As root, install the Debian packages the tests use (browser, Fashion-MNIST, a CJK font, a PostgreSQL server) when missing.
system-test-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(DEBIAN_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi; \
	else echo "not root: skipping apt-get of $(DEBIAN_TEST_PACKAGES) (tests needing them are skipped)"; fi

# Style first (ruff lint and format, configured in pyproject.toml), then every test.
# pytest exit code 5 means no test was collected: the suite is broken, so it fails loudly.
# The run's JUnit report is what `python benchmarks/suite_time.py --write` puts in README.md.
test: system-test-deps $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p runs/suite
	@$(PY) -m pytest --junitxml=runs/suite/last-make-test.xml; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

clean-venv:
	rm -rf $(VENV)
