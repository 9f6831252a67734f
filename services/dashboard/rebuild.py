"""Rebuild the dashboard's projections from its event log, from scratch.

    python -m services.dashboard.rebuild

Safe while the projector runs: a production's projection is always a fold of
its whole log, so an event that lands during the rebuild is folded by
whichever writer comes last.
"""
from __future__ import annotations

import argparse
import time

from services.common.mongo import connect, ensure_indexes
from services.common.settings import load_settings

from . import store


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    db = connect(load_settings())
    ensure_indexes(db, store.INDEXES)
    started = time.monotonic()
    count = store.rebuild(db)
    print(f"rebuilt {count} production(s) from the event log in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
