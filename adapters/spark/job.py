"""The driver's side of ``fhir-coder batch``: read, group by patient, code, write, summarise.

The export is read as text in the order the files are given (``textFile``: its splits
keep that order), each line numbered, keyed by the patient it belongs with and shuffled
by that key; practitioners and organisations, few and named by every encounter, are
broadcast instead. Each task codes its patients (:func:`~.executor.code_partition`); the
rows are written as NDJSON and Parquet:

- ``claims.ndjson/`` (one Claim a line) and ``claims.parquet/`` (the Claim JSON with its
  encounter, version, status and id);
- ``findings.ndjson/`` (per encounter: outcome, Claim id, every finding as an
  ``OperationOutcome.issue``) and ``findings.parquet/`` (one row per finding);
- ``summary.json``: counts by outcome, the most frequent rules, the time spent starting
  and coding, and how many executor processes loaded the code sets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from adapters.spark.executor import BatchOptions, code_partition, key_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["BatchSummary", "run_batch"]

_ROW_FIELDS = (
    "encounter_id",
    "version",
    "patient_id",
    "outcome",
    "claim_id",
    "claim",
    "issues",
    "error",
    "loaded_coding",
    "findings",
)


@dataclass(slots=True)
class BatchSummary:
    """What a batch did."""

    encounters: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    top_rules: dict[str, int] = field(default_factory=dict)
    failed_first: list[str] = field(default_factory=list)
    coding_loads: int = 0  # executor processes that loaded the code sets (once each)
    partitions: int = 0
    read_seconds: float = 0.0
    coding_seconds: float = 0.0
    output: str = ""

    def as_json(self) -> dict[str, Any]:
        """The summary as plain JSON."""
        return asdict(self)


def _listed(keyed: tuple[str, tuple[int, str]] | None) -> list[tuple[str, tuple[int, str]]]:
    return [] if keyed is None else [keyed]


def _row(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values.get(name) for name in _ROW_FIELDS)


def run_batch(
    spark: SparkSession,
    inputs: Sequence[str],
    out: str,
    options: BatchOptions,
    *,
    partitions: int | None = None,
) -> BatchSummary:
    """Code every encounter of the NDJSON files ``inputs`` into the folder ``out``.

    ``inputs`` are files or URLs Spark reads (``s3a://...``, ``hdfs://...``), in order;
    ``partitions`` is how many groups of patients are coded in parallel (default: twice
    Spark's default parallelism, and at least one per input split). ``out`` is replaced.
    """
    from pyspark import StorageLevel  # noqa: PLC0415 - the spark extra, when a batch runs
    from pyspark.sql import types as t  # noqa: PLC0415

    started = time.perf_counter()
    context = spark.sparkContext
    base_url = options.base_url
    lines = context.textFile(",".join(inputs))
    # at least one group per input split: a population must not pile into a few tasks (at
    # 100,000 encounters four groups ran a local JVM out of its heap)
    groups = partitions or max(2, 2 * context.defaultParallelism, lines.getNumPartitions())
    keyed = lines.zipWithIndex().flatMap(lambda pair: _listed(key_line(pair[0], pair[1], base_url)))
    keyed.persist(StorageLevel.MEMORY_AND_DISK)
    parties = sorted(keyed.filter(lambda row: row[0] == "*").map(lambda row: row[1]).collect())
    shared = context.broadcast([line for _, line in parties])
    read = time.perf_counter()
    coded = (
        keyed.filter(lambda row: row[0] != "*")
        .partitionBy(groups)
        .mapPartitions(lambda rows: (_row(r) for r in code_partition(rows, shared.value, options)))
    )
    schema = t.StructType(
        [
            t.StructField(name, t.BooleanType() if name == "loaded_coding" else t.StringType())
            for name in _ROW_FIELDS
        ]
    )
    frame = spark.createDataFrame(coded, schema).persist(StorageLevel.MEMORY_AND_DISK)
    summary = _write(spark, frame, out)
    summary.partitions = groups
    summary.read_seconds = read - started
    summary.coding_seconds = time.perf_counter() - read
    summary.output = out
    frame.unpersist()
    keyed.unpersist()
    shared.destroy()
    return summary


def _write(spark: SparkSession, frame: Any, out: str) -> BatchSummary:  # noqa: ANN401 - a DataFrame
    from pyspark.sql import functions as f  # noqa: PLC0415
    from pyspark.sql import types as t  # noqa: PLC0415

    claims = frame.where(f.col("claim").isNotNull())
    claims.select("claim").write.mode("overwrite").text(f"{out}/claims.ndjson")
    claims.select(
        "encounter_id", "version", "claim_id", f.col("outcome").alias("status"), "claim"
    ).write.mode("overwrite").parquet(f"{out}/claims.parquet")
    frame.select("findings").write.mode("overwrite").text(f"{out}/findings.ndjson")
    issue = t.StructType(
        [
            t.StructField("severity", t.StringType()),
            t.StructField("code", t.StringType()),
            t.StructField(
                "details",
                t.StructType(
                    [
                        t.StructField("text", t.StringType()),
                        t.StructField(
                            "coding",
                            t.ArrayType(
                                t.StructType(
                                    [
                                        t.StructField("system", t.StringType()),
                                        t.StructField("code", t.StringType()),
                                    ]
                                )
                            ),
                        ),
                    ]
                ),
            ),
            t.StructField("diagnostics", t.StringType()),
            t.StructField("expression", t.ArrayType(t.StringType())),
        ]
    )
    findings = frame.select(
        "encounter_id",
        "version",
        "outcome",
        f.explode(f.from_json("issues", t.ArrayType(issue))).alias("issue"),
    ).select(
        "encounter_id",
        "version",
        "outcome",
        f.col("issue.severity").alias("severity"),
        f.col("issue.code").alias("code"),
        f.col("issue.details.coding").getItem(0).getField("code").alias("rule"),
        f.col("issue.details.text").alias("message"),
        f.col("issue.diagnostics").alias("diagnostics"),
        f.col("issue.expression").alias("expression"),
    )
    findings.write.mode("overwrite").parquet(f"{out}/findings.parquet")
    summary = BatchSummary()
    summary.outcomes = {
        str(r["outcome"]): int(r["count"]) for r in frame.groupBy("outcome").count().collect()
    }
    summary.encounters = sum(summary.outcomes.values())
    summary.coding_loads = frame.where(f.col("loaded_coding")).count()
    rules = spark.read.parquet(f"{out}/findings.parquet").groupBy("rule").count()
    summary.top_rules = {
        str(r["rule"]): int(r["count"])
        for r in rules.orderBy(f.desc("count"), "rule").limit(10).collect()
    }
    summary.failed_first = [
        f"Encounter/{r['encounter_id']}: {r['error']}"
        for r in frame.where(f.col("outcome") == "failed").limit(10).collect()
    ]
    return summary


def write_summary(summary: BatchSummary, out: Path) -> None:
    """``summary.json`` beside the outputs (a local folder)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_bytes(
        orjson.dumps(summary.as_json(), option=orjson.OPT_INDENT_2) + b"\n"
    )
