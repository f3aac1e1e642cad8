"""sparkpilot's shared-session driver: runs many job files in ONE SparkSession.

Start it with spark-submit in client mode, shipping the job contract::

    spark-submit --master local[2] --py-files sparkpilot_job.py sparkpilot_session.py \\
        --connect /tmp/sparkpilot-xyz/session.sock [--keep-runs 2]

The control channel is a Unix socket the parent listens on (``--connect``): spark-submit gives the Python
driver neither the parent's stdin nor extra file descriptors, and it merges the driver's stdout and stderr
into Spark's log. Both directions carry newline-delimited JSON.

Commands (parent → driver):
    {"op": "run", "id": "<submission id>", "file": "/abs/job.py", "args": [...], "conf": {...}, "name": "..."}
    {"op": "cancel", "id": "<submission id>"}
    {"op": "release", "runId": "<run id>"}
    {"op": "shutdown"}

Events (driver → parent):
    {"event": "ready", "appId": ..., "pid": ..., "sparkVersion": ..., "master": ...}   once, at start
    {"event": "started", "id": ...}
    {"event": "finished", "id": ..., "state": "SUCCEEDED"|"FAILED"|"KILLED", "message"?: ...,
     "traceback"?: ..., "durationMs": ...}
    {"event": "released", "runId": ..., "names": [...]}
    {"event": "error", "message": ..., "id"?: ...}                                   a bad command
    {"event": "stopped"}                                                              before exit 0

Each job runs ``run(ctx)`` of its file (loaded with ``runpy.run_path(file, run_name="__sparkpilot__")``) in
its own thread, in its own session (``spark.newSession()``: same SparkContext and cache, own SQL conf and
temporary views), under ``setJobGroup(id, ..., interruptOnCancel=True)``. The job's ``spark.sql.*`` properties
are set on its session where Spark allows it at runtime; every other property (executor memory and cores,
dynamic allocation, ...) is the driver's, fixed when it started, and is only passed to the job in ``ctx.conf``.

Lines the job prints are tagged ``[sparkpilot:<id>]`` in the driver's output, so its log can be told apart.
The parent going away (the socket closing) stops the driver, as ``shutdown`` does.
"""

import argparse
import collections
import hashlib
import io
import json
import os
import runpy
import socket
import sys
import threading
import time
import traceback

from sparkpilot_job import RUN_ID_KEY, JobContext

_current = threading.local()


def _log(level, message, job_id=None):
    tag = "[sparkpilot:%s] " % job_id if job_id else ""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    out = sys.__stdout__
    for line in str(message).splitlines() or [""]:
        out.write("%sZ sparkpilot-session %s %s%s\n" % (stamp, level, tag, line))
    out.flush()


class _TaggedStream(io.TextIOBase):
    """Wraps stdout/stderr: complete lines written by a job's thread get the job's tag."""

    def __init__(self, inner):
        self._inner = inner
        self._partial = {}
        self._lock = threading.Lock()

    def write(self, s):
        job_id = getattr(_current, "id", None)
        if job_id is None:
            return self._inner.write(s)
        key = threading.get_ident()
        with self._lock:
            text = self._partial.pop(key, "") + s
            lines = text.split("\n")
            rest = lines.pop()
            if rest:
                self._partial[key] = rest
            for line in lines:
                self._inner.write("[sparkpilot:%s] %s\n" % (job_id, line))
        if lines:
            self._inner.flush()
        return len(s)

    def end_job(self):
        """Write out what the current thread left without a newline."""
        job_id = getattr(_current, "id", None)
        with self._lock:
            rest = self._partial.pop(threading.get_ident(), None)
            if rest and job_id:
                self._inner.write("[sparkpilot:%s] %s\n" % (job_id, rest))
        self._inner.flush()

    def flush(self):
        self._inner.flush()

    def fileno(self):
        return self._inner.fileno()

    def isatty(self):
        return False

    def writable(self):
        return True

    @property
    def encoding(self):
        return getattr(self._inner, "encoding", "utf-8")


class Channel:
    """Newline-delimited JSON over the parent's Unix socket."""

    def __init__(self, path):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(path)
        self._reader = self._sock.makefile("rb")
        self._lock = threading.Lock()
        self._closed = False

    def send(self, event):
        data = (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            if self._closed:
                return
            try:
                self._sock.sendall(data)
            except OSError:
                self._closed = True

    def commands(self):
        """Yields each command (a dict, or a str when the line is not a JSON object); ends at EOF."""
        for raw in self._reader:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except ValueError:
                yield line
                continue
            yield cmd if isinstance(cmd, dict) else line

    def close(self):
        with self._lock:
            self._closed = True
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()


class DatasetStore:
    """Published DataFrames by (run id, name), for the ``keep_runs`` most recent runs that published.

    A published DataFrame is persisted (MEMORY_AND_DISK) and registered as a global temporary view; a job
    asking for it gets ``spark.table(<view>)`` in its own session, which Spark answers from the cache.
    """

    def __init__(self, root, keep_runs):
        self._root = root
        self._keep = keep_runs
        self._runs = collections.OrderedDict()
        self._lock = threading.Lock()
        self._db = root.conf.get("spark.sql.globalTempDatabase", "global_temp")

    @staticmethod
    def _view(run_id, name):
        digest = hashlib.sha1(("%s\0%s" % (run_id, name)).encode("utf-8")).hexdigest()[:24]
        return "sparkpilot_%s" % digest

    def get(self, spark, run_id, name):
        with self._lock:
            entry = self._runs.get(run_id, {}).get(name)
        if entry is None:
            return None
        return spark.table("%s.%s" % (self._db, entry[1]))

    def put(self, run_id, name, df):
        from pyspark import StorageLevel

        persisted = df.persist(StorageLevel.MEMORY_AND_DISK)
        view = self._view(run_id, name)
        persisted.createOrReplaceGlobalTempView(view)
        evicted = []
        with self._lock:
            datasets = self._runs.get(run_id)
            if datasets is None:
                datasets = self._runs[run_id] = {}
            old = datasets.get(name)
            datasets[name] = (persisted, view)
            while len(self._runs) > self._keep:
                evicted.append(self._runs.popitem(last=False))
        if old is not None and old[0] is not persisted:
            old[0].unpersist()
        for old_run, old_datasets in evicted:
            self._drop(old_datasets)
            _log("INFO", "run %s: released %s (keeping the %d most recent runs)"
                 % (old_run, ", ".join(sorted(old_datasets)) or "nothing", self._keep))
        _log("INFO", "run %s: published %s" % (run_id, name), getattr(_current, "id", None))
        return persisted

    def release(self, run_id):
        with self._lock:
            datasets = self._runs.pop(run_id, {})
        self._drop(datasets)
        return sorted(datasets)

    def release_all(self):
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for datasets in runs:
            self._drop(datasets)

    def _drop(self, datasets):
        for df, view in datasets.values():
            try:
                self._root.catalog.dropGlobalTempView(view)
                df.unpersist()
            except Exception:  # noqa: BLE001 - a failed unpersist leaves memory to Spark's LRU
                _log("WARN", "could not release %s: %s" % (view, traceback.format_exc()))


def _summary(error):
    """One line about an exception: the Java exception for a Py4J error, else the type and first line."""
    java = getattr(error, "java_exception", None)
    if java is not None:
        try:
            return str(java.toString()).strip().splitlines()[0][:500]
        except Exception:  # noqa: BLE001 - the gateway may be gone
            pass
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return ("%s: %s" % (type(error).__name__, lines[0]) if lines else type(error).__name__)[:500]


class Job:
    def __init__(self, cmd):
        self.id = cmd["id"]
        self.file = cmd["file"]
        self.args = [str(a) for a in cmd.get("args") or []]
        self.conf = {str(k): str(v) for k, v in (cmd.get("conf") or {}).items()}
        self.name = str(cmd.get("name") or os.path.basename(self.file))
        self.cancelled = False
        self.thread = None


class Driver:
    def __init__(self, spark, channel, keep_runs):
        self.spark = spark
        self.sc = spark.sparkContext
        self.channel = channel
        self.store = DatasetStore(spark, keep_runs)
        self.jobs = {}
        self.lock = threading.Lock()
        self.fair = self.sc.getConf().get("spark.scheduler.mode", "FIFO").upper() == "FAIR"
        self.stopping = threading.Event()

    # -- commands ---------------------------------------------------------------------------------------
    def handle(self, cmd):
        if not isinstance(cmd, dict):
            self.channel.send({"event": "error", "message": "not a JSON object: %s" % str(cmd)[:200]})
            return True
        op = cmd.get("op")
        if op == "run":
            self.start(cmd)
        elif op == "cancel":
            self.cancel(str(cmd.get("id")))
        elif op == "release":
            run_id = str(cmd.get("runId"))
            names = self.store.release(run_id)
            _log("INFO", "run %s: released %s on request" % (run_id, ", ".join(names) or "nothing"))
            self.channel.send({"event": "released", "runId": run_id, "names": names})
        elif op == "shutdown":
            return False
        else:
            self.channel.send({"event": "error", "message": "unknown op %r" % (op,), "id": cmd.get("id")})
        return True

    def start(self, cmd):
        job_id = cmd.get("id")
        if not isinstance(job_id, str) or not isinstance(cmd.get("file"), str):
            self.channel.send({"event": "error", "id": job_id, "message": "run needs a string id and file"})
            return
        with self.lock:
            if job_id in self.jobs or self.stopping.is_set():
                why = "the driver is stopping" if self.stopping.is_set() else "the id is taken"
                self.channel.send({"event": "error", "id": job_id, "message": "run %s refused: %s" % (job_id, why)})
                return
            job = self.jobs[job_id] = Job(cmd)
        job.thread = threading.Thread(target=self.execute, args=(job,), name="sparkpilot-%s" % job_id, daemon=True)
        job.thread.start()

    def cancel(self, job_id):
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None or job.thread is None or not job.thread.is_alive():
            return
        job.cancelled = True
        _log("INFO", "cancel requested: cancelJobGroup(%s)" % job_id, job_id)
        self.sc.cancelJobGroup(job_id)

    def recancel_loop(self):
        """Jobs a cancelled run starts after the cancel are cancelled too, until its thread ends."""
        while not self.stopping.wait(0.5):
            with self.lock:
                pending = [j for j in self.jobs.values() if j.cancelled and j.thread and j.thread.is_alive()]
            for job in pending:
                try:
                    self.sc.cancelJobGroup(job.id)
                except Exception:  # noqa: BLE001 - the context may be stopping
                    pass

    # -- one job ----------------------------------------------------------------------------------------
    def session_for(self, job):
        session = self.spark.newSession()
        for key, value in sorted(job.conf.items()):
            if not key.startswith("spark.sql."):
                continue
            try:
                session.conf.set(key, value)
            except Exception as e:  # noqa: BLE001 - static SQL confs cannot be set at runtime
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                _log("WARN", "%s=%s not applied (not settable at runtime): %s" % (key, value, first), job.id)
        return session

    def execute(self, job):
        _current.id = job.id
        started = time.monotonic()
        state, message, tb = "SUCCEEDED", None, None
        self.channel.send({"event": "started", "id": job.id})
        _log("INFO", "started %s (file %s, run %s)" % (job.name, job.file, job.conf.get(RUN_ID_KEY, "(none)")), job.id)
        try:
            self.sc.setJobGroup(job.id, "sparkpilot %s (%s)" % (job.name, job.id), interruptOnCancel=True)
            if self.fair:
                self.sc.setLocalProperty("spark.scheduler.pool", "sparkpilot-%s" % job.name)
            session = self.session_for(job)
            if job.cancelled:
                raise RuntimeError("cancelled before it started")
            module = runpy.run_path(job.file, run_name="__sparkpilot__")
            run = module.get("run")
            if not callable(run):
                raise TypeError("%s defines no run(ctx) function; see the job contract in sparkpilot_job.py" % job.file)
            run(JobContext(session, job.args, job.conf, store=self.store))
        except SystemExit as e:
            if e.code not in (None, 0):
                state, message = "FAILED", "run(ctx) called sys.exit(%r)" % (e.code,)
        except BaseException as e:  # noqa: BLE001 - a job's failure, whatever it is, is reported
            tb = traceback.format_exc()
            if job.cancelled:
                state, message = "KILLED", "Killed by request (cancelJobGroup %s): %s" % (job.id, _summary(e))
            else:
                state, message = "FAILED", _summary(e)
        else:
            if job.cancelled:
                message = "Finished before the cancel took effect."
        finally:
            for stream in (sys.stdout, sys.stderr):
                if isinstance(stream, _TaggedStream):
                    stream.end_job()
        duration = int((time.monotonic() - started) * 1000)
        if tb:
            _log("ERROR" if state == "FAILED" else "INFO", tb.rstrip(), job.id)
        _log("INFO", "finished %s: %s in %d ms%s" % (job.name, state, duration, " (%s)" % message if message else ""), job.id)
        event = {"event": "finished", "id": job.id, "state": state, "durationMs": duration}
        if message:
            event["message"] = message
        if tb:
            event["traceback"] = tb
        with self.lock:
            self.jobs.pop(job.id, None)
        self.channel.send(event)
        _current.id = None

    # -- stopping ---------------------------------------------------------------------------------------
    def stop(self, reason):
        self.stopping.set()
        with self.lock:
            running = [j for j in self.jobs.values() if j.thread and j.thread.is_alive()]
        if running:
            _log("INFO", "%s: cancelling %d running job(s)" % (reason, len(running)))
        for job in running:
            job.cancelled = True
            try:
                self.sc.cancelJobGroup(job.id)
            except Exception:  # noqa: BLE001
                pass
        deadline = time.monotonic() + 10
        for job in running:
            job.thread.join(max(0.0, deadline - time.monotonic()))
        self.store.release_all()


def main(argv=None):
    parser = argparse.ArgumentParser(description="sparkpilot's shared-session driver")
    parser.add_argument("--connect", required=True, help="Unix socket of the parent (commands in, events out)")
    parser.add_argument("--keep-runs", type=int, default=2, help="runs whose datasets are kept (default 2)")
    opts = parser.parse_args(argv)
    if opts.keep_runs < 1:
        parser.error("--keep-runs must be at least 1")

    channel = Channel(opts.connect)
    sys.stdout = _TaggedStream(sys.stdout)
    sys.stderr = _TaggedStream(sys.stderr)
    try:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    except BaseException:  # noqa: BLE001
        tb = traceback.format_exc()
        _log("ERROR", "could not start the SparkSession:\n" + tb)
        channel.send({"event": "fatal", "message": "could not start the SparkSession", "traceback": tb})
        channel.close()
        sys.exit(1)

    driver = Driver(spark, channel, opts.keep_runs)
    threading.Thread(target=driver.recancel_loop, name="sparkpilot-recancel", daemon=True).start()
    sc = spark.sparkContext
    channel.send({
        "event": "ready",
        "appId": sc.applicationId,
        "pid": os.getpid(),
        "sparkVersion": spark.version,
        "master": sc.master,
    })
    _log("INFO", "ready: application %s on %s (Spark %s), keeping datasets of %d runs"
         % (sc.applicationId, sc.master, spark.version, opts.keep_runs))

    reason = "the parent closed the channel"
    try:
        for cmd in channel.commands():
            try:
                if not driver.handle(cmd):
                    reason = "shutdown requested"
                    break
            except Exception:  # noqa: BLE001 - one bad command must not end the driver
                tb = traceback.format_exc()
                _log("ERROR", tb)
                channel.send({"event": "error", "message": tb.strip().splitlines()[-1]})
    except OSError as e:
        reason = "the channel failed: %s" % e
    _log("INFO", "stopping: %s" % reason)
    driver.stop(reason)
    try:
        spark.stop()
    finally:
        channel.send({"event": "stopped"})
        channel.close()
        sys.stdout.flush()
    sys.exit(0)


if __name__ == "__main__":
    main()
