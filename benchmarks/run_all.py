"""Run every benchmark, one after the other, each in its own process. From the repository
root:

    .venv/bin/python benchmarks/run_all.py                 # all of them
    .venv/bin/python benchmarks/run_all.py form_weight submit_load
    .venv/bin/python benchmarks/run_all.py --only sqlite   # skip PostgreSQL

Each benchmark can also be run alone (see docs/PERFORMANCE.md):

- ``form_weight.py``  — bytes of the shopper's form page and its assets (goal < 60 KB);
- ``bdi_ranking.py``  — BDI ranking and HQ dashboard queries on 2,000 stores;
- ``submit_load.py``  — end-of-month submissions through gunicorn (goal ≥ 200/s, p95 ≤ 150 ms);
- ``pdf_reports.py``  — store and HQ PDF reports, time and peak memory (needs the reports
  module; says so and stops without it).

They run by hand, never in the test suite, and talk only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: name → (script, takes ``--only sqlite|postgres``)
BENCHMARKS = {
    "form_weight": ("form_weight.py", False),
    "bdi_ranking": ("bdi_ranking.py", True),
    "submit_load": ("submit_load.py", True),
    "pdf_reports": ("pdf_reports.py", True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks one after the other.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"which ones (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--only", choices=("sqlite", "postgres"),
                        help="one database only, for the benchmarks that use both")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; "
                     f"choose from {', '.join(BENCHMARKS)}")
    summary = []
    for name in args.names or list(BENCHMARKS):
        script, has_only = BENCHMARKS[name]
        cmd = [sys.executable, str(HERE / script)]
        if has_only and args.only:
            cmd += ["--only", args.only]
        print(f"\n######## {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(cmd, cwd=HERE.parent).returncode
        summary.append((name, code, time.perf_counter() - started))
    print("\n######## summary")
    for name, code, seconds in summary:
        state = {0: "ok", 2: "skipped (see its message)"}.get(code, f"exit code {code}")
        print(f"{name:<14}{state:<28}{seconds:7.0f} s")
    return max((code for _, code, _ in summary if code != 2), default=0)


if __name__ == "__main__":
    sys.exit(main())
