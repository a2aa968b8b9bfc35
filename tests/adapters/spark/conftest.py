"""One Spark session (local[2]) for every Spark test of the run: the JVM starts once."""

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip(
        "pyspark", reason="PySpark is not installed: pip install 'fhir-coder[spark]'"
    )
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: Spark needs openjdk-17-jre-headless")
    from adapters.spark.session import spark_session  # noqa: PLC0415 - PySpark, once found

    session = spark_session(
        "local[2]",
        conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()
