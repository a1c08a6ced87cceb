import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from devtools.processes import ROOT
from jobs.conf import settings as jobs_settings


def fresh_settings(var_dir, **env):
    """Start Python with the settings of a fresh install (no DEBUG, no SECRET_KEY in the environment)
    and return what it says about them."""
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "WHITENOISE_USE_FINDERS"}}
    code = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "MEDIAFLOW_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def settle(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    debug, key = out.split()
    return debug, key


def test_a_fresh_install_runs_without_debug_and_generates_a_private_secret_key_once(tmp_path):
    debug, key = settle(fresh_settings(tmp_path))
    assert debug == "False"
    stored = tmp_path / "secret_key"
    assert stored.read_text().strip() == key and len(key) >= 50
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert settle(fresh_settings(tmp_path)) == ("False", key)  # reused, not regenerated
    assert settle(fresh_settings(tmp_path, DEBUG="1"))[0] == "True"  # development mode is explicit
    assert settle(fresh_settings(tmp_path, SECRET_KEY="from-the-environment"))[1] == "from-the-environment"


def test_processes_starting_together_on_a_fresh_install_agree_on_one_key(tmp_path):
    # make run starts web, workers and beat at once: they must not each write their own key.
    procs = [fresh_settings(tmp_path) for _ in range(8)]
    keys = {settle(proc)[1] for proc in procs}
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_celery_is_configured_for_durable_bulk_work():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > jobs_settings.JOB_CHUNK_TIME_LIMIT
    assert {q.name for q in settings.CELERY_TASK_QUEUES} == {"interactive", "bulk"}


def test_sqlite_runs_in_wal_mode(db):
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0].lower() == "wal"


def test_media_stays_on_local_disk_by_default():
    from project.media_storage import media_storage

    assert media_storage({}) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    # No fixed location: the storage follows MEDIA_ROOT.
    assert settings.STORAGES["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert (
        settings.STORAGES["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    )


S3_ENV = {
    "MEDIA_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "media",
    "AWS_S3_ENDPOINT_URL": "http://10.0.0.2:8333",
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "secret",
}


def test_s3_storage_options_come_from_django_storages_own_names():
    from project.media_storage import media_storage

    storage = media_storage(S3_ENV)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("media", "http://10.0.0.2:8333")
    assert (options["access_key"], options["secret_key"], options["region_name"]) == (
        "key",
        "secret",
        "us-east-1",
    )
    assert options["client_config"].signature_version == "s3v4"
    assert options["client_config"].s3 == {"addressing_style": "path"}
    assert options["default_acl"] is None and options["file_overwrite"] is True
    assert 0 < options["max_memory_size"] <= 8 * 1024 * 1024  # bounded: bigger objects spill to disk
    assert options["querystring_expire"] == 300
    assert options["transfer_config"].max_in_memory_upload_chunks == 2

    tuned = media_storage({**S3_ENV, "AWS_S3_MAX_MEMORY_SIZE": "1048576", "AWS_QUERYSTRING_EXPIRE": "60",
                           "AWS_S3_REGION_NAME": "eu-west-1"})["OPTIONS"]  # fmt: skip
    assert (tuned["max_memory_size"], tuned["querystring_expire"], tuned["region_name"]) == (
        1048576,
        60,
        "eu-west-1",
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEDIA_STORAGE": "s3"}, "needs AWS_STORAGE_BUCKET_NAME, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"),
        ({**S3_ENV, "AWS_S3_MAX_MEMORY_SIZE": "0"}, "AWS_S3_MAX_MEMORY_SIZE must be greater than 0"),
        ({**S3_ENV, "AWS_QUERYSTRING_EXPIRE": "soon"}, "AWS_QUERYSTRING_EXPIRE must be a whole number"),
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be one of local, s3"),
    ],
)
def test_bad_media_storage_configuration_is_refused_with_its_reason(env, message):
    from django.core.exceptions import ImproperlyConfigured

    from project.media_storage import media_storage

    with pytest.raises(ImproperlyConfigured, match=message):
        media_storage(env)


def _settings_in_subprocess(expression, **env):
    """Print `expression` from a fresh process whose settings read `env`."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        f"from django.core.files.storage import default_storage; print({expression})"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        capture_output=True, text=True,
    )  # fmt: skip
    return proc


def test_conn_max_age_comes_from_the_environment():
    default = _settings_in_subprocess("settings.DATABASES['default']['CONN_MAX_AGE']")
    assert default.stdout.strip() == "0", default.stderr
    persistent = _settings_in_subprocess(
        "settings.DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['CONN_HEALTH_CHECKS']",
        CONN_MAX_AGE="60",
    )
    assert persistent.stdout.strip() == "60 True", persistent.stderr


def test_a_process_started_with_media_storage_s3_uses_the_bucket():
    proc = _settings_in_subprocess("default_storage.__class__.__name__", **S3_ENV)
    assert proc.stdout.strip() == "S3Storage", proc.stderr
    refused = _settings_in_subprocess("1", MEDIA_STORAGE="s3")
    assert refused.returncode != 0 and "MEDIA_STORAGE=s3 needs" in refused.stderr


HTTPS_SETTINGS = (
    "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_PROXY_SSL_HEADER, "
    "settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT"
)


def test_https_behind_a_proxy_is_one_switch():
    plain = _settings_in_subprocess(HTTPS_SETTINGS)
    assert plain.stdout.strip() == "False False None 0 False", plain.stderr
    https = _settings_in_subprocess(HTTPS_SETTINGS, BEHIND_HTTPS_PROXY="1")
    assert https.stdout.strip() == "True True ('HTTP_X_FORWARDED_PROTO', 'https') 31536000 False", (
        https.stderr
    )
    tuned = _settings_in_subprocess(HTTPS_SETTINGS, BEHIND_HTTPS_PROXY="1", SECURE_HSTS_SECONDS="3600")
    assert tuned.stdout.strip() == "True True ('HTTP_X_FORWARDED_PROTO', 'https') 3600 False", tuned.stderr


def test_a_request_the_proxy_calls_https_gets_hsts_and_secure_cookies():
    answer = (
        "(lambda r: (r.status_code, r.headers.get('Strict-Transport-Security'), "
        "r.cookies['csrftoken']['secure']))"
        "(__import__('django.test').test.Client().get('/login/', headers={{'X-Forwarded-Proto': '{}'}}))"
    )
    https = _settings_in_subprocess(answer.format("https"), BEHIND_HTTPS_PROXY="1")
    assert https.stdout.strip() == "(200, 'max-age=31536000', True)", https.stderr
    # Without the switch the header is not trusted (a client could send it itself).
    plain = _settings_in_subprocess(answer.format("https"))
    assert plain.stdout.strip() == "(200, None, '')", plain.stderr


def test_every_response_carries_the_content_security_policy(client):
    for path in ["/login/", "/api/files/", "/healthz"]:
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy, path
        assert "unsafe" not in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_thumbnails_may_follow_their_redirect_to_the_s3_endpoint():
    from project.content_security_policy import media_origins

    assert media_origins({}) == []
    assert media_origins(S3_ENV) == ["http://10.0.0.2:8333"]
    aws = {**S3_ENV, "AWS_S3_ENDPOINT_URL": "", "AWS_S3_REGION_NAME": "eu-west-1"}
    assert media_origins(aws) == ["https://s3.amazonaws.com", "https://s3.eu-west-1.amazonaws.com"]
