import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  configEnvironmentVariables,
  createFromRegistry,
  defineFactory,
  EventLogError,
  eventLogCollector,
  getFactory,
  listFactories,
  loadConfig,
  RegistryError,
  registerFactory,
  SparkpilotError,
  unregisterFactory,
} from '../../src/index.js';

describe('layered configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparkpilot-config-'));
  const file = join(dir, 'sparkpilot.config.json');
  writeFileSync(
    file,
    JSON.stringify({ db: { url: 'postgres://file/db' }, eventLog: { workers: 3 }, logLevel: 'warn' }),
  );

  it('applies defaults < file < environment < runtime options', () => {
    expect(loadConfig({ env: {}, cwd: join(dir, 'none') }).db.url).toBe('sqlite:./sparkpilot.db');
    const fromFile = loadConfig({ env: {}, cwd: dir });
    expect(fromFile.db.url).toBe('postgres://file/db');
    expect(fromFile.eventLog.workers).toBe(3);
    expect(fromFile.db.tablePrefix).toBe('sparkpilot_');
    const fromEnv = loadConfig({
      env: { SPARKPILOT_EVENT_LOG_WORKERS: '5', SPARKPILOT_DB_URL: 'mysql://env/db' },
      cwd: dir,
    });
    expect(fromEnv.eventLog.workers).toBe(5);
    expect(fromEnv.db.url).toBe('mysql://env/db');
    expect(fromEnv.logLevel).toBe('warn');
    const runtime = loadConfig({
      env: { SPARKPILOT_EVENT_LOG_WORKERS: '5' },
      cwd: dir,
      overrides: { eventLog: { workers: 7 } },
    });
    expect(runtime.eventLog.workers).toBe(7);
    expect(Object.isFrozen(runtime.eventLog)).toBe(true);
  });

  it('names the layer, the key and the expected value on a bad value', () => {
    expect(() => loadConfig({ env: { SPARKPILOT_EVENT_LOG_WORKERS: 'many' } })).toThrow(
      /SPARKPILOT_EVENT_LOG_WORKERS: expected a number for eventLog.workers, got "many"/,
    );
    try {
      loadConfig({ env: {}, overrides: { logLevel: 'loud' as 'info' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('SPARKPILOT_CONFIG_INVALID');
      expect((err as Error).message).toMatch(/runtime options: logLevel: .*"silent".*\(got "loud"\)/);
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => loadConfig({ env: {}, file: bad })).toThrow(
      new RegExp(`Config file ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a JSON object`),
    );
    const unknownKey = join(dir, 'unknown.json');
    writeFileSync(unknownKey, JSON.stringify({ eventlog: {} }));
    expect(() => loadConfig({ env: {}, file: unknownKey })).toThrow(
      /config file .*unknown\.json: \(root\): Unrecognized key: "eventlog"/,
    );
  });

  it('derives one environment variable per key', () => {
    expect(configEnvironmentVariables).toContainEqual({
      variable: 'SPARKPILOT_EVENT_LOG_MAX_LINE_BYTES',
      key: 'eventLog.maxLineBytes',
    });
    expect(new Set(configEnvironmentVariables.map((v) => v.variable)).size).toBe(
      configEnvironmentVariables.length,
    );
  });
});

describe('the factory registry', () => {
  it('holds the built-in collector and builds it by name with validated options', () => {
    expect(listFactories('collector')).toContain('event-log');
    const c = createFromRegistry('collector', 'event-log', { workers: 1 });
    expect(c.name).toBe('event-log');
    expect(() => createFromRegistry('collector', 'event-log', { workers: -1 })).toThrow(
      /Invalid options for "event-log": workers: Too small/,
    );
    expect(() => eventLogCollector({ nope: 1 } as never)).toThrow(ConfigError);
  });

  it('lives on globalThis under Symbol.for, so every copy of the package shares it', () => {
    const store = (globalThis as Record<symbol, Record<string, Map<string, unknown>>>)[
      Symbol.for('sparkpilot.registry')
    ];
    expect(store?.collector?.get('event-log')).toBe(getFactory('collector', 'event-log'));
  });

  it('registers, refuses a clash, replaces on request and lists known names in errors', () => {
    const a = defineFactory('test-a', z.object({ n: z.number().default(1) }), (o) => ({ n: o.n }));
    const b = defineFactory('test-a', z.object({}), () => ({ n: 2 }));
    registerFactory('analyzer', a);
    registerFactory('analyzer', a);
    expect(createFromRegistry('analyzer', 'test-a')).toEqual({ n: 1 });
    expect(() => registerFactory('analyzer', b)).toThrow(RegistryError);
    registerFactory('analyzer', b, { replace: true });
    expect(createFromRegistry('analyzer', 'test-a')).toEqual({ n: 2 });
    expect(unregisterFactory('analyzer', 'test-a')).toBe(true);
    expect(() => getFactory('analyzer', 'test-a')).toThrow(
      /No analyzer named "test-a" is registered\. Known: job/,
    );
    expect(() => getFactory('collector', 'nope')).toThrow(/Known: event-log/);
  });
});

describe('errors', () => {
  it('carry a stable code, a cause, a name, and the file and line', () => {
    const cause = new Error('inner');
    const e = new EventLogError('SPARKPILOT_EVENTLOG_CORRUPT', { file: 'a.zstd', line: 12 }, 'bad frame.', {
      cause,
    });
    expect(e.code).toBe('SPARKPILOT_EVENTLOG_CORRUPT');
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('EventLogError');
    expect(e.message).toBe('[sparkpilot] [event-log] a.zstd line 12: bad frame.');
    expect(e).toBeInstanceOf(SparkpilotError);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(ConfigError);
    expect(new ConfigError('SPARKPILOT_CONFIG_INVALID', 'x')).not.toBeInstanceOf(EventLogError);
    expect({}).not.toBeInstanceOf(SparkpilotError);
  });
});
