"""Archives of many small members: time per put and get against the number
of members, this package and deltaglider 6.2.0 side by side, on one
SeaweedFS server, in one run.

    python benchmarks/bench_members.py --repeats 3

Two jar-like zips of the same size (about 6.7 MB), every member changed
between the two versions: one of 50,000 members, one of 500 members per MB
(3,350).  Each tool stores version 1 (the folder's reference), then
version 2 (timed: the put), then reads version 2 back (timed: the get) and
it is compared byte for byte.  Each operation runs in a fresh process
through the tool's SDK (``client.upload`` / ``client.download``, the same
calls in both); the time is measured around the call, start-up excluded.
Reported: medians, the stored bytes of version 2, and the ratio of the
50,000-member archive's time to the 3,350-member one's (the goal: at
most 3).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_codec import write_doc  # noqa: E402
from dg62 import install  # noqa: E402
from seaweed import ACCESS_KEY, REGION, SECRET_KEY, s3_client, seaweedfs  # noqa: E402

BEGIN, END = "<!-- members:begin -->", "<!-- members:end -->"
SIZE = 6_700_000
COUNTS = (50_000, 3_350)

DRIVER = """
import sys, time
from deltaglider import create_client
operation, endpoint, source, target = sys.argv[1:]
client = create_client(endpoint_url=endpoint)
started = time.perf_counter()
summary = client.upload(source, target) if operation == "put" else client.download(source, target)
print(time.perf_counter() - started, getattr(summary, "stored_size", 0))
"""


def jar(members: int, version: int) -> bytes:
    """A zip of ``members`` class-like files totalling about SIZE bytes
    compressed; every member's content differs between versions."""
    rng = random.Random(members)
    words = [b"java/lang/String", b"Object", b"<init>", b"()V", b"Code", b"LineNumberTable"]
    # headers and directory take ~130 bytes a member; deflate ~1/3 of the rest
    per = max(4, (SIZE - 130 * members) // members * 3)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            body = bytearray()
            while len(body) < per:
                body += rng.choice(words) + b"%d " % rng.randrange(1 << 20)
            archive.writestr(f"com/example/p{i % 97}/C{i}.class", bytes(body) + b"v%d" % version)
    return out.getvalue()


def run(python: str, operation: str, endpoint: str, source: str, target: str) -> tuple[float, int]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    env["AWS_DEFAULT_REGION"] = REGION
    result = subprocess.run(
        [python, "-c", DRIVER, operation, endpoint, source, target],
        env=env, capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip
    seconds, stored = result.stdout.split()
    return float(seconds), int(stored)


def measure(python: str, endpoint: str, bucket: str, folder: Path, repeats: int) -> dict:
    results: dict = {}
    for members in COUNTS:
        v1, v2 = folder / f"{members}-1.jar", folder / f"{members}-2.jar"
        puts, gets, stored = [], [], 0
        for attempt in range(repeats):
            url = f"s3://{bucket}/m{members}-{attempt}/"
            run(python, "put", endpoint, str(v1), url)
            seconds, stored = run(python, "put", endpoint, str(v2), url)
            puts.append(seconds)
            back = folder / "back.jar"
            seconds, _ = run(python, "get", endpoint, url + v2.name, str(back))
            gets.append(seconds)
            assert back.read_bytes() == v2.read_bytes(), "rebuilt bytes differ"
        results[members] = {
            "size": v2.stat().st_size,
            "put": statistics.median(puts),
            "get": statistics.median(gets),
            "stored": stored,
        }
    return results


def render(ours: dict, old: dict, command: str) -> str:
    lines = [
        BEGIN,
        "## Archives of many small members vs deltaglider 6.2.0, on SeaweedFS",
        "",
        f"`{command}`",
        "",
        "Two zips of the same size, every member changed between versions; SDK put and get of "
        "version 2 in a fresh process each, time around the call (medians). 6.2.0 stores a "
        "delta of the archive's bytes.",
        "",
        "| members | file | our put | our get | our stored | 6.2.0 put | 6.2.0 get "
        "| 6.2.0 stored |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for members in COUNTS:
        o, t = ours[members], old[members]
        lines.append(
            f"| {members:,} | {o['size']:,} | {o['put']:.2f} s | {o['get']:.2f} s | "
            f"{o['stored']:,} | {t['put']:.2f} s | {t['get']:.2f} s | {t['stored']:,} |"
        )
    many, few = ours[COUNTS[0]], ours[COUNTS[1]]
    lines += [
        "",
        f"50,000 members against 500 per MB, this package: put {many['put'] / few['put']:.2f}x, "
        f"get {many['get'] / few['get']:.2f}x the time (goal: at most 3x).",
        END,
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    command = "python benchmarks/bench_members.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for members in COUNTS:
            for version in (1, 2):
                (folder / f"{members}-{version}.jar").write_bytes(jar(members, version))
        old_python = str(install(folder / "dg62"))
        (folder / "weed").mkdir()
        with seaweedfs(folder / "weed") as endpoint:
            s3_client(endpoint).create_bucket(Bucket="members")
            ours = measure(sys.executable, endpoint, "members", folder, args.repeats)
            s3_client(endpoint).create_bucket(Bucket="members-62")
            old = measure(old_python, endpoint, "members-62", folder, args.repeats)
    section = render(ours, old, command)
    print(section)
    if not args.no_doc:
        write_doc(section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
