"""The installed product, tried as a new user would: a fresh clone, `make run`, then HTTP only.

No test fixtures: the clone gets its own .venv, database, Redis and secret key from `make run`
exactly as the README says (only PORT is chosen, a free one). Then, over HTTP: log in with the
printed demo login, find the shipped "Purge expired trash" schedule enabled in the admin, make an
API token on the account page, upload through the API, run a trash job to `succeeded`, send a
malformed multipart body (4xx) and an anonymous 10 GB body (refused before it is read), and
finally press Ctrl-C (SIGINT to the foreground process group) and check no process is left.

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


def app_processes(clone):
    """Processes of this install still alive: anything whose command line or cwd is in the clone."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        except psutil.Error:
            continue
        if str(clone) in text and proc.pid != os.getpid():
            found.append(proc)
    return found


def run_steps(clone, port, log_path, steps):
    base = f"http://127.0.0.1:{port}"
    browser = Browser(base)

    def step(name):
        steps.append([name, time.monotonic()])

    step("make run serves the login page")
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(base):
        check(time.monotonic() < deadline, f"no login page after {START_TIMEOUT}s")
        time.sleep(0.5)
    printed = re.search(r"username: (\S+)\s+password: (\S+)", log_path.read_text(errors="replace"))
    check(printed, "make run printed no demo login")
    username, password = printed.groups()

    step("log in with the printed demo login")
    browser.request("GET", "/login/")
    status, page = browser.post_form("/login/", {"username": username, "password": password})
    check(status == 200 and b"Dashboard" in page, f"login failed: {status}")
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


def _answers(base):
    try:
        with urllib.request.urlopen(base + "/login/", timeout=2):
            return True
    except (OSError, urllib.error.HTTPError):
        return False


def main():
    workdir = Path(tempfile.mkdtemp(prefix="mediaflow-smoke-"))
    clone = workdir / "mediaflow"
    log_path = workdir / "make-run.log"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith("MEDIAFLOW_")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    port = free_port()
    env["PORT"] = str(port)
    started = time.monotonic()
    steps = []
    with open(log_path, "wb") as log:
        make = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    failure = None
    try:
        run_steps(clone, port, log_path, steps)
    except (SmokeFailure, OSError, ValueError, KeyError) as exc:
        failure = f"{steps[-1][0] if steps else 'start'}: {exc}"
    steps.append(["Ctrl-C stops every process", time.monotonic()])
    os.killpg(make.pid, signal.SIGINT)  # what the terminal sends to the foreground group
    try:
        make.wait(60)
    except subprocess.TimeoutExpired:
        failure = failure or "make run did not exit 60 s after Ctrl-C"
    deadline = time.monotonic() + 15
    while (left := app_processes(clone)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        failure = failure or "processes left after Ctrl-C: " + "; ".join(
            " ".join(p.info["cmdline"] or [])[:120] for p in left
        )
        for proc in left:
            proc.kill()
    steps.append(["end", time.monotonic()])

    print(f"{'step':<48} {'seconds':>8}")
    for (name, at), (_next, then) in itertools.pairwise(steps):
        print(f"{name:<48} {then - at:8.1f}")
    print(f"{'total':<48} {time.monotonic() - started:8.1f}")
    if failure:
        print(f"\nSMOKE TEST FAILED — {failure}\n--- make run log (tail) ---", file=sys.stderr)
        print("\n".join(log_path.read_text(errors="replace").splitlines()[-80:]), file=sys.stderr)
        print(f"(kept {workdir})", file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", str(workdir)], check=False)
    print("smoke test passed: the installed product does what the README says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
