import * as fs from 'node:fs';
import type { Listener } from '@nxproxy/runtime';
import * as path from 'node:path';
import { checkConfig, isEmerg, type CheckResult } from '@nxproxy/parser';
import {
  closeAccessLogs,
  closePools,
  compile,
  bindPlan,
  listenAll,
  logError,
  openErrorLog,
  resolveHosts,
  TableRef,
  type RuntimeConfig,
} from '@nxproxy/runtime';
import { DEFAULT_PID } from './defaults.js';
import { unimplementedWarnings } from './main.js';
import { StartupLog } from './render.js';

export interface ServeOptions {
  prefix: string;
  conf: string;
  errorLog?: string;
  globals?: string;
  signal?: string;
  strict: boolean;
}

const SIGNALS: Record<string, NodeJS.Signals> = {
  stop: 'SIGTERM',
  quit: 'SIGQUIT',
  reload: 'SIGHUP',
  reopen: 'SIGUSR1',
};

/** Loads, checks (exactly as -t) and compiles; null when the configuration must not be served. */
async function load(o: ServeOptions, log: StartupLog): Promise<{ table: RuntimeConfig; result: CheckResult } | null> {
  const result = await checkConfig({ prefix: o.prefix, confFile: o.conf, globals: o.globals, openPidFile: false });
  const texts = result.config?.texts ?? new Map<string, string>();
  for (const d of result.diagnostics) log.diagnostic(d, texts);
  if (!result.ok || !result.config) return null;
  // Fail closed: a directive that guards access and is not implemented would silently open access.
  const warnings = unimplementedWarnings(result, o.strict);
  let refuse = false;
  for (const w of warnings) {
    const guards = result.unimplemented.find((u) => u.directive.file === w.file && u.directive.termLine === w.line)?.spec.guardsAccess;
    if (guards) {
      log.diagnostic({ ...w, severity: 'emerg' }, texts);
      refuse = true;
    } else {
      log.diagnostic(w, texts);
      if (isEmerg(w)) refuse = true;
    }
  }
  if (refuse) return null;
  const hosts = await resolveHosts(result.config);
  const table = compile(result.config, { hosts, root: process.geteuid?.() === 0 });
  // Serving plain HTTP where TLS was configured would expose what clients meant to encrypt.
  const tls = table.sockets.find((s) => s.tlsAt);
  if (tls) {
    const [file, line] = [tls.tlsAt!.slice(0, tls.tlsAt!.lastIndexOf(':')), Number(tls.tlsAt!.slice(tls.tlsAt!.lastIndexOf(':') + 1))];
    log.diagnostic(
      { severity: 'emerg', code: 'tls', message: 'the "ssl" parameter of "listen" is not implemented by nxproxy (no TLS termination): nxproxy refuses to serve this configuration', file, line },
      texts,
    );
    return null;
  }
  return { table, result };
}

function pidPathFromConfig(o: ServeOptions): string {
  const m = /(?:^|[;\s])pid\s+([^;\s]+)\s*;/.exec(o.globals ?? '');
  if (m) return path.resolve(o.prefix, m[1]);
  try {
    const conf = path.isAbsolute(o.conf) ? o.conf : path.resolve(o.prefix, o.conf);
    const text = fs.readFileSync(conf, 'latin1');
    const pm = /^\s*pid\s+([^;\s]+)\s*;/m.exec(text);
    if (pm) return path.isAbsolute(pm[1]) ? pm[1] : path.resolve(o.prefix, pm[1]);
  } catch {
    // fall back to the default
  }
  return DEFAULT_PID;
}

function sendSignal(o: ServeOptions): number {
  const sig = SIGNALS[o.signal!];
  if (!sig) {
    process.stderr.write(`nxproxy: invalid option: "-s ${o.signal}"\n`);
    return 1;
  }
  const pidFile = pidPathFromConfig(o);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    process.stderr.write(`nxproxy: [error] open() "${pidFile}" failed (2: No such file or directory)\n`);
    return 1;
  }
  try {
    process.kill(pid, sig);
  } catch {
    process.stderr.write(`nxproxy: [alert] kill(${pid}, ${sig === 'SIGTERM' ? 15 : sig === 'SIGQUIT' ? 3 : sig === 'SIGHUP' ? 1 : 10}) failed (3: No such process)\n`);
    return 1;
  }
  return 0;
}

export async function serve(o: ServeOptions): Promise<number> {
  // Started with stderr closed (as some harnesses do): writing must not kill the process.
  process.stderr.on('error', () => undefined);
  process.stdout.on('error', () => undefined);
  if (o.signal) return sendSignal(o);
  const log = new StartupLog(o.errorLog, false);
  const loaded = await load(o, log);
  if (!loaded) return 1;
  const ref = new TableRef(loaded.table);
  // -e names the error log used until (and unless) the configuration sets error_log
  const errorLogOf = (t: RuntimeConfig) => (t.errorLog.explicit ? t.errorLog : { path: o.errorLog ?? 'stderr', level: 'error' });
  try {
    const el = errorLogOf(loaded.table);
    openErrorLog(el.path, el.level);
    captureStacks(el.level);
  } catch (e) {
    process.stderr.write(`nxproxy: [emerg] open() "${errorLogOf(loaded.table).path}" failed (${(e as Error).message})\n`);
    return 1;
  }
  let servers: Map<string, Listener>;
  try {
    servers = await listenAll(ref);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`nxproxy: [emerg] bind() failed (${err.errno ? -err.errno : 98}: ${err.code === 'EADDRINUSE' ? 'Address already in use' : err.message})\n`);
    return 1;
  }
  const pidFile = loaded.table.pidFile;
  const sockets = new Set<import('node:net').Socket>();
  for (const s of servers.values()) s.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });

  let stopping = false;
  const exit = async (code: number) => {
    closeAccessLogs();
    try {
      fs.unlinkSync(pidFile);
    } catch {
      // already gone
    }
    await closePools();
    process.exit(code);
  };
  const fastStop = () => {
    if (stopping) return;
    stopping = true;
    for (const s of servers.values()) s.close();
    for (const c of sockets) c.destroy();
    void exit(0);
  };
  const gracefulStop = () => {
    if (stopping) return;
    stopping = true;
    let open = servers.size;
    if (open === 0) void exit(0);
    for (const s of servers.values()) {
      s.close(() => {
        if (--open === 0) void exit(0);
      });
      s.closeIdleConnections();
    }
  };
  const reload = async () => {
    logError('notice', 'signal 1 (SIGHUP) received from nxproxy, reconfiguring');
    const next = await load(o, new StartupLog(undefined, true)).catch(() => null);
    if (!next) {
      logError('alert', 'configuration reload failed, the old configuration keeps serving');
      return;
    }
    // Same sockets: one reference swap. New or removed sockets are bound or closed.
    const oldKeys = new Set(servers.keys());
    ref.current = next.table;
    try {
      const plan = bindPlan(next.table);
      for (const s of plan) {
        if (oldKeys.has(s.key)) continue;
        const one = await listenAll(new TableRef({ ...next.table, sockets: [s] }));
        for (const [k, v] of one) servers.set(k, v);
      }
      for (const k of oldKeys) {
        if (!plan.some((s) => s.key === k)) {
          servers.get(k)?.close();
          servers.delete(k);
        }
      }
    } catch (e) {
      logError('emerg', `reload could not bind: ${(e as Error).message}`);
    }
    const el = errorLogOf(next.table);
    openErrorLog(el.path, el.level);
    captureStacks(el.level);
  };
  process.on('SIGTERM', fastStop);
  process.on('SIGINT', fastStop);
  process.on('SIGQUIT', gracefulStop);
  process.on('SIGHUP', () => void reload());
  process.on('SIGUSR1', () => {
    closeAccessLogs();
    const el = errorLogOf(ref.current);
    openErrorLog(el.path, el.level);
  });
  // the pid file appears only once every listener is bound and every signal handler is in place
  try {
    // atomically: a harness polling for the file never reads it empty
    const tmp = `${pidFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${process.pid}\n`);
    fs.renameSync(tmp, pidFile);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`nxproxy: [emerg] open() "${pidFile}" failed (${Math.abs(err.errno ?? 2)}: ${err.code})\n`);
    for (const s of servers.values()) s.close();
    return 1;
  }
  return new Promise<number>(() => undefined);
}

/**
 * Stack traces only where somebody reads them: with error_log at debug level. undici creates
 * several Error objects for every upstream connection it closes, and capturing and formatting
 * their traces cost about 40 us of CPU per request without upstream keep-alive (measured with
 * a bare undici proxy: 149 -> 105 us of user time per request). Without traces an internal
 * error is still logged, with its message.
 */
export function captureStacks(level: string): void {
  Error.stackTraceLimit = level === 'debug' ? 10 : 0;
}
