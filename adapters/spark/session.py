"""A Spark session for ``fhir-coder batch``: local threads by default, or a cluster's master.

The executors run this same Python (``PYSPARK_PYTHON``) with this installation of
fhir-coder, and read the ICD-10-CM index from the same cache folder when they share the
machine (``FHIR_CODER_CACHE_DIR`` is passed to them). Spark's web UI is off: a batch is a
command, not a service.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["spark_session"]

_PASSED_ON = ("FHIR_CODER_CACHE_DIR", "FHIR_CODER_NCCI_PTP_DIR", "FHIR_CODER_MUE_DIR")
"""Settings the executors need to code as the driver's machine would."""


def spark_session(
    master: str = "local[*]",
    *,
    conf: Mapping[str, str] | None = None,
    app_name: str = "fhir-coder batch",
) -> SparkSession:
    """Start (or join) the session; a ConfigurationError that says what is missing."""
    try:
        from pyspark.errors import PySparkRuntimeError  # noqa: PLC0415
        from pyspark.sql import SparkSession  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            "fhir-coder batch needs PySpark: pip install 'fhir-coder[spark]'"
        ) from exc
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise ConfigurationError(
            "fhir-coder batch needs Java 17 or 21 for Spark"
            " (Debian: apt-get install openjdk-17-jre-headless)"
        )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.python.worker.reuse", "true")  # one code-set load per worker process
        .config("spark.sql.shuffle.partitions", "8")
    )
    for name in _PASSED_ON:
        if os.environ.get(name):
            builder = builder.config(f"spark.executorEnv.{name}", os.environ[name])
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except PySparkRuntimeError as exc:
        raise ConfigurationError(f"Spark did not start ({master}): {exc}") from exc
