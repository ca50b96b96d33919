# Databricks notebook source
# MAGIC %md
# MAGIC # Per-column Parquet encodings
# MAGIC From a sample of each column, lakeshrink trial-encodes every legal setting and picks per column; the rewrite
# MAGIC is read back and compared with its input before it is put in place. The default input is a table of the
# MAGIC bundled sample lake.

# COMMAND ----------

# MAGIC %pip install lakeshrink

# COMMAND ----------

from lakeshrink import api
from lakeshrink.sample_data import bundled_dir

dbutils.widgets.text("table", str(bundled_dir() / "lake" / "planes.parquet"), "Parquet file or directory")
dbutils.widgets.text("work_dir", "/tmp/lakeshrink-notebooks/encodings", "Where to write")
dbutils.widgets.dropdown("objective", "balanced", ["balanced", "size", "speed"], "Objective")
dbutils.widgets.dropdown("engine", "spark", ["spark", "local"], "Engine")

table = dbutils.widgets.get("table")
work_dir = dbutils.widgets.get("work_dir")
objective = dbutils.widgets.get("objective")
engine = dbutils.widgets.get("engine")

# COMMAND ----------

# MAGIC %md ## Advice: the choice per column, its estimate and the default writer's size

# COMMAND ----------

advice = api.encode_advise(table, objective=objective, save_plan=f"{work_dir}/plan.json", engine=engine)
display(spark.createDataFrame([
    {"column": c["path"], "encoding": c["encoding"], "dictionary": c["dictionary"], "compression": c["compression"],
     "estimated_bytes": c["estimated_bytes"], "default_bytes": c["default_bytes"], "why": c["reason"]}
    for c in advice["plan"]["columns"]
], schema="column string, encoding string, dictionary boolean, compression string, estimated_bytes long, "
          "default_bytes long, why string"))

# COMMAND ----------

# MAGIC %md ## Rewrite with that plan, verified

# COMMAND ----------

rewritten = api.encode_rewrite(table, f"{work_dir}/rewritten", plan=advice["plan_file"], overwrite=True, engine=engine)
display(spark.createDataFrame([{k: rewritten[k] for k in ("rows", "input_bytes", "output_bytes", "ratio", "verified")}]))
