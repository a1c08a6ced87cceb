"""Every page a user or an operator opens loads without a console error or a failed request:
no missing favicon, no htmx error for job cards the panel does not show yet; and each runs under
the Content-Security-Policy without violating it (no inline script or style, no eval)."""

import pytest
from playwright.sync_api import expect

from jobs.services import submit
from tests.support.browser import log_in
from tests.support.page_rows import make_files, make_folder

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-password-1"
WATCH_HTMX_ERRORS = """
window.__htmxErrors = [];
for (const name of ["htmx:error", "htmx:oobErrorNoTarget", "htmx:swapError", "htmx:wsError"]) {
  document.addEventListener(name, () => window.__htmxErrors.push(name));
}
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective}: ${event.blockedURI} ${event.sample}`);
});
"""


def test_pages_load_without_console_errors_or_failed_requests(page, celery_worker, test_kinds, make_user):
    user = make_user("opal", password=PASSWORD, is_staff=True, is_superuser=True)
    folder = make_folder(user, "Trip")
    make_files(user, 5, folder=folder)
    # More finished jobs than the panel shows: the socket's snapshot carries cards the page lacks.
    jobs = [submit("test.record", user, [n]) for n in range(12)]
    problems = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    page.add_init_script(WATCH_HTMX_ERRORS)
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#dashboard-title")).to_be_visible()
    for path in ["/", "/library/", f"/library/folders/{folder.pk}/", "/library/trash/", "/library/upload/",
                 "/jobs/", f"/jobs/{jobs[0].pk}/", "/account/token/", "/admin/",
                 "/admin/django_celery_beat/periodictask/",
                 "/admin/django_celery_beat/periodictask/add/"]:  # fmt: skip
        response = page.goto(path)
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__htmxErrors") == [], path
        assert page.evaluate("window.__cspViolations") == [], path
    assert problems == []


def test_the_periodic_task_form_spells_out_the_chosen_crontab_under_the_csp(page, make_user):
    from django_celery_beat.models import CrontabSchedule

    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    log_in(page, make_user("root", password=PASSWORD, is_staff=True, is_superuser=True))
    page.goto("/admin/django_celery_beat/periodictask/add/")
    page.select_option("#id_crontab", str(crontab.pk))
    expect(page.locator(".field-crontab .help")).to_contain_text("In words: At 03:00")
