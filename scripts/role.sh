#!/usr/bin/env bash
# One role of a deployment over several hosts, per call (docs/deployment.md, "Several hosts"):
#
#   scripts/role.sh migrate   once per deploy, from one host, before the other roles start
#   scripts/role.sh web       the web server (daphne with body limits: project.web_server) on
#                             HOST:PORT (static files collected for whitenoise first)
#   scripts/role.sh worker    a Celery worker for WORKER_QUEUES with WORKER_CONCURRENCY processes
#   scripts/role.sh beat      the scheduler; start it on two hosts if you like: one dispatches,
#                             the other stands by and takes over if the first one dies
#
# Every host points at the same DATABASE_URL, REDIS_URL and MEDIA_STORAGE=s3 bucket. web, worker
# and beat refuse to start unless REDIS_URL is set and answers. `make run` is the all-in-one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/python ]]; then
  echo "no .venv here: run 'make setup' first" >&2
  exit 2
fi
export PATH="$PWD/.venv/bin:$PATH"

role="${1:-}"
case "$role" in
  migrate) exec python manage.py migrate --noinput ;;
  web | worker | beat) python scripts/ensure_redis.py --check ;;
  *)
    echo "usage: $0 migrate|web|worker|beat" >&2
    exit 2
    ;;
esac

case "$role" in
  web)
    python manage.py collectstatic --noinput -v 0
    exec python -m project.web_server -b "${HOST:-127.0.0.1}" -p "${PORT:-8000}" project.asgi:application
    ;;
  worker)
    queues="${WORKER_QUEUES:-interactive,bulk}"
    # Node names are unique across the cluster: the queues, this process's pid (exec keeps it),
    # the host (%h). Two workers on one host, or one per host, never share a name.
    exec celery -A project worker -Q "$queues" -n "${WORKER_NAME:-${queues//,/-}-$$@%h}" \
      --concurrency "${WORKER_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  beat)
    exec celery -A project beat --loglevel "${LOG_LEVEL:-INFO}"
    ;;
esac
