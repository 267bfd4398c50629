"""Run a project's Spark plan on a Spark Connect server and print its members and tiers.

    python scripts/spark-plan.py PROJECT SC_URL [SEGMENTER]

Until segmenter drives Spark itself (`run --engine spark`), this is how the tests check that the
SQL `segmenter compile --engine spark` prints runs on a real Spark and gives DuckDB's answers:
it registers each source the plan lists (`sources` of `compile --format json`) as the temporary
view the plan reads (CSV with a header and inferred types, the declared renames and casts), runs
every step in order, then prints one line per segment (`segment<TAB>ids`) and per tier level
(`ladder/tier<TAB>ids`), ids ascending.
"""
import json
import os
import subprocess
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def register_sources(spark, project, sources):
    for src in sources:
        # The server resolves relative paths against its own folder: give it absolute ones.
        path = os.path.abspath(os.path.join(project, src["path"]))
        if src["format"] == "csv":
            df = spark.read.option("header", "true").option("inferSchema", "true").csv(path)
        else:
            df = spark.read.format(src["format"]).load(path)
        for old, new in src["rename"]:
            df = df.withColumnRenamed(old, new)
        for column, ty in src["types"]:
            df = df.withColumn(column, F.col(column).cast(ty))
        df.createOrReplaceTempView(src["view"])


def main():
    project, url = sys.argv[1], sys.argv[2]
    segmenter = sys.argv[3] if len(sys.argv) > 3 else "segmenter"
    args = [segmenter, "--project", project, "--engine", "spark", "--format", "json", "compile"]
    plan = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    spark = SparkSession.builder.remote(url).getOrCreate()
    register_sources(spark, project, plan["sources"])
    for step in plan["steps"]:
        for sql in step["before"] + [step["sql"]]:
            spark.sql(sql).collect()
    members = "SELECT segment AS name, array_join(array_sort(collect_list(CAST(customer_id AS STRING))), ',') AS ids FROM segment_members GROUP BY segment"
    tiers = "SELECT concat(ladder, '/', tier) AS name, array_join(array_sort(collect_list(CAST(customer_id AS STRING))), ',') AS ids FROM tier_assignments GROUP BY ladder, tier"
    for query in (members, tiers):
        for row in sorted(spark.sql(query).collect()):
            print(f"{row.name}\t{','.join(sorted(row.ids.split(','), key=int))}")


if __name__ == "__main__":
    main()
