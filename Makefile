# GridWatch: `make run` for a working product, `make test` for every test. Both set up a fresh machine.
SHELL := /bin/bash
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
export GRIDWATCH_VAR ?= $(CURDIR)/var

.PHONY: run test lint lock setup system venv assets catalogues i18n screenshots db bench bench-intake bench-import bench-coverage bench-indicators bench-map bench-report-page bench-regrid bench-cases bench-live bench-diary bench-ogc bench-standby clean

run: setup db
	$(BIN)/gridwatch demo --if-empty
	$(BIN)/gridwatch serve --port $(PORT)

test: setup
	$(BIN)/gridwatch db up
	$(BIN)/pytest

setup: system venv assets catalogues

system:
	@scripts/system-packages.sh

# Python packages exactly as requirements.lock pins them (with their hashes); pyproject.toml keeps
# the ranges. After changing a range: `make lock`.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

LOCK_VENV := $(VENV)-lock
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || (python3 -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q 'pip-tools==7.6.2')
	$(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --extra dev --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# ruff (lint and format) over the tree, mypy over gis/: the settings are in pyproject.toml.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Front-end libraries from the npm registry (pinned by package-lock.json), copied to static/vendor.
VENDOR := static/vendor
assets: $(VENDOR)/.installed
$(VENDOR)/.installed: package.json package-lock.json | venv
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp -r node_modules/leaflet/dist $(VENDOR)/leaflet
	cp -r node_modules/leaflet.markercluster/dist $(VENDOR)/leaflet.markercluster
	cp -r node_modules/leaflet.heat/dist $(VENDOR)/leaflet.heat
	cp -r node_modules/leaflet.awesome-markers/dist $(VENDOR)/leaflet.awesome-markers
	mkdir -p $(VENDOR)/leaflet.vectorgrid && cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js $(VENDOR)/leaflet.vectorgrid/
	cp -r node_modules/bootstrap/dist $(VENDOR)/bootstrap
	cp -r node_modules/jquery/dist $(VENDOR)/jquery
	mkdir -p $(VENDOR)/fontawesome && cp -r node_modules/@fortawesome/fontawesome-free/{css,webfonts} $(VENDOR)/fontawesome/
	mkdir -p $(VENDOR)/chart.js && cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.js/
	mkdir -p $(VENDOR)/chartjs-plugin-datalabels && cp node_modules/chartjs-plugin-datalabels/dist/chartjs-plugin-datalabels.min.js $(VENDOR)/chartjs-plugin-datalabels/
	mkdir -p $(VENDOR)/gcoord && cp node_modules/gcoord/dist/gcoord.global.prod.js $(VENDOR)/gcoord/
	mkdir -p $(VENDOR)/workbox && cp node_modules/workbox-sw/build/workbox-sw.js \
		node_modules/workbox-{core,routing,strategies,precaching,expiration,cacheable-response}/build/*.prod.js $(VENDOR)/workbox/
	mkdir -p $(VENDOR)/idb && cp node_modules/idb/build/umd.js $(VENDOR)/idb/idb.umd.js
	mkdir -p $(VENDOR)/swagger-ui && cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} $(VENDOR)/swagger-ui/
	$(BIN)/python -m whitenoise.compress -q $(VENDOR)  # .gz and .br beside each file (app/delivery.py)
	touch $@

# Translations: `make i18n` extracts every msgid (Python and templates: messages; the pages'
# JavaScript: js) into translations/*.pot and merges them into each locale's .po, where the new
# ones are translated; the set-up compiles the .po files (the .mo files are not committed).
PYBABEL := $(BIN)/pybabel
PO_FILES := $(wildcard translations/*/LC_MESSAGES/*.po)
catalogues: $(PO_FILES:.po=.mo)
%.mo: %.po | venv
	$(PYBABEL) -q compile -i $< -o $@
i18n: venv
	$(PYBABEL) -q extract -F babel.cfg --add-location=file --sort-output --no-wrap --project=GridWatch -o translations/messages.pot .
	$(PYBABEL) -q extract -F babel-js.cfg -k _t --add-location=file --sort-output --no-wrap --project=GridWatch -o translations/js.pot .
	for domain in messages js; do \
		$(PYBABEL) -q update -i translations/$$domain.pot -d translations -D $$domain -l zh_Hans_CN \
			--no-fuzzy-matching --no-wrap --ignore-obsolete --init-missing; \
	done

db: venv
	$(BIN)/gridwatch db up
	$(BIN)/gridwatch db migrate

# Benchmarks print their figure next to a reference measured in the same run, in turns, with the
# spread (not part of `test`, which runs each at a tiny size: tests/test_bench_smoke.py). The cities
# of bench/city.py are built once (their build time printed) and reused while they hold what asked.
CITY_SIDES = 100 180
comma := ,
space := $(subst ,, )
bench: bench-intake bench-import bench-coverage bench-indicators bench-map bench-report-page bench-regrid bench-cases bench-live bench-diary bench-ogc bench-standby
bench-import: BENCH = import_buildings
bench-coverage: BENCH = patrol_coverage
bench-report-page: BENCH = report_page
bench-regrid: BENCH = regrid
bench-cases: BENCH = cases_list
bench-live: BENCH = live
bench-diary: BENCH = diary
bench-ogc: BENCH = ogc
bench-standby: BENCH = standby
bench-import bench-coverage bench-report-page bench-regrid bench-cases bench-live bench-diary bench-ogc bench-standby: setup
	$(BIN)/gridwatch db up
	$(BIN)/python -m bench.$(BENCH)
bench-intake bench-indicators: setup
	$(BIN)/gridwatch db up
	for side in $(CITY_SIDES); do \
		$(BIN)/python -m bench.$(if $(filter bench-intake,$@),report_intake,indicators) --side $$side --reuse || exit 1; \
	done
bench-map: setup
	$(BIN)/gridwatch db up
	$(BIN)/python -m bench.map --sides $(subst $(space),$(comma),$(CITY_SIDES)) --reuse

# Each main page at 1366 and 360 px in both languages, from the demo city (docs/screenshots).
screenshots: setup
	$(BIN)/gridwatch db up
	$(BIN)/python -m scripts.screenshots

clean:
	-$(BIN)/gridwatch db down
	rm -rf $(VENV) node_modules $(VENDOR) var
