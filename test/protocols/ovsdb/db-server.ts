/**
 * A bare `ovsdb-server` for OVSDB client tests (SPEC §9): the vswitch schema in
 * a temp dir, reachable on `punix:<dir>/db.sock` and `ptcp:0:127.0.0.1`, plus
 * `db:Open_vSwitch,Open_vSwitch,manager_options` so `ovs-vsctl set-manager`
 * makes it connect out to us. No ovs-vswitchd: `ovs-vsctl --no-wait` writes
 * straight to the database. Stopped by pid, temp dir removed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, stopPid, trackPid, untrackPid, waitFor, type RunResult } from '../../../src/sandbox/processes';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export class DbServer {
  private pidValue: number | undefined;
  private portValue = 0;
  private starts = 0;

  private constructor(readonly dir: string) {}

  static async start(name = 'ovsdb'): Promise<DbServer> {
    const dir = mkdtempSync(join(tmpdir(), `plexus-${name}-`));
    const server = new DbServer(dir);
    try {
      await run('ovsdb-tool', ['create', server.dbFile, SCHEMA]);
      await server.launch();
      await server.vsctl('init');
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get dbFile(): string {
    return join(this.dir, 'conf.db');
  }
  get sock(): string {
    return join(this.dir, 'db.sock');
  }
  get unixTarget(): string {
    return `unix:${this.sock}`;
  }
  /** tcp: target of the current run (the port changes on restart). */
  get tcpTarget(): string {
    return `tcp:127.0.0.1:${this.portValue}`;
  }
  get pid(): number | undefined {
    return this.pidValue;
  }
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };
  }

  /** Starts ovsdb-server on the existing database file and socket path. */
  async launch(): Promise<void> {
    this.starts += 1;
    const log = join(this.dir, `ovsdb-server-${this.starts}.log`);
    const pidfile = join(this.dir, 'ovsdb-server.pid');
    await run(
      'ovsdb-server',
      [
        this.dbFile,
        `--remote=punix:${this.sock}`,
        '--remote=ptcp:0:127.0.0.1',
        '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
        `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
        `--pidfile=${pidfile}`,
        '--detach',
        `--log-file=${log}`,
      ],
      { env: this.env },
    );
    this.pidValue = Number(readFileSync(pidfile, 'utf8').trim());
    trackPid(this.pidValue);
    // ptcp:0 binds a free port; ovsdb-server logs which one.
    this.portValue = await waitFor('ovsdb-server tcp port', () => {
      const m = /listening on port (\d+)/.exec(readFileSync(log, 'utf8'));
      return m ? Number(m[1]) : 0;
    });
  }

  /** Kills ovsdb-server (SIGKILL, like a crash); the database file stays. */
  async kill(): Promise<void> {
    if (this.pidValue === undefined) return;
    await stopPid(this.pidValue, 0);
    untrackPid(this.pidValue);
    this.pidValue = undefined;
  }

  vsctl(...args: string[]): Promise<RunResult> {
    return run('ovs-vsctl', [`--db=unix:${this.sock}`, '--no-wait', '--timeout=10', ...args], { env: this.env });
  }

  /** Runs a transaction straight on the database file (server must be down). */
  toolTransact(ops: unknown[]): Promise<RunResult> {
    return run('ovsdb-tool', ['transact', this.dbFile, JSON.stringify(['Open_vSwitch', ...ops])]);
  }

  /** All rows of `table` as ovsdb-client sees them: uuid → row. */
  async dump(table: string, columns: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const { stdout } = await run('ovsdb-client', [
      'transact',
      this.unixTarget,
      JSON.stringify(['Open_vSwitch', { op: 'select', table, where: [], columns: ['_uuid', ...columns] }]),
    ]);
    const rows = (JSON.parse(stdout) as [{ rows: Record<string, unknown>[] }])[0].rows;
    return new Map(rows.map(({ _uuid, ...rest }) => [(_uuid as [string, string])[1], rest]));
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
