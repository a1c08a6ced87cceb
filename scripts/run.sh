#!/usr/bin/env bash
# `make run`: Redis, migrations, static files, demo login, then web + workers + beat (honcho).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

redis_env="$(python scripts/ensure_redis.py)"  # a failure stops here (inside eval it would not)
eval "$redis_env"
stop_redis() {
  # Commands in other terminals found this Redis through the file; it is gone now.
  rm -f "${MEDIAFLOW_REDIS_URL_FILE:-}"
  [[ -n "${MEDIAFLOW_REDIS_PID:-}" ]] || return 0
  # Started again meanwhile (same port and data, e.g. after a crash), it is in the pidfile now.
  local pid
  pid="$(cat "${MEDIAFLOW_VAR_DIR:-var}/redis/redis.pid" 2>/dev/null || echo "$MEDIAFLOW_REDIS_PID")"
  if grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
    echo "[redis] stopping redis-server pid $pid"
    kill "$pid" 2>/dev/null || true
  fi
}
trap stop_redis EXIT
trap 'exit 130' INT TERM

python manage.py migrate --noinput
python manage.py collectstatic --noinput -v 0
python manage.py create_demo_user

echo "Mediaflow: http://${HOST:-127.0.0.1}:${PORT:-8000}/  (Ctrl-C stops everything)"
honcho start -f Procfile -p "${PORT:-8000}"
