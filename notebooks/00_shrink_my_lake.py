# Databricks notebook source
# MAGIC %md
# MAGIC # Shrink my lake
# MAGIC Everything lakeshrink does, end to end, on one lake and one folder of logs: compress the logs, re-encode the
# MAGIC Parquet tables, find the redundant tables and plan which to mark. Nothing is deleted; the lake itself is
# MAGIC only read (marking is left to the `03_redundant_tables` notebook). The defaults are the bundled sample data.

# COMMAND ----------

# MAGIC %pip install lakeshrink

# COMMAND ----------

from pathlib import Path

from lakeshrink import api
from lakeshrink.sample_data import bundled_dir

dbutils.widgets.text("lake", str(bundled_dir() / "lake"), "Lake root")
dbutils.widgets.text("logs", str(bundled_dir() / "logs"), "Log folder")
dbutils.widgets.text("access", str(bundled_dir() / "access-cold.json"), "Access profile (reads per month)")
dbutils.widgets.text("work_dir", "/tmp/lakeshrink-notebooks/shrink", "Where to write")
dbutils.widgets.dropdown("engine", "spark", ["spark", "local"], "Engine")

lake, logs = dbutils.widgets.get("lake"), dbutils.widgets.get("logs")
work_dir, engine = dbutils.widgets.get("work_dir"), dbutils.widgets.get("engine")

# COMMAND ----------

# MAGIC %md ## 1. Logs

# COMMAND ----------

log_files = sorted(str(p) for p in Path(logs).rglob("*.log"))
logs_result = api.logs_compress(log_files, f"{work_dir}/logs.lslog", engine=engine)

# COMMAND ----------

# MAGIC %md ## 2. Parquet encodings, table by table

# COMMAND ----------

encoded = [api.encode_rewrite(str(p), f"{work_dir}/encoded/{p.name}", overwrite=True, engine=engine)
           for p in sorted(Path(lake).glob("*.parquet"))]

# COMMAND ----------

# MAGIC %md ## 3. Redundant tables

# COMMAND ----------

scan = api.containment_scan(lake, f"{work_dir}/scan", engine=engine)
plan = api.containment_plan(f"{work_dir}/scan", f"{work_dir}/plan", access=dbutils.widgets.get("access"),
                                gx=False, overwrite=True, engine=engine)

# COMMAND ----------

# MAGIC %md ## What it would save

# COMMAND ----------

summary = [
    {"capability": "logs", "before_bytes": logs_result["input_bytes"], "after_bytes": logs_result["archive_bytes"]},
    {"capability": "encodings", "before_bytes": sum(r["input_bytes"] for r in encoded),
     "after_bytes": sum(r["output_bytes"] for r in encoded)},
    {"capability": "redundant tables", "before_bytes": plan["bytes_total"],
     "after_bytes": plan["bytes_total"] - plan["bytes_saved"]},
]
display(spark.createDataFrame(summary, schema="capability string, before_bytes long, after_bytes long"))
