#!/usr/bin/env bash
# Set up (Debian packages, test venv) and run the whole test suite: lint, translations, pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ensure_apt_packages "${TEST_PACKAGES[@]}"
ensure_test_venv
ensure_qt6_venv
headless_env
cd "$REPO"
echo "== third-party SensorThings server (own venv .venv-sta, seeded once)"
"$PYTHON" -m tests.sta_thirdparty.server --prepare
echo "== ruff"
.venv/bin/ruff check .
echo "== translations"
"$PYTHON" scripts/build_translations.py --check
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
