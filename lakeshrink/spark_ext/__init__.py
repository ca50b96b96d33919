"""Spark side of lakeshrink: the Spark engine, UDFs, mapInArrow/applyInArrow adapters and Spark-side stages.

Only modules in this package import pyspark, and only when they are imported themselves.
``import lakeshrink.spark_ext`` alone does not import pyspark.
"""
