"""Which tests the `services` marker goes to (tests/support/services.py): `make test-fast` runs
the others with no redis-server, so a test that needs a service must never miss it."""

import types
from pathlib import Path

import pytest

from devtools import processes
from tests.support.services import needs_services


def item(path="tests/jobs/test_x.py", fixtures=(), module=None, marked=False):
    marker = pytest.mark.services.mark if marked else None
    return types.SimpleNamespace(
        path=Path(path), fixturenames=list(fixtures), module=module,
        get_closest_marker=lambda name: marker if name == "services" else None,
    )  # fmt: skip


def module_with(**names):
    module = types.ModuleType("tests.jobs.test_x")
    vars(module).update(names)
    return module


def test_a_test_in_this_process_needs_no_service():
    assert not needs_services(item(fixtures=["db", "make_user", "settings", "test_kinds"]))
    assert not needs_services(item(module=module_with(wait_until=processes.wait_until)))


@pytest.mark.parametrize(
    "fixture", ["celery_worker", "live_server_url", "page", "redis_url", "s3_storage", "bulk_to_ourselves"]
)
def test_a_service_fixture_marks_the_test(fixture):
    assert needs_services(item(fixtures=["db", fixture]))


@pytest.mark.parametrize("path", ["tests/browser/test_x.py", "tests/installed/test_x.py"])
def test_browser_and_installed_tests_are_marked(path):
    assert needs_services(item(path=path))


@pytest.mark.parametrize("starter", ["start_celery_worker", "start_daphne", "start_redis_server"])
def test_a_module_that_starts_a_service_itself_is_marked(starter):
    assert needs_services(item(module=module_with(**{starter: getattr(processes, starter)})))


def test_a_hand_set_marker_is_kept():
    assert needs_services(item(marked=True))
