/**
 * One real etcd (the embedded one plexusd runs) for a test file: free ports, its
 * own temp dir, and every client handed out closed again by `stop()`, which also
 * stops etcd and removes the dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { silentLogger } from '../../src/log';
import { freePorts } from '../../src/sandbox/plexusd-process';
import { EmbeddedEtcd } from '../../src/store/embedded-etcd';

export class TestEtcd {
  private readonly clients: Etcd3[] = [];

  private constructor(
    private readonly etcd: EmbeddedEtcd,
    private readonly dataDir: string,
  ) {}

  /** Starts etcd in a temp dir named after `name`. */
  static async start(name: string): Promise<TestEtcd> {
    const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
    try {
      const [clientPort, peerPort] = await freePorts(2);
      const etcd = new EmbeddedEtcd({ dataDir, name, clientPort: clientPort!, peerPort: peerPort! }, silentLogger());
      await etcd.start();
      return new TestEtcd(etcd, dataDir);
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A new client of this etcd (one per simulated member), closed by `stop()`. */
  client(): Etcd3 {
    const c = new Etcd3({ hosts: [this.etcd.endpoint] });
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.etcd.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
