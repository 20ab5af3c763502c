# Convenience targets; the README's two commands are scripts/demo.sh and scripts/test.sh.
PYTHON := /usr/bin/python3

.PHONY: zip translations test demo lint
zip:            ## installable plugin zip in build/
	$(PYTHON) scripts/build_zip.py
translations:   ## i18n/social_resilience_de.ts and .qm from i18n/de/*.tsv
	$(PYTHON) scripts/build_translations.py
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
lint:
	.venv/bin/ruff check .
