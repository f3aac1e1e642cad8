/**
 * Real Spark for integration tests: the project's virtualenv with PySpark (created by
 * scripts/fixtures/setup-spark.sh when missing), a standalone master (with its REST submission server) and a
 * worker started as child processes, and a small Java test application compiled against Spark's jars.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
let home: string | undefined;

/** SPARK_HOME of the project's PySpark (installs it into .venv on first use). */
export function sparkHome(): string {
  if (home) return home;
  const out = execFileSync('bash', [join(root, 'scripts/fixtures/setup-spark.sh')], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  home = out.trim().split('\n').pop()!;
  return home;
}

/** The python of the project's virtualenv (has pyspark). */
export function venvPython(): string {
  sparkHome();
  return join(root, '.venv/bin/python');
}

/** Environment for spark-submit and friends: SPARK_HOME, PYSPARK_PYTHON, quiet logs. */
export function sparkEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SPARK_HOME: sparkHome(),
    PYSPARK_PYTHON: venvPython(),
    PYSPARK_DRIVER_PYTHON: venvPython(),
    SPARK_LOCAL_IP: '127.0.0.1',
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, logFile: string, probe: () => Promise<T | undefined>, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '(no log)';
      throw new Error(`${what} did not come up within ${ms} ms. Log tail:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A running standalone cluster: one master (REST server on) and one worker. */
export interface StandaloneCluster {
  /** `spark://127.0.0.1:<port>` */
  masterUrl: string;
  /** `http://127.0.0.1:<port>`: the REST submission server (what `spark.master.rest.port` serves). */
  restUrl: string;
  /** `http://127.0.0.1:<port>`: the master's web UI (its `/json/` lists workers, apps and drivers). */
  webUrl: string;
  /** Directory of the master's and worker's logs. */
  logDir: string;
  stop(): Promise<void>;
}

/**
 * Start a standalone master and one worker (`cores` cores, `memory` like `'2g'`) on free ports. Resolves once
 * the master lists the worker as ALIVE.
 */
export async function startStandalone(
  options: { cores?: number; memory?: string } = {},
): Promise<StandaloneCluster> {
  const sh = sparkHome();
  const env = sparkEnv();
  const [port, webPort, restPort, workerWeb] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const logDir = mkdtempSync(join(tmpdir(), 'sparkpilot-standalone-'));
  const workDir = join(logDir, 'work');
  mkdirSync(workDir);
  const procs: ChildProcess[] = [];
  const start = (name: string, args: string[], extraEnv: NodeJS.ProcessEnv) => {
    const log = join(logDir, `${name}.log`);
    const fd = openSync(log, 'a');
    const p = spawn(join(sh, 'bin/spark-class'), args, {
      env: { ...env, ...extraEnv },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    procs.push(p);
    return log;
  };
  const masterLog = start(
    'master',
    [
      'org.apache.spark.deploy.master.Master',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--webui-port',
      String(webPort),
    ],
    {
      SPARK_MASTER_OPTS: `-Dspark.master.rest.enabled=true -Dspark.master.rest.port=${restPort} -Dspark.master.rest.host=127.0.0.1`,
    },
  );
  const masterUrl = `spark://127.0.0.1:${port}`;
  const webUrl = `http://127.0.0.1:${webPort}`;
  await waitFor('the standalone master', masterLog, async () =>
    (await fetch(`${webUrl}/json/`)).ok ? true : undefined,
  );
  const workerLog = start(
    'worker',
    [
      'org.apache.spark.deploy.worker.Worker',
      masterUrl,
      '--host',
      '127.0.0.1',
      '--cores',
      String(options.cores ?? 2),
      '--memory',
      options.memory ?? '2g',
      '--webui-port',
      String(workerWeb),
      '--work-dir',
      workDir,
    ],
    {},
  );
  await waitFor('the standalone worker', workerLog, async () => {
    const j = (await (await fetch(`${webUrl}/json/`)).json()) as { aliveworkers?: number };
    return (j.aliveworkers ?? 0) >= 1 ? true : undefined;
  });
  return {
    masterUrl,
    restUrl: `http://127.0.0.1:${restPort}`,
    webUrl,
    logDir,
    async stop() {
      for (const p of procs.reverse()) {
        if (p.exitCode !== null || p.pid === undefined) continue;
        const exited = new Promise((r) => p.once('exit', r));
        try {
          process.kill(-p.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (p.exitCode === null) {
          try {
            process.kill(-p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    },
  };
}

const JAVA_APP = `
import java.util.Arrays;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * sparkpilot's test application. Args: "ok" | "fail" | "sleep:<ms>" | "nospark". Without args, the mode comes
 * from spark.app.name: "... mode=<mode>" names it; a name ending "-fails" fails, one ending "-cancelled" sleeps
 * 10 minutes (to be killed); any other name is "ok".
 */
public class SparkpilotTestApp {
  static String modeOf(String[] args) {
    if (args.length > 0) return args[0];
    String name = System.getProperty("spark.app.name", "");
    int at = name.lastIndexOf("mode=");
    if (at >= 0) return name.substring(at + 5).trim();
    if (name.endsWith("-fails")) return "fail";
    if (name.endsWith("-cancelled")) return "sleep:600000";
    return "ok";
  }

  public static void main(String[] args) throws Exception {
    String mode = modeOf(args);
    System.out.println("sparkpilot-test-app: mode=" + mode);
    if (mode.equals("nospark")) { System.out.println("sparkpilot-test-app: done without spark"); return; }
    JavaSparkContext sc = new JavaSparkContext(new SparkConf());
    System.out.println("sparkpilot-test-app: applicationId=" + sc.sc().applicationId());
    long n = sc.parallelize(Arrays.asList(1, 2, 3, 4, 5, 6, 7, 8), 2).count();
    System.out.println("sparkpilot-test-app: counted " + n);
    if (mode.startsWith("sleep:")) Thread.sleep(Long.parseLong(mode.substring(6)));
    sc.stop();
    if (mode.equals("fail")) { System.err.println("sparkpilot-test-app: failing on purpose"); System.exit(3); }
  }
}
`;

let jar: string | undefined;

/**
 * A jar with main class `SparkpilotTestApp` (args: `ok`, `fail` (exit 3), `sleep:<ms>`, `nospark`; without args
 * the mode comes from `spark.app.name`: `... mode=<mode>`, a name ending `-fails` fails, one ending `-cancelled`
 * sleeps 10 minutes, anything else is `ok`), compiled with javac against Spark's jars into a temporary
 * directory once per process.
 */
export function testAppJar(): { jar: string; className: string } {
  if (!jar) {
    const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-jar-'));
    writeFileSync(join(dir, 'SparkpilotTestApp.java'), JAVA_APP);
    execFileSync(
      'javac',
      ['-cp', `${join(sparkHome(), 'jars')}/*`, '-d', dir, join(dir, 'SparkpilotTestApp.java')],
      {
        stdio: 'inherit',
      },
    );
    execFileSync('jar', ['cf', join(dir, 'sparkpilot-test-app.jar'), '-C', dir, 'SparkpilotTestApp.class'], {
      stdio: 'inherit',
    });
    jar = join(dir, 'sparkpilot-test-app.jar');
  }
  return { jar, className: 'SparkpilotTestApp' };
}
