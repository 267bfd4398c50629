"""Run a project's Spark plan on a Spark Connect server and print its members and tiers.

    python scripts/spark-plan.py PROJECT SC_URL [SEGMENTER]

Until segmenter drives Spark itself (`run --engine spark`), this is how the tests check that the
SQL `segmenter compile --engine spark` prints runs on a real Spark and gives DuckDB's answers:
it registers each source as the temporary view the plan reads (CSV with a header and inferred
types, the declared renames and casts), runs every step in order, then prints one line per
segment (`segment<TAB>ids`) and per tier level (`ladder/tier<TAB>ids`), ids ascending.
"""
import json
import os
import re
import subprocess
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def compile_plan(segmenter, project, fmt):
    args = [segmenter, "--project", project, "--engine", "spark"] + (["--format", "json"] if fmt == "json" else []) + ["compile"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def register_sources(spark, project, text):
    pattern = re.compile(r"-- source '(\w+)': (\w+) read from (.+?) as `(\w+)`(?:; renamed ([^;]+))?(?:; cast (.+))?$")
    for line in text.splitlines():
        m = pattern.match(line)
        if not m:
            continue
        _, fmt, path, view, renamed, cast = m.groups()
        # The server resolves relative paths against its own folder: give it absolute ones.
        path = os.path.abspath(path if os.path.isabs(path) else os.path.join(project, path))
        if fmt == "csv":
            df = spark.read.option("header", "true").option("inferSchema", "true").csv(path)
        else:
            df = spark.read.format(fmt).load(path)
        for pair in (renamed.split(", ") if renamed else []):
            old, new = pair.split(" -> ")
            df = df.withColumnRenamed(old, new)
        for column, ty in re.findall(r"(\w+) ([A-Z]+(?:\([0-9,]+\))?)", cast or ""):
            df = df.withColumn(column, F.col(column).cast(ty))
        df.createOrReplaceTempView(view)


def main():
    project, url = sys.argv[1], sys.argv[2]
    segmenter = sys.argv[3] if len(sys.argv) > 3 else "segmenter"
    spark = SparkSession.builder.remote(url).getOrCreate()
    register_sources(spark, project, compile_plan(segmenter, project, "text"))
    for step in json.loads(compile_plan(segmenter, project, "json"))["steps"]:
        for sql in step.get("before", []) + [step["sql"]]:
            spark.sql(sql).collect()
    members = "SELECT segment AS name, array_join(array_sort(collect_list(CAST(customer_id AS STRING))), ',') AS ids FROM segment_members GROUP BY segment"
    tiers = "SELECT concat(ladder, '/', tier) AS name, array_join(array_sort(collect_list(CAST(customer_id AS STRING))), ',') AS ids FROM tier_assignments GROUP BY ladder, tier"
    for query in (members, tiers):
        for row in sorted(spark.sql(query).collect()):
            print(f"{row.name}\t{','.join(sorted(row.ids.split(','), key=int))}")


if __name__ == "__main__":
    main()
