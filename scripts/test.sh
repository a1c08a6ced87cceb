#!/usr/bin/env bash
# `make test`: the test suite. Its fixtures start their own redis-server, Celery worker and
# ASGI server; nothing shared with `make run` is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
python manage.py collectstatic --noinput -v 0
exec python -m pytest "$@"
