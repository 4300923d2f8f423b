"""Benchmark of the server's start with many leases: what `Server.__post_init__` does before it can serve.

Loads every lease from the database (`LeaseStore.load_all`) and builds the engine on them (`Engine(config,
leases)`, whose LeaseIndex indexes them), printing wall and CPU time of each step. Fill the database first:
  python -m bench.gen_leases /tmp/1m.leases --leases 1000000 --config /tmp/1m.conf
  python -m dhcpd -f -d -T -cf /tmp/1m.conf --db sqlite:////tmp/1m.sqlite -lf /tmp/1m.leases
Run: python -m bench.lease_startup --config /tmp/1m.conf --db sqlite:////tmp/1m.sqlite
"""

from __future__ import annotations

import argparse

from bench.lease_store import timed
from dhcpd.config.parser import load
from dhcpd.engine.engine import Engine
from dhcpd.leases.store import LeaseStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", required=True, help="database URL")
    args = parser.parse_args()
    config = load(args.config)
    store = LeaseStore(args.db)
    try:
        leases = timed("load_all", store.load_all)
        engine = timed(f"Engine on {len(leases)} leases", lambda: Engine(config, leases))
        print(f"indexed {len(engine.leases)} leases in {len(config.subnets)} subnets")
    finally:
        store.close()


if __name__ == "__main__":
    main()
