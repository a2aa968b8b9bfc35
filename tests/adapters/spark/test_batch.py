"""``fhir-coder batch`` on Spark (local[2]): the Claims and findings ``run --from-ndjson`` makes."""

import json
from datetime import UTC, datetime

import orjson
import pyarrow.parquet as pq
import pytest

from adapters.bulk import ndjson_files
from adapters.cli.main import main
from adapters.spark.executor import BatchOptions
from adapters.spark.job import run_batch
from sandbox.seed import build_seed_bundle
from sandbox.synthetic_export import write_export
from tests.adapters.spark.batch_compare import batch_claims, batch_findings, differences

PATIENTS = 25  # 64 finished encounters: 60 Claims, 4 held


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    write_export(build_seed_bundle(patients=PATIENTS), folder)  # lines shuffled, as exports are
    return folder


def test_spark_codes_an_export_exactly_as_run_from_ndjson_does(spark, export, tmp_path, capsys):
    jobs_db, run_out = tmp_path / "jobs.sqlite3", tmp_path / "run-claims"
    command = [
        "run", "--from-ndjson", str(export), "--source-id", "sb", "--jobs-db", str(jobs_db),
        "--claims-to", str(run_out), "--json",
    ]  # fmt: skip
    assert main(command) == 0
    summary_run = json.loads(capsys.readouterr().out)
    out = tmp_path / "batch"
    options = BatchOptions(source_id="sb", base_url="", created=datetime.now(UTC).isoformat())
    inputs = [str(f) for f in ndjson_files([export])]
    summary = run_batch(spark, inputs, str(out), options, partitions=3)
    assert differences(run_out, jobs_db, out, "sb") == []
    claims = batch_claims(out)
    assert len(claims) == summary_run["jobs"]["done"] == 62  # headers completed from the concept
    assert summary.encounters == 64
    assert summary.outcomes.get("held") == summary_run["jobs"]["held"] == 2
    assert 1 <= summary.coding_loads <= 2  # once per Python worker of local[2], not per task
    findings = batch_findings(out)
    assert set(findings) == {f["encounter"] for f in findings.values()}
    assert len(findings) == 64
    parquet_claims = pq.read_table(out / "claims.parquet").to_pylist()
    assert {row["claim_id"] for row in parquet_claims} == set(claims)
    assert all(orjson.loads(row["claim"])["id"] == row["claim_id"] for row in parquet_claims)
    rows = pq.read_table(out / "findings.parquet").to_pylist()
    per_line = sum(len(f["issues"]) for f in findings.values())
    assert len(rows) == per_line > 0  # one Parquet row per finding
    assert {row["rule"] for row in rows} >= set(summary.top_rules)


def test_batch_command_writes_its_summary_and_refuses_a_missing_source(export, tmp_path, capsys):
    assert main(["batch", str(export), "--out", str(tmp_path / "o")]) == 8
    assert "--source-id" in capsys.readouterr().err
