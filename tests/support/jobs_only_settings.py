"""A project that has only Django's contrib apps and `jobs`: no media_library, no project settings,
no JOBS_* setting at all (tests/jobs/test_jobs_standalone.py)."""

SECRET_KEY = "jobs-standalone-test-key-not-secret-0123456789"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "jobs",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
