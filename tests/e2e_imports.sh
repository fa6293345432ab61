#!/bin/sh
# End-to-end test of large eligibility and roll imports (200,000 rows) through the admin
# API behind the real nginx and through the CLI (tests/e2e_imports.py says what each
# checks).
exec python3 "$(dirname "$0")/e2e_imports.py"
