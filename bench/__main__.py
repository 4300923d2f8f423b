"""Command line of the benchmark: `python -m bench [--servers ...] [--links ...] [--leases N] [--reps N] [--quick]
[--json OUT]`.

For each link count it builds one topology, runs every server on it REPS times (a fresh start each time),
prints the table and the ratios of ours to the others, and deletes the namespaces, also on Ctrl-C or SIGTERM.
The starts go in rounds, each server once per round: a slow minute of a shared machine then falls on every
server, not on all the starts of one.
"""

import argparse
import json
import signal
import sys

from bench import report
from bench.netns import Topology
from bench.preload import preloaded_leases
from bench.run import LoadPlan, RunOutcome, run_once
from bench.servers import SERVER_KINDS

FULL_PLAN = LoadPlan(ceiling=8000, seconds=3, max_steps=8, clients=50_000)
QUICK_PLAN = LoadPlan(ceiling=100, seconds=2, max_steps=3, clients=1000)
LEGEND = ("offered/s: highest perfdhcp rate with < 1% of DISCOVERs left without an ACK; DORA/s done: ACKs per "
          "second at that rate; OFFER/ACK p50/p99: per-exchange delays from perfdhcp -x t timestamps; p99 at ½: the "
          "same at half the best rate; CPU: server "
          "utime+stime per completed DORA; RSS at start: resident once started and idle, holding the preloaded leases; "
          "VmHWM: peak resident over the load, when it also holds the leases of perfdhcp's clients; RSS after API: "
          "resident once the load is over and GETs of /api/v1/stats, /interfaces, /subnets and /metrics have been "
          "answered (ours only: its API is in its process); start s: launch to first OFFER on the last link; medians "
          "over runs.")


def _failed_to_start(outcomes: list[RunOutcome]) -> bool:
    """Whether the last start of a server failed: its later rounds are skipped."""
    return bool(outcomes) and (outcomes[-1].error or "").startswith("did not start")


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=_comma_list, default=list(SERVER_KINDS),
                        help=f"comma-separated, from {','.join(SERVER_KINDS)} (default: all)")
    parser.add_argument("--links", type=lambda text: [int(item) for item in _comma_list(text)], default=[1],
                        help="comma-separated link counts, e.g. 1,1000,4000 (default: 1)")
    parser.add_argument("--leases", type=int, default=0,
                        help="active leases every server holds when it starts, spread over the links after the first"
                             " (default 0)")
    parser.add_argument("--reps", type=int, default=3, help="fresh starts per server and link count (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke size: 1 rep, steps of 200 exchanges (at most 3)")
    parser.add_argument("--json", metavar="OUT", help="also write rows, ratios and every step as JSON")
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.servers if name not in SERVER_KINDS]
    if unknown:
        parser.error(f"unknown server(s): {', '.join(unknown)}")
    if arguments.quick:
        arguments.reps = 1
    return arguments


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    plan = QUICK_PLAN if arguments.quick else FULL_PLAN
    rows: list[report.Row] = []
    outcomes: list[RunOutcome] = []
    for link_count in arguments.links:
        print(f"building {link_count} link(s)", file=sys.stderr, flush=True)
        with Topology(link_count) as topology:
            try:
                leases = preloaded_leases(topology.links, arguments.leases)
            except ValueError as error:
                print(f"links={link_count}: {error}", file=sys.stderr)
                return 2
            by_server = {name: [] for name in arguments.servers}
            for repetition in range(arguments.reps):
                for name, server_outcomes in by_server.items():
                    if _failed_to_start(server_outcomes):
                        continue
                    outcome = run_once(SERVER_KINDS[name](), topology, plan, leases)
                    server_outcomes.append(outcome)
                    best = outcome.best.load.rate if outcome.best else None
                    print(f"{name} links={link_count} rep={repetition + 1}: "
                          f"{outcome.error or f'best offered rate {best}/s'}", file=sys.stderr, flush=True)
            for server_outcomes in by_server.values():
                outcomes += server_outcomes
                rows.append(report.summarize(server_outcomes))
    ratio_rows = report.ratios(rows)
    print(LEGEND + "\n\n" + report.markdown(rows, ratio_rows))
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump(report.as_json(rows, ratio_rows, outcomes), out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
