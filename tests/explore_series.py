"""Two writers, each writing one key twice, in every combination of forms,
with each writer's clock ahead in turn, through every order of their
storage calls that can matter (about 25,000 schedules, twenty minutes on
the local store): too long for the suite, which runs one combination both
ways; run it after changing the write protocol.

    python tests/explore_series.py
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_interleavings import BUCKET, Scenario, V, put, run_scenario

from deltaglider.adapters.local_storage import LocalStorage
from deltaglider.ports.storage import StoragePort

KEY = "k/k.zip"


def main() -> int:
    work = Path(tempfile.mkdtemp())
    runs = itertools.count()

    def fresh_state() -> tuple[StoragePort, str]:
        store = LocalStorage(work / f"run-{next(runs)}")
        store.create_bucket(BUCKET)
        return store, ""

    total = 0
    forms = list(itertools.product((True, False), repeat=2))
    for first, second in itertools.product(forms, forms):
        writers = (
            tuple(put(KEY, V[1 + n], delta=d) for n, d in enumerate(first)),
            tuple(put(KEY, V[3 + n], delta=d) for n, d in enumerate(second)),
        )
        scenario = Scenario(((KEY, V[0], True),), writers)
        done = run_scenario(scenario, fresh_state)
        total += done
        print("delta?", first, "then", second, done, "schedules", flush=True)
    print(total, "schedules, all consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
