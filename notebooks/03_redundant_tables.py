# Databricks notebook source
# MAGIC %md
# MAGIC # Redundant tables: find, plan, mark (never delete)
# MAGIC The scan finds every table whose rows are all inside another table; the plan picks which to mark, with a
# MAGIC recipe that rebuilds each one exactly; `mark` is a dry run unless `execute` is `yes`. The default lake is a
# MAGIC copy of the bundled sample lake (marking writes a manifest at the lake's root).

# COMMAND ----------

# MAGIC %pip install lakeshrink

# COMMAND ----------

import shutil

from lakeshrink import api
from lakeshrink.sample_data import bundled_dir

dbutils.widgets.text("lake", "", "Lake root (empty: a copy of the sample lake)")
dbutils.widgets.text("access", str(bundled_dir() / "access-cold.json"), "Access profile (reads per month)")
dbutils.widgets.text("work_dir", "/tmp/lakeshrink-notebooks/containment", "Where to write")
dbutils.widgets.dropdown("execute", "no", ["no", "yes"], "Write the marks")
dbutils.widgets.dropdown("engine", "spark", ["spark", "local"], "Engine")

work_dir = dbutils.widgets.get("work_dir")
engine = dbutils.widgets.get("engine")
lake = dbutils.widgets.get("lake")
if not lake:
    lake = f"{work_dir}/sample_lake"
    shutil.rmtree(lake, ignore_errors=True)
    shutil.copytree(bundled_dir() / "lake", lake)

# COMMAND ----------

# MAGIC %md ## Scan: which tables are contained in which

# COMMAND ----------

scan = api.containment_scan(lake, f"{work_dir}/scan", engine=engine)
display(spark.createDataFrame([{"child": e["child"], "parent": e["parent"]} for e in scan["reduction"]],
                              schema="child string, parent string"))

# COMMAND ----------

# MAGIC %md ## Plan: what to mark, the bytes saved and the rebuild cost (report: `plan/report.html`)

# COMMAND ----------

plan = api.containment_plan(f"{work_dir}/scan", f"{work_dir}/plan", access=dbutils.widgets.get("access"),
                                gx=False, overwrite=True, engine=engine)
display(spark.createDataFrame([{"table": m["table"], "parent": m["parent"], "bytes": m["bytes"]} for m in plan["marked"]],
                              schema="table string, parent string, bytes long"))

# COMMAND ----------

# MAGIC %md ## Mark (a dry run unless `execute` is `yes`)

# COMMAND ----------

marked = api.containment_mark(f"{work_dir}/plan", execute=dbutils.widgets.get("execute") == "yes")
display(marked)
