"""Real tables from PostgreSQL's pgbench: ``pgbench -i -s SCALE`` in a throw-away cluster, exported as CSV.

    python benchmarks/pgbench_tables.py --scale 15      # writes benchmarks/.cache/pgbench_accounts_s15.csv

``pgbench_accounts`` (100,000 rows per scale unit: sorted ``aid``, ``bid`` in long runs, ``abalance`` all zero,
``filler`` blank ``char(84)``) is the table pgbench itself generates and queries, so it is real data of a real
system rather than a synthetic stand-in. A cluster is initialised in a temporary directory (as the ``postgres``
user when run as root), listens on a Unix socket only, and is stopped and removed afterwards; the CSV is cached.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

CACHE = Path(__file__).resolve().parent / ".cache"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg(tool: str) -> str:
    for d in PG_BIN_DIRS:
        if (d / tool).exists():
            return str(d / tool)
    found = shutil.which(tool)
    if not found:
        raise FileNotFoundError(f"PostgreSQL's {tool} is not installed")
    return found


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def export_accounts(scale: int) -> Path:
    """``pgbench_accounts`` at ``scale`` as CSV (cached under benchmarks/.cache)."""
    out = CACHE / f"pgbench_accounts_s{scale}.csv"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lakeshrink-pg-"))
    data, sock = work / "data", work / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
        shutil.chown(sock, "postgres")
    started = False
    try:
        subprocess.run(_as_owner([_pg("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), check=True,
                       capture_output=True)
        subprocess.run(_as_owner([_pg("pg_ctl"), "-D", str(data), "-w", "-l", str(work / "log"), "-o",
                                  f"-k {sock} -c listen_addresses='' -c fsync=off", "start"]), check=True,
                       capture_output=True)
        started = True
        conn = ["-h", str(sock), "-U", "postgres"]
        subprocess.run(_as_owner([_pg("pgbench"), *conn, "-i", "-s", str(scale), "-q", "postgres"]), check=True,
                       capture_output=True)
        tmp = out.with_suffix(".part")
        with open(tmp, "wb") as f:
            subprocess.run(_as_owner([_pg("psql"), *conn, "-d", "postgres", "-c",
                                      "COPY (SELECT * FROM pgbench_accounts ORDER BY aid) TO STDOUT WITH CSV HEADER"]),
                           check=True, stdout=f)
        tmp.rename(out)
    finally:
        if started:
            subprocess.run(_as_owner([_pg("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return out


def accounts_table(scale: int) -> pa.Table | None:
    """The table, or ``None`` (with a message) when PostgreSQL is not installed here."""
    try:
        path = export_accounts(scale)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"pgbench tables skipped: {exc}", file=sys.stderr)
        return None
    return pacsv.read_csv(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=15)
    print(export_accounts(parser.parse_args().scale))
