"""The installed product, tried as a new user would: a fresh clone, `make run`, then HTTP only.

No test fixtures: the clone gets its own .venv, database, Redis and secret key from `make run`
exactly as the README says (only PORT is chosen, a free one). Then, over HTTP: log in with the
printed demo login, find the shipped "Purge expired trash" schedule enabled in the admin, make an
API token on the account page, upload through the API, run a trash job to `succeeded`, send a
malformed multipart body (4xx) and an anonymous 10 GB body (refused before it is read), and
finally press Ctrl-C (SIGINT to the foreground process group) and check no process is left.

Then the same clone again with its bytes in S3, as docs/deployment.md's "Several hosts" says a user runs it:
a SeaweedFS server (`weed mini` from the clone's own .venv), `MEDIA_STORAGE=s3` and the `AWS_*`
variables on `make run`; upload through the API, the thumbnails job succeeds, the original and
its thumbnail come back as redirects to presigned S3 URLs, the bucket holds them and
the clone's disk does not; Ctrl-C again.

Then the demo login's password is changed in the admin and `make run` restarted: the change
holds (the old printed password no longer logs in and is no longer printed), and guessing
passwords gets a 429 within LOGIN_FAILURE_LIMIT tries, after which the right one is refused too.

Run by .ci/run after the test suite: `.venv/bin/python scripts/smoke_installed.py`. Exit status 0
when every step passed; the log of `make run` is printed on failure.
"""

import http.cookiejar
import io
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 300  # a first `make run` installs the virtualenv (pip, npm) before it serves
# The user's environment is theirs; these would point the fresh install at something else.
FOREIGN_ENV = ("REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "MEDIA_ROOT",
               "TEST_DATABASE_URL", "PORT", "HOST", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE")  # fmt: skip


class SmokeFailure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise SmokeFailure(message)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Just enough of a browser: cookies, CSRF tokens, redirects."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method, path, body=None, headers=None):
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def cookie(self, name):
        return next((c.value for c in self.jar if c.name == name), "")

    def post_form(self, path, fields):
        fields = {"csrfmiddlewaretoken": self.cookie("csrftoken"), **fields}
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base + path}
        return self.request("POST", path, body, headers)


def png_bytes(seed):
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (seed * 60 % 256, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def multipart(files):
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, data in files:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'.encode()
        out += b"Content-Type: image/png\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def app_processes(clone, ignore=()):
    """Processes of this install still alive: anything whose command line or cwd is in the clone
    (but `ignore`: pids of what the smoke test itself started, such as the S3 server)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        except psutil.Error:
            continue
        if str(clone) in text and proc.pid != os.getpid() and proc.pid not in ignore:
            found.append(proc)
    return found


def run_steps(clone, port, log_path, steps):
    base = f"http://127.0.0.1:{port}"

    def step(name):
        steps.append([name, time.monotonic()])

    step("make run serves the login page")
    wait_served(base)

    step("log in with the printed demo login")
    browser, page = log_in(base, log_path)
    check(b"not scheduled" not in page, "the dashboard says the purge is not scheduled")

    step("the admin lists the enabled purge schedule")
    status, page = browser.request("GET", "/admin/django_celery_beat/periodictask/?q=Purge+expired+trash")
    rows = re.findall(rb"<tr.*?</tr>", page, re.S)
    row = next((r for r in rows if b"Purge expired trash" in r), b"")
    check(status == 200 and row, "no 'Purge expired trash' row in the admin")
    check(b"icon-yes" in row and b"0 3 *" in row, "the purge task is not an enabled 03:00 crontab")

    step("make an API token on the account page")
    browser.request("GET", "/account/token/")
    status, page = browser.post_form("/account/token/", {"action": "create"})
    match = re.search(rb'id="api-token-key">([^<]+)<', page)
    check(status == 200 and match, f"no API token made ({status})")
    bearer = {"Authorization": f"Bearer {match.group(1).decode()}"}
    api = Browser(base)

    step("upload two images through the API")
    body, content_type = multipart([("one.png", png_bytes(1)), ("two.png", png_bytes(2))])
    status, answer = api.request("POST", "/api/files/", body, {**bearer, "Content-Type": content_type})
    check(status == 201, f"upload answered {status}: {answer[:300]!r}")
    file_ids = [entry["id"] for entry in json.loads(answer)["files"]]
    check(len(file_ids) == 2, f"stored {file_ids}")

    step("a trash job reaches succeeded")
    payload = json.dumps({"action": "trash", "file_ids": file_ids}).encode()
    json_headers = {**bearer, "Content-Type": "application/json"}
    status, answer = api.request("POST", "/api/jobs/", payload, json_headers)
    check(status == 202, f"submit answered {status}: {answer[:300]!r}")
    status_url = json.loads(answer)["status_url"]
    deadline = time.monotonic() + 60
    while True:
        job = json.loads(api.request("GET", status_url, headers=bearer)[1])
        if job["status"] not in ("queued", "running"):
            break
        check(time.monotonic() < deadline, f"the trash job is still {job['status']} after 60s")
        time.sleep(0.2)
    check(job["status"] == "succeeded" and job["done"] == 2, f"trash job ended {job}")

    step("a malformed multipart request gets a 4xx")
    headers = {**bearer, "Content-Type": "multipart/form-data"}  # no boundary
    status, answer = api.request("POST", "/api/files/", b"--x\r\n", headers)
    check(400 <= status < 500 and b"error" in answer, f"malformed multipart: {status} {answer[:200]!r}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/files/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n\r\n")
        reply = sock.recv(4096)
    check(reply.startswith(b"HTTP/1.1 401"), f"an anonymous 10 GB body was not refused: {reply[:60]!r}")

    redis_outage_steps(clone, base, log_path, api, bearer, steps)


REDIS_OUTAGE_SECONDS = 30
OUTAGE_IMAGES = 600  # 30 chunks: seconds of work, long enough to kill Redis in the middle


def redis_outage_steps(clone, base, log_path, api, bearer, steps):
    """make run's Redis SIGKILLed mid-job and started again 30 s later on its port: no process of
    `make run` exits, the login page answers meanwhile while /healthz is a 503 with Retry-After,
    and the job then finishes. Prints how long the job took to move again once Redis was back."""
    sys.path.insert(0, str(clone))
    from scripts.ensure_redis import start_private_redis

    steps.append([f"[redis] upload {OUTAGE_IMAGES} images: a thumbnails job", time.monotonic()])
    images = [(f"outage-{n}.png", _outage_png(n)) for n in range(OUTAGE_IMAGES)]
    body, content_type = multipart(images)
    status, answer = api.request("POST", "/api/files/", body, {**bearer, "Content-Type": content_type})
    check(status == 201 and json.loads(answer)["thumbnail_job_id"], f"upload answered {status}")
    job_url = f"/api/jobs/{json.loads(answer)['thumbnail_job_id']}/"

    def job():
        return json.loads(api.request("GET", job_url, headers=bearer)[1])

    steps.append([f"[redis] SIGKILL Redis mid-job, {REDIS_OUTAGE_SECONDS} s outage", time.monotonic()])
    redis_dir = clone / "var" / "redis"
    running = _make_run_processes(clone)
    deadline = time.monotonic() + 60
    while (before := job())["done"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # kill it mid-job: some chunks done, most still in Redis
    os.kill(int((redis_dir / "redis.pid").read_text()), signal.SIGKILL)
    killed_at, before = time.monotonic(), job()
    check(before["status"] in ("queued", "running"), f"the job was over before Redis died: {before}")
    print(f"  Redis killed with the job {before['status']}, {before['done']} of {before['total']} done")
    while time.monotonic() - killed_at < REDIS_OUTAGE_SECONDS:
        check(_answers(base), "the login page stopped answering while Redis was down")
        status, headers = _status_of(base + "/healthz")
        check(status == 503 and headers.get("Retry-After"), f"/healthz answered {status} without Redis")
        time.sleep(1)
    _check_still_running(running, "while Redis was down")

    steps.append(["[redis] start Redis again on its port; the job finishes", time.monotonic()])
    port = int(re.search(r"started redis-server pid \d+ at redis://[^:]+:(\d+)", log_path.read_text())[1])
    start_private_redis(redis_dir, port=port)  # the same data: the queued messages are still there
    back_at, done_then, moving = time.monotonic(), job()["done"], None
    while (state := job())["status"] in ("queued", "running"):
        if moving is None and state["done"] > done_then:
            moving = time.monotonic() - back_at
        check(time.monotonic() - back_at < 180, f"the job is still {state} 180 s after Redis came back")
        time.sleep(0.2)
    finished = time.monotonic() - back_at
    check(state["status"] == "succeeded" and state["done"] == OUTAGE_IMAGES, f"the job ended {state}")
    _check_still_running(running, "after Redis came back")
    respawned = log_path.read_text(errors="replace").count("[respawn]")
    print(
        f"  Redis back: the job moved again after {moving or finished:.1f} s and succeeded after "
        f"{finished:.1f} s ({respawned} restarts by scripts/respawn.py)"
    )


def _outage_png(n):
    """Bytes no other step uploads (png_bytes repeats every 64 seeds; a duplicate gets no job)."""
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (n % 256, n // 256, 77)).save(buffer, "PNG")
    return buffer.getvalue()


def _make_run_processes(clone):
    """honcho, the web server and the wrappers of the workers and beat: none of them may exit."""
    names = ("honcho", "project.web_server", "respawn.py")
    found = [p for p in app_processes(clone) if any(n in " ".join(p.info["cmdline"] or []) for n in names)]
    check(len(found) >= 5, f"make run's processes not found: {found}")
    return found


def _check_still_running(processes, when):
    gone = [" ".join(p.info["cmdline"] or [])[:100] for p in processes if not p.is_running()]
    check(not gone, f"processes of make run exited {when}: {gone}")


def _status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers


def wait_served(base):
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(base):
        check(time.monotonic() < deadline, f"no login page after {START_TIMEOUT}s")
        time.sleep(0.5)


def log_in(base, log_path):
    """A Browser logged in with the demo login `make run` printed, and the page it landed on."""
    printed = re.search(r"username: (\S+)\s+password: (\S+)", log_path.read_text(errors="replace"))
    check(printed, "make run printed no demo login")
    browser = Browser(base)
    browser.request("GET", "/login/")
    status, page = browser.post_form("/login/", {"username": printed[1], "password": printed[2]})
    check(status == 200 and b"Dashboard" in page, f"login failed: {status}")
    return browser, page


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch_bytes(browser, path):
    """GET path as the logged-in browser: (how it was served, body, Content-Type). A redirect (to
    a presigned S3 URL) is followed WITHOUT the session's cookies, as a browser would cross sites."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(browser.jar), _NoRedirect)
    try:
        with opener.open(browser.base + path, timeout=30) as response:
            return "streamed", response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as answer:
        check(answer.code == 302, f"GET {path} answered {answer.code}")
        location = answer.headers["Location"]
    with urllib.request.urlopen(location, timeout=30) as response:
        return (
            f"302 to {urllib.parse.urlsplit(location).netloc}",
            response.read(),
            response.headers.get("Content-Type", ""),
        )


def s3_steps(server, clone):
    def run(_clone, port, log_path, steps):
        base = f"http://127.0.0.1:{port}"
        steps.append(["[s3] log in", time.monotonic()])
        wait_served(base)
        browser, _page = log_in(base, log_path)
        steps.append(["[s3] upload two images through the web API (session)", time.monotonic()])
        browser.request("GET", "/library/upload/")
        images = [("s3-one.png", png_bytes(3)), ("s3-two.png", png_bytes(4))]
        body, content_type = multipart(images)
        headers = {
            "Content-Type": content_type,
            "X-CSRFToken": browser.cookie("csrftoken"),
            "Referer": base + "/",
        }
        status, answer = browser.request("POST", "/api/files/", body, headers)
        check(status == 201, f"upload answered {status}: {answer[:300]!r}")
        uploaded = json.loads(answer)
        check(len(uploaded["files"]) == 2 and uploaded["thumbnail_job_id"], f"uploaded {uploaded}")

        steps.append(["[s3] the thumbnails job succeeds on the worker", time.monotonic()])
        deadline = time.monotonic() + 120
        while True:
            job = json.loads(browser.request("GET", f"/api/jobs/{uploaded['thumbnail_job_id']}/")[1])
            if job["status"] not in ("queued", "running"):
                break
            check(time.monotonic() < deadline, f"the thumbnails job is still {job['status']} after 120s")
            time.sleep(0.3)
        check(job["status"] == "succeeded", f"thumbnails job ended {job}")

        steps.append(["[s3] original and thumbnail come back; bytes live in the bucket", time.monotonic()])
        keys = server.keys()
        for (_name, data), entry in zip(images, uploaded["files"], strict=True):
            how, served, _type = fetch_bytes(browser, f"/files/{entry['id']}/download/")
            check(served == data, f"download of {entry['name']} ({how}) is not the uploaded bytes")
            check(how.startswith("302"), f"on S3 the download must redirect to a presigned URL, was {how}")
            thumb_how, thumb, thumb_type = fetch_bytes(browser, f"/files/{entry['id']}/thumb/256/")
            check(thumb_type.startswith("image/"), f"thumbnail ({thumb_how}) served as {thumb_type}")
            check(thumb_how.startswith("302"), f"on S3 the thumbnail must redirect, was {thumb_how}")
            check(Image.open(io.BytesIO(thumb)).size[0] > 0, f"thumbnail ({thumb_how}) is not an image")
            stored = [key for key in keys if entry["sha256"] in key]
            check(stored, f"no object of {entry['sha256']} in the bucket")
            print(f"  {entry['name']}: download {how}, thumbnail {thumb_how}, objects {stored}")
        # The local-disk phase left its own files there; this phase's must not be on this disk.
        shas = {entry["sha256"] for entry in uploaded["files"]}
        media = [path for path in (clone / "var" / "media").rglob("*") if path.is_file()]
        local = [path for path in media if any(sha in path.name for sha in shas)]
        check(not local, f"bytes on the local disk: {local[:3]}")

    return run


def run_s3_phase(clone, env, workdir, steps):
    """The same clone, its bytes in a SeaweedFS bucket started from the clone's own .venv."""
    sys.path.insert(0, str(ROOT))
    from devtools.seaweedfs import start_seaweedfs

    steps.append(["[s3] start SeaweedFS (weed mini)", time.monotonic()])
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{path}"  # the clone's own weed
    try:
        server = start_seaweedfs(workdir / "s3", bucket="mediaflow")
    finally:
        os.environ["PATH"] = path
    try:
        s3_env = {**env, **server.env}
        run, log_path = s3_steps(server, clone), workdir / "make-run-s3.log"
        return run_phase("s3", clone, s3_env, log_path, steps, run, ignore={server.proc.pid})
    finally:
        server.stop()


def printed_login(log_path):
    """(username, password) of the demo login `make run` printed, or None."""
    printed = re.search(r"username: (\S+)\s+password: (\S+)", log_path.read_text(errors="replace"))
    return printed and (printed[1], printed[2])


def try_login(base, username, password):
    """(status, page) of one login attempt from a new browser."""
    browser = Browser(base)
    browser.request("GET", "/login/")
    return browser.post_form("/login/", {"username": username, "password": password})


def change_demo_password_steps(passwords):
    """Log in with the printed demo login and change its password in the admin."""

    def run(_clone, port, log_path, steps):
        base = f"http://127.0.0.1:{port}"
        steps.append(["[password] change the demo password in the admin", time.monotonic()])
        wait_served(base)
        browser, _page = log_in(base, log_path)
        username, old = printed_login(log_path)
        new = "changed-" + uuid.uuid4().hex[:12]
        browser.request("GET", "/admin/password_change/")
        status, page = browser.post_form(
            "/admin/password_change/", {"old_password": old, "new_password1": new, "new_password2": new}
        )
        check(status == 200 and b"password was changed" in page, f"password change answered {status}")
        passwords.update(username=username, old=old, new=new)

    return run


def restart_after_password_change_steps(passwords):
    """The change holds across a restart; guessing passwords ends in a 429."""

    def run(_clone, port, log_path, steps):
        base = f"http://127.0.0.1:{port}"
        username, old, new = passwords["username"], passwords["old"], passwords["new"]
        steps.append(["[password] after a restart the change holds", time.monotonic()])
        wait_served(base)
        printed = log_path.read_text(errors="replace")
        check(old not in printed and not printed_login(log_path), "make run printed the old demo password")
        check("was changed" in printed, "make run did not say the demo password was changed")
        status, page = try_login(base, username, old)
        check(status == 200 and b"Dashboard" not in page, f"the old password still logs in ({status})")
        status, page = try_login(base, username, new)
        check(status == 200 and b"Dashboard" in page, f"the new password does not log in ({status})")

        steps.append(["[password] guessing passwords gets a 429", time.monotonic()])
        guesses = 0
        while (status := try_login(base, username, f"guess-{guesses}")[0]) != 429:
            check(status == 200, f"a wrong password answered {status}")
            guesses += 1
            check(guesses < 20, "20 wrong passwords and still no 429")
        status, page = try_login(base, username, new)
        check(status == 429 and b"Too many failed login attempts" in page, f"then the right one: {status}")
        print(f"  429 after {guesses + 1} wrong passwords; the right one then refused too")

    return run


def run_demo_password_phase(clone, env, workdir, steps):
    """Change the demo password, restart `make run`, check it held; then guess until the 429."""
    passwords = {}
    failure = run_phase(
        "demo password", clone, env, workdir / "make-run-password.log", steps,
        change_demo_password_steps(passwords),
    )  # fmt: skip
    if failure:
        return failure
    return run_phase(
        "restart", clone, env, workdir / "make-run-restart.log", steps,
        restart_after_password_change_steps(passwords),
    )  # fmt: skip


def _answers(base):
    try:
        with urllib.request.urlopen(base + "/login/", timeout=2):
            return True
    except (OSError, urllib.error.HTTPError):
        return False


def start_make_run(clone, env, log_path):
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_make_run(make, clone, steps, ignore=()):
    """Ctrl-C; returns what went wrong, or None."""
    steps.append(["Ctrl-C stops every process", time.monotonic()])
    os.killpg(make.pid, signal.SIGINT)  # what the terminal sends to the foreground group
    failure = None
    try:
        make.wait(60)
    except subprocess.TimeoutExpired:
        failure = "make run did not exit 60 s after Ctrl-C"
    deadline = time.monotonic() + 15
    while (left := app_processes(clone, ignore)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        failure = failure or "processes left after Ctrl-C: " + "; ".join(
            " ".join(p.info["cmdline"] or [])[:120] for p in left
        )
        for proc in left:
            proc.kill()
    return failure


def run_phase(name, clone, env, log_path, steps, run, ignore=()):
    """`make run` in the clone with env, the phase's steps over HTTP, Ctrl-C; a failure or None."""
    port = free_port()
    env = {**env, "PORT": str(port)}
    steps.append([f"[{name}] make run", time.monotonic()])
    make = start_make_run(clone, env, log_path)
    failure = None
    try:
        run(clone, port, log_path, steps)
    except (SmokeFailure, OSError, ValueError, KeyError) as exc:
        failure = f"{steps[-1][0] if steps else 'start'}: {exc}"
    stopped = stop_make_run(make, clone, steps, ignore)
    failure = failure or stopped
    if failure:
        print(f"\nSMOKE TEST FAILED ({name}) — {failure}\n--- make run log (tail) ---", file=sys.stderr)
        print("\n".join(log_path.read_text(errors="replace").splitlines()[-80:]), file=sys.stderr)
    return failure


def main():
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-smoke-"))
    clone = workdir / "mediaflow"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith("MEDIAFLOW_")}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_") and k != "MEDIA_STORAGE"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    started = time.monotonic()
    steps = []
    failure = run_phase("local disk", clone, env, workdir / "make-run.log", steps, run_steps)
    if not failure:
        failure = run_s3_phase(clone, env, workdir, steps)
    if not failure:
        failure = run_demo_password_phase(clone, env, workdir, steps)
    steps.append(["end", time.monotonic()])

    print(f"{'step':<56} {'seconds':>8}")
    for (name, at), (_next, then) in itertools.pairwise(steps):
        print(f"{name:<56} {then - at:8.1f}")
    print(f"{'total':<56} {time.monotonic() - started:8.1f}")
    if failure:
        print(f"(kept {workdir})", file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", str(workdir)], check=False)
    print("smoke test passed: the installed product does what the README says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
