# Databricks notebook source
# MAGIC %md
# MAGIC # Compress logs, byte for byte
# MAGIC Each log line becomes header fields, a template and typed parameters, stored column by column; the archive
# MAGIC decompresses to exactly the input bytes. The defaults run on the sample logs bundled with lakeshrink; point
# MAGIC `logs` at your own files (a Unity Catalog volume path such as `/Volumes/main/ops/raw_logs/app.log` works).

# COMMAND ----------

# MAGIC %pip install lakeshrink

# COMMAND ----------

from lakeshrink import api
from lakeshrink.sample_data import bundled_dir

dbutils.widgets.text("logs", str(bundled_dir() / "logs" / "HDFS_1k.log"), "Log files (comma-separated)")
dbutils.widgets.text("work_dir", "/tmp/lakeshrink-notebooks/logs", "Where to write")
dbutils.widgets.dropdown("engine", "spark", ["spark", "local"], "Engine")

inputs = [p.strip() for p in dbutils.widgets.get("logs").split(",") if p.strip()]
work_dir = dbutils.widgets.get("work_dir")
engine = dbutils.widgets.get("engine")

# COMMAND ----------

# MAGIC %md ## Compress

# COMMAND ----------

compressed = api.logs_compress(inputs, f"{work_dir}/logs.lslog", engine=engine)
display(spark.createDataFrame([{k: compressed[k] for k in ("files", "lines", "input_bytes", "archive_bytes", "ratio", "templates")}]))

# COMMAND ----------

# MAGIC %md ## The templates found

# COMMAND ----------

templates = api.logs_templates(compressed["archive"], limit=20)["templates"]
display(spark.createDataFrame([{"lines": t["lines"], "template": t["template"]} for t in templates]))

# COMMAND ----------

# MAGIC %md ## Give the bytes back

# COMMAND ----------

restored = api.logs_decompress(compressed["archive"], f"{work_dir}/restored", overwrite=True)
display(restored)
