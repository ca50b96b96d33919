"""Engines benchmark and check (issue 10): CLI start-up time, and every ``--engine spark`` command on a standalone
Spark Connect server compared with the local engine.

``help``: ``lakeshrink --help`` wall time, ``--runs`` times, in this checkout and (``--anchor DIR``) in another
checkout side by side in the same run (alternating, the minimum and median of each reported, and the ratio of the
minima), with the interpreter's own start-up (``python -c pass``) as the floor and the load average beside them.

``connect``: starts a standalone Spark Connect server from the pyspark package
(``$SPARK_HOME/sbin/start-connect-server.sh``, pyspark's own ``SPARK_HOME`` when unset) on a free port, runs
``demo``, ``containment scan|plan|rebuild``, ``logs compress`` and ``encode advise|rewrite`` with
``--engine spark`` and ``SPARK_REMOTE=sc://localhost:PORT``, runs the same commands on the local engine, compares
their results field by field, and stops the server (always). Seconds per command are reported for both.

What is compared is results, not where they were written: each run writes under its own directory, which is
replaced by ``<out>`` in every string before comparing. Measured figures (seconds, throughputs, speeds) are left
out. The planner prices a rebuild with the engine's *measured* throughput (a measurement: it differs from run to
run, and Spark's is lower), so both runs get the same costs file (``throughput_mb_per_s``) and the decisions are
compared. A command whose results differ lists where (``differences``); the raw documents of both runs go to
``benchmarks/results/engines-connect-raw.json``.

Usage::

    python benchmarks/engines.py help --runs 7 --anchor /path/to/old/checkout
    python benchmarks/engines.py connect

Writes ``benchmarks/results/engines-<mode>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _help_seconds(checkout: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lakeshrink", "--help"], cwd=checkout, check=True, capture_output=True)
    return time.perf_counter() - start


def _python_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
    return time.perf_counter() - start


def run_help(runs: int, anchor: Path | None) -> dict:
    times: dict[str, list[float]] = {"this": [], "anchor": [], "python": []}
    for _ in range(runs):
        times["python"].append(_python_seconds())
        times["this"].append(_help_seconds(ROOT))
        if anchor is not None:
            times["anchor"].append(_help_seconds(anchor))
    result = {"runs": runs, "python_startup_min_s": round(min(times["python"]), 3),
              "python_startup_median_s": round(statistics.median(times["python"]), 3),
              "this_min_s": round(min(times["this"]), 3), "this_median_s": round(statistics.median(times["this"]), 3),
              "this_all_s": [round(t, 3) for t in times["this"]], "load_average_1min": round(os.getloadavg()[0], 2)}
    if anchor is not None:
        result.update(anchor=str(anchor), anchor_min_s=round(min(times["anchor"]), 3),
                      anchor_all_s=[round(t, 3) for t in times["anchor"]],
                      anchor_median_s=round(statistics.median(times["anchor"]), 3),
                      ratio_this_over_anchor=round(min(times["this"]) / min(times["anchor"]), 3))
    return result


# -------------------------------------------------------------------------------------------- Connect server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _spark_home() -> Path:
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    import pyspark

    return Path(pyspark.__file__).parent


def start_server(port: int, work: Path) -> dict[str, str]:
    """Start a standalone Connect server; returns the environment the server scripts need (to stop it)."""
    home = _spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_PID_DIR": str(work / "pids"),
           "SPARK_LOG_DIR": str(work / "logs"), "PYSPARK_PYTHON": sys.executable,
           "SPARK_IDENT_STRING": f"lakeshrink-{port}"}
    env.pop("SPARK_REMOTE", None)
    subprocess.run([str(home / "sbin" / "start-connect-server.sh"), "--master", "local[2]",
                    "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
                    "--conf", "spark.sql.shuffle.partitions=2"], env=env, check=True, capture_output=True)
    deadline = time.time() + 600
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("localhost", port)) == 0:
                return env
        time.sleep(1)
    stop_server(env)
    raise RuntimeError(f"the Connect server did not listen on {port} within 10 minutes (logs: {work / 'logs'})")


def stop_server(env: dict[str, str]) -> None:
    subprocess.run([str(Path(env["SPARK_HOME"]) / "sbin" / "stop-connect-server.sh")], env=env, capture_output=True)


def _cli(args: list[str], env: dict[str, str]) -> tuple[dict, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lakeshrink", "--output", "json", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"lakeshrink {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout), seconds


def _drop(doc, keys: set[str]):
    if isinstance(doc, dict):
        return {k: _drop(v, keys) for k, v in doc.items() if k not in keys}
    if isinstance(doc, list):
        return [_drop(v, keys) for v in doc]
    return doc


VOLATILE = {"seconds", "advise_seconds", "write_seconds", "engine", "spark_version", "master", "connect",
            "throughput_bytes_per_s", "throughput_source"}


MARKED = "{the largest table the plan marked}"


def _run_all(work: Path, tag: str, env: dict[str, str], extra: list[str]) -> dict[str, tuple[dict, float]]:
    """The commands in order; the rebuild rebuilds the largest table this run's plan marked."""
    done: dict[str, tuple[dict, float]] = {}
    for name, args in _commands(work, tag):
        if MARKED in args:
            marked = done["containment plan"][0]["marked"]
            args = [max(marked, key=lambda m: (m["bytes"], m["table"]))["table"] if a == MARKED else a for a in args]
        done[name] = _cli([*args, *extra], env)
    return done


def _commands(work: Path, tag: str) -> list[tuple[str, list[str]]]:
    from lakeshrink.sample_data import bundled_dir

    data = bundled_dir()
    lake = work / "lake"
    out = work / tag
    return [
        ("containment scan", ["containment", "scan", str(lake), "-o", str(out / "scan"), "--types", "compatible"]),
        ("containment plan", ["containment", "plan", str(out / "scan"), "-o", str(out / "plan"), "--access",
                              str(work / "access.csv"), "--costs", str(work / "costs.json"), "--no-gx"]),
        ("containment rebuild", ["containment", "rebuild", str(out / "plan"), MARKED, "-o",
                                 str(out / "rebuilt.parquet")]),
        ("logs compress", ["logs", "compress", str(data / "logs"), "-o", str(out / "logs.lslog")]),
        ("encode advise", ["encode", "advise", str(data / "lake" / "weather_jan.parquet"), "--objective", "size"]),
        ("encode rewrite", ["encode", "rewrite", str(data / "lake" / "derived" / "flights_by_origin"), "-o",
                            str(out / "rewritten"), "--objective", "size"]),
        ("demo", ["demo"]),
    ]


def _relative(doc: object, out: str) -> object:
    """``doc`` with the run's own output directory written ``<out>`` (paths are where, not what)."""
    if isinstance(doc, dict):
        return {k: _relative(v, out) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_relative(v, out) for v in doc]
    return doc.replace(out, "<out>") if isinstance(doc, str) else doc


def _comparable(name: str, doc: dict, out: str) -> object:
    doc = _relative(doc, out)
    if name == "demo":  # figures that are measured times or speeds differ; the rest must agree
        return [(c["key"], c["available"], c["report"] and c["report"]["saved_bytes"],
                 c["report"] and [(f["label"], f["value"]) for f in c["report"]["figures"]
                                  if f["unit"] not in ("s", "MB/s", "MB/s of parent") and "seconds" not in f["label"]])
                for c in doc["capabilities"]]
    if name == "containment scan":
        doc = {**doc, "stages": [(s["name"], s["pairs_in"], s["pairs_out"]) for s in doc["stages"]]}
    return _drop(doc, VOLATILE)


def differences(a: object, b: object, where: str = "", limit: int = 20) -> list[str]:
    """Where two comparable results differ (``path: local != connect``), at most ``limit`` of them."""
    out: list[str] = []

    def walk(x: object, y: object, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                walk(x.get(k, "<absent>"), y.get(k, "<absent>"), f"{at}.{k}")
        elif isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{at}[{i}]")
        elif x != y:
            out.append(f"{at or '.'}: {str(x)[:200]} != {str(y)[:200]}")

    walk(a, b, where)
    return out


def run_connect(work: Path) -> dict:
    from lakeshrink.sample_data import bundled_dir

    from lakeshrink.containment.lake import discover

    shutil.copytree(bundled_dir() / "lake", work / "lake")
    cold = "".join(f"{t.id},0,\n" for t in discover(work / "lake").tables)  # every table cold: the plan marks
    (work / "access.csv").write_text("table,reads_per_month,max_rebuild_seconds\n" + cold, encoding="utf-8")
    (work / "costs.json").write_text(json.dumps({"throughput_mb_per_s": 50}), encoding="utf-8")
    base_env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "LAKESHRINK_SPARK_MASTER")}
    local = _run_all(work, "local", base_env, [])
    port = _free_port()
    start = time.perf_counter()
    server_env = start_server(port, work / "server")
    started = time.perf_counter() - start
    try:
        remote_env = {**base_env, "SPARK_REMOTE": f"sc://localhost:{port}"}
        spark = _run_all(work, "connect", remote_env, ["--engine", "spark"])
    finally:
        stop_server(server_env)
    rows = []
    for name in local:
        a = _comparable(name, local[name][0], str(work / "local"))
        b = _comparable(name, spark[name][0], str(work / "connect"))
        row = {"command": name, "same_result": a == b, "local_s": round(local[name][1], 2),
               "connect_s": round(spark[name][1], 2)}
        if a != b:
            row["differences"] = differences(json.loads(json.dumps(a)), json.loads(json.dumps(b)))
        rows.append(row)
    raw = HERE / "results" / "engines-connect-raw.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"local": {k: v[0] for k, v in local.items()},
                               "connect": {k: v[0] for k, v in spark.items()}}, indent=1) + "\n", encoding="utf-8")
    describe = spark["demo"][0].get("engine", {})
    return {"server_start_s": round(started, 1), "engine": describe, "commands": rows,
            "all_same": all(r["same_result"] for r in rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    h = sub.add_parser("help")
    h.add_argument("--runs", type=int, default=7)
    h.add_argument("--anchor", type=Path, help="another checkout to time side by side (e.g. the previous main)")
    sub.add_parser("connect")
    args = parser.parse_args(argv)
    if args.mode == "help":
        result = run_help(args.runs, args.anchor)
    else:
        with tempfile.TemporaryDirectory(prefix="lakeshrink-engines-") as tmp:
            result = run_connect(Path(tmp))
    out = HERE / "results" / f"engines-{args.mode}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result.get("all_same", True) else 1


if __name__ == "__main__":
    sys.exit(main())
