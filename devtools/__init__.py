"""Tooling shared by the tests, bench/ and scripts/: start and stop the real services (redis-server,
Celery workers, daphne, SeaweedFS) and talk to them (websocket client, job cards)."""
