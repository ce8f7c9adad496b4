# Two commands on a fresh clone: `make demo` and `make test`. Everything else is set up on demand.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit integration bench synth layer golden clean chromium screenshots web
# jsii (under aws-cdk-lib) warns about every Node.js it has not certified; the synth works the same.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,infra]"
	@touch $(STAMP)

demo: $(STAMP)  ## replay the shoes story on moto and print what the store sees
	$(BIN)/omnijourney demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The studio's front end (web/): packages pinned by web/package-lock.json, bundled by esbuild into web/dist/, which the
# studio serves and the stack deploys. npm ci reinstalls only when the lockfile changes.
WEB_MODULES := web/node_modules/.package-lock.json
WEB_BUILT := web/dist/.built
$(WEB_MODULES): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "make: the studio's front end needs Node.js 20+ and npm" >&2; exit 1; }
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $@
$(WEB_BUILT): $(WEB_MODULES) web/build.mjs $(shell find web/src web/customer -type f 2>/dev/null)
	node web/build.mjs
	@touch $@
web: $(WEB_BUILT)  ## build the studio's front end into web/dist/

test: lint typecheck chromium web  ## everything CI checks
	$(BIN)/pytest -n 2 -q

# tests/browser drive the distribution's Chromium (Playwright's own browser download is not reachable from here):
# installed as root when missing, else a clear stop, never a silent skip.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "make: tests/browser need Chromium at $(CHROMIUM): run 'sudo apt-get install -y chromium', or make as root" >&2; exit 1; fi; }
	@test -x $(CHROMIUM) || { echo "make: apt-get installed no $(CHROMIUM); tests/browser need it" >&2; exit 1; }

screenshots: $(STAMP) chromium web  ## PNGs of the studio's pages in docs/img/
	$(BIN)/python -m tests.browser.screenshots

golden: $(STAMP)  ## rewrite tests/golden/ from the shipped scenarios, for a change meant to change their reports
	@mkdir -p tests/golden
	OMNIJOURNEY_WRITE_GOLDEN=1 $(BIN)/pytest -n 2 -q tests/integration/test_golden_reports.py
	git status --short tests/golden

bench: $(STAMP) web
	$(BIN)/python -m bench.run

synth: $(STAMP) web  ## the CloudFormation template in cdk.out/, checked by cdk-nag (no Docker, no credentials)
	$(BIN)/python -m infra.app

layer: $(STAMP)  ## build the arm64 Lambda layer (cached in build/layer) and print its size against Lambda's limit
	$(BIN)/python -m infra.packaging

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache web/node_modules web/dist
