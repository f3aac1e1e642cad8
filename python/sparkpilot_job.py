"""sparkpilot's PySpark job contract.

A job file defines ``run(ctx)`` and ends with::

    if __name__ == "__main__":
        from sparkpilot_job import main
        main(run)

Run standalone (``spark-submit --py-files sparkpilot_job.py job.py ...``), ``main`` builds the SparkSession,
calls ``run(ctx)``, stops the session, and exits non-zero (traceback on stderr) when ``run`` raised. Run
inside sparkpilot's shared-session driver (``sparkpilot_session.py``), the driver calls ``run(ctx)`` itself,
and ``ctx.dataset`` / ``ctx.publish`` share DataFrames between the jobs of one pipeline run.

This module depends on nothing but pyspark (and imports pyspark lazily), so it can be shipped with
``--py-files``.
"""

import os
import sys
import traceback
import uuid

__all__ = ["RUN_ID_KEY", "JobContext", "main", "process_run_id"]

#: The Spark property holding the pipeline run id. Jobs of one run share datasets in a shared session.
RUN_ID_KEY = "spark.sparkpilot.run.id"

_PROCESS_RUN_ID = None


def process_run_id():
    """The run id used when ``spark.sparkpilot.run.id`` is absent: one per process."""
    global _PROCESS_RUN_ID
    if _PROCESS_RUN_ID is None:
        _PROCESS_RUN_ID = "process-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    return _PROCESS_RUN_ID


class JobContext:
    """What ``run(ctx)`` receives.

    Attributes:
        spark: the SparkSession to use (in a shared session: this job's own session, with its
            ``spark.sql.*`` properties applied; the SparkContext and cached data are shared).
        args: the job's arguments (list of str). Use these, not ``sys.argv``.
        conf: the properties the job was submitted with (dict of str to str): ``spark.sparkpilot.*`` and
            the others. Standalone, every property of ``spark.sparkContext.getConf()``.
        run_id: the pipeline run id (``spark.sparkpilot.run.id``; absent: one id per process).
        shared: whether the job runs in sparkpilot's shared-session driver.
    """

    def __init__(self, spark, args, conf, run_id=None, store=None):
        """``store`` (shared session only) has ``get(spark, run_id, name)`` → DataFrame or None and
        ``put(run_id, name, df)`` → the persisted DataFrame."""
        self.spark = spark
        self.args = list(args)
        self.conf = dict(conf)
        self.run_id = run_id or self.conf.get(RUN_ID_KEY) or process_run_id()
        self._store = store
        self._reused = {}

    @property
    def shared(self):
        """Whether datasets can be shared with other jobs (the job runs in a shared session)."""
        return self._store is not None

    def dataset(self, name, load):
        """The DataFrame published as ``name`` earlier in this pipeline run, or else ``load()``.

        Standalone, always ``load()``. ``reused(name)`` tells afterwards which one it was.
        """
        if self._store is not None:
            df = self._store.get(self.spark, self.run_id, name)
            if df is not None:
                self._reused[name] = True
                return df
        self._reused[name] = False
        return load()

    def publish(self, name, df):
        """Publish ``df`` as ``name`` for later jobs of this pipeline run, and return the DataFrame to use.

        In a shared session: ``df.persist(MEMORY_AND_DISK)``, kept under (run id, name); the cache fills
        on the first action, so run one (write or count the result) before dependents start.
        Standalone: ``df`` unchanged.
        """
        if self._store is None:
            return df
        return self._store.put(self.run_id, name, df)

    def reused(self, name):
        """Whether the last ``dataset(name, ...)`` returned a published DataFrame (not ``load()``)."""
        return self._reused.get(name, False)


def main(run, argv=None):
    """Run ``run(ctx)`` as a standalone Spark application, and exit with its outcome.

    Builds the SparkSession (``SparkSession.builder.getOrCreate()``), calls ``run``, stops the session.
    Exits 0 when ``run`` returned, with the code of ``sys.exit(code)`` when it called that, and 1 (traceback
    on stderr) when it raised.
    """
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    code = 0
    try:
        conf = dict(spark.sparkContext.getConf().getAll())
        ctx = JobContext(spark, sys.argv[1:] if argv is None else argv, conf)
        run(ctx)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the job's failure, whatever it is, ends the application
        traceback.print_exc(file=sys.stderr)
        sys.stderr.write("sparkpilot_job: run(ctx) raised; exiting with code 1\n")
        code = 1
    finally:
        try:
            spark.stop()
        except Exception:  # noqa: BLE001 - the exit code is what matters now
            traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    sys.exit(code)
