"""Population batches on Apache Spark: ``fhir-coder batch`` over an NDJSON export.

Spark reads the export and brings each patient's resources together (a shuffle by the
patient they belong to, practitioners and organisations broadcast to every task); the
executors assemble each encounter with the ``bulk`` room's own functions and code it with
the same pure core ``run --from-ndjson`` uses (:func:`adapters.processing.code_and_build`),
the code sets loaded once per executor process. Claims and findings come out as NDJSON and
Parquet; writing to a server stays the job of ``run``.

May import ``bulk`` (and through it ``gathering``), the coding set-up and ``writeback``
(for the tag a written Claim carries); never ``jobs``, ``service`` or ``cli``. PySpark is
imported only here, and only when a batch runs (the ``spark`` extra).
"""
