"""Contents deltas rebuilt on one core and on every core: how a long
deflate stream's restarts (archive/restarts.py) scale, against rebuilding
the same deltas with their restarts taken out (one deflate start to end,
as before restarts).

    python benchmarks/fetch_releases.py botocore 1.44.0 1.44.1 1.44.2 1.44.3 --sdist
    python benchmarks/bench_restarts.py benchmarks/data/botocore-sdist benchmarks/data/botocore

For each file after the first, against the one before, in this process
(warm: no start-up, no storage): the contents delta's encode (what a put
adds to storing bytes) and decode (what a get adds), pinned to one core and
on all of this machine's; medians over the files and repeats.  The scaling
to 8 and 16 cores is projected from the two measured (Amdahl's law: the
part that did not speed up on 2 cores is taken as serial), capped by the
chunks a stream has.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_codec import publish, releases

from deltaglider import archive
from deltaglider.archive import recipe


def unrestarted(payload: bytes) -> bytes:
    """The same delta with every deflate's restarts taken out."""
    parsed, vcdiff, _ = recipe.split(payload)

    def plain(ops: tuple[recipe.Op, ...]) -> tuple[recipe.Op, ...]:
        return tuple(
            recipe.Deflate(op.params, op.size, plain(op.parts))
            if isinstance(op, recipe.Deflate)
            else op
            for op in ops
        )

    stripped = recipe.Recipe(
        parsed.output_size, parsed.data_size, parsed.sources, plain(parsed.ops)
    )
    return recipe.dump(stripped) + bytes(vcdiff)


def timed(run: Callable[[], object], cores: set[int], repeats: int) -> float:
    """The best of ``repeats`` runs with this thread (and the threads it
    starts) on ``cores``."""
    every = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        return min(times)
    finally:
        os.sched_setaffinity(0, every)


def chunks(payload: bytes) -> tuple[int, int]:
    """The deflates a rebuild runs (streams, and chunks of restarted ones),
    and the chunks of the longest stream."""
    parsed, _, _ = recipe.split(payload)
    counts = [
        len(op.restarts) + 1 for _, op in recipe.walk(parsed.ops) if isinstance(op, recipe.Deflate)
    ]
    return sum(counts), max(counts, default=0)


def measured(ref_path: Path, path: Path, repeats: int) -> dict[str, object]:
    """One delta's encode and decode on one core and on all."""
    every, one = os.sched_getaffinity(0), {min(os.sched_getaffinity(0))}
    reference, target = ref_path.read_bytes(), path.read_bytes()
    payload = archive.encode(reference, target)
    assert payload is not None, f"{path.name}: no contents delta"
    names = archive.deflate_names(payload)
    plain = unrestarted(payload)
    assert archive.decode(reference, payload, size=len(target), implementation=names) == target
    assert archive.decode(reference, plain, size=len(target)) == target

    def encode() -> object:
        return archive.encode(reference, target)

    def decode() -> object:
        return archive.decode(reference, payload, size=len(target))

    def decode_plain() -> object:
        return archive.decode(reference, plain, size=len(target))

    return {
        "file": path.name,
        "size": len(target),
        "delta": len(payload),
        "deflates": chunks(payload)[0],
        "chunks": chunks(payload)[1],
        "encode_1": timed(encode, one, repeats),
        "encode_all": timed(encode, every, repeats),
        "decode_1": timed(decode, one, repeats),
        "decode_all": timed(decode, every, repeats),
        "decode_unrestarted_all": timed(decode_plain, every, repeats),
    }


def series(folder: Path, repeats: int) -> dict[str, object]:
    files = releases(folder)
    rows = []
    for ref_path, path in itertools.pairwise(files):
        rows.append(measured(ref_path, path, repeats))
        print(rows[-1], flush=True)
    return {"folder": folder.name, "cores": len(os.sched_getaffinity(0)), "rows": rows}


def projected(one: float, two: float, cores: int, deflates: int) -> float:
    """Amdahl's law from the times on one core and on two, on no more cores
    than there are deflates to run at once."""
    serial = min(max(2 * two / one - 1, 0.0), 1.0)
    return one * (serial + (1 - serial) / min(cores, max(deflates, 1)))


def render(result: dict[str, object]) -> str:
    rows = result["rows"]
    assert isinstance(rows, list)

    def med(key: str) -> float:
        return statistics.median(float(row[key]) for row in rows)

    size = int(statistics.median(row["size"] for row in rows))
    cores = int(result["cores"])  # type: ignore[call-overload]
    chunk_count = int(statistics.median(row["chunks"] for row in rows))
    deflates = int(statistics.median(row["deflates"] for row in rows))
    d1, d2, e1, e2 = med("decode_1"), med("decode_all"), med("encode_1"), med("encode_all")
    lines = [
        f"### {result['folder']}: {len(rows)} deltas, median file {size:,} bytes; "
        f"a rebuild runs {deflates} deflates, the longest stream's in {chunk_count} chunk(s)",
        "",
        f"| measure | 1 core | {cores} cores | speed-up | 8 cores (projected) "
        "| 16 cores (projected) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, one, two in (("decode (get)", d1, d2), ("encode (put)", e1, e2)):
        lines.append(
            f"| {name}, seconds | {one:.2f} | {two:.2f} | {one / two:.2f}x | "
            f"{projected(one, two, 8, deflates):.2f} | {projected(one, two, 16, deflates):.2f} |"
        )
    plain = med("decode_unrestarted_all")
    lines += [
        f"| decode without restarts, seconds | | {plain:.2f} "
        f"| restarts {plain / d2:.2f}x faster | | |",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    results = [series(folder, args.repeats) for folder in args.folders]
    command = "python benchmarks/bench_restarts.py " + " ".join(
        f"benchmarks/data/{folder.name}" for folder in args.folders
    )
    intro = (
        f"Command: `{command} --repeats {args.repeats}`  \n"
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Each file after the first "
        "against the one before, in one process (no start-up, no storage): the contents "
        "delta's encode (what a put adds) and decode (what a get adds), the best of the "
        "repeats, medians over the files; pinned to one core, then on all. *Without restarts*: "
        "the same deltas with their restarts taken out (one deflate start to end, as before). "
        "8 and 16 cores are projected from 1 and 2 (Amdahl's law, on no more cores than "
        "the deflates a rebuild runs: its streams, a restarted one counting its chunks)."
    )
    publish(
        "restarts",
        "Rebuilding long deflate streams on every core",
        intro,
        [render(result) for result in results],
        results,
        doc=not args.no_doc,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
