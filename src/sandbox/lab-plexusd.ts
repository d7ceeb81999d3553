/**
 * A lab whose hosts one plexusd manages, set up the way the real-packet and
 * integration tests need it: the lab started, plexusd listening on every
 * address and advertising the lab's controller address (so OVS in the host
 * namespaces reaches it), every host's OVSDB pointed at it, every host ready.
 */
import { Lab } from './lab';
import { PlexusdProcess, type PlexusdOptions } from './plexusd-process';

export interface LabPlexusdOptions {
  /** Lab hosts, 2..4 (default 2). */
  readonly hosts?: number;
  /** plexusd's own options; memberId defaults to m1, listenHost and advertise are the lab's. */
  readonly plexusd?: Omit<PlexusdOptions, 'listenHost' | 'advertise'>;
  /** Runs once plexusd is up, before the hosts join it: what a host must have when plexusd first sees it. */
  readonly beforeJoin?: (lab: Lab, plexusd: PlexusdProcess) => Promise<void>;
}

export interface LabWithPlexusd {
  readonly lab: Lab;
  readonly plexusd: PlexusdProcess;
}

/**
 * Starts the lab and plexusd and joins every host. If any step fails, what
 * was started is stopped (plexusd destroyed, the lab stopped) before the
 * error goes on; once it resolves, the caller stops both.
 */
export async function startLabWithPlexusd(options: LabPlexusdOptions = {}): Promise<LabWithPlexusd> {
  const lab = await Lab.start({ hosts: options.hosts ?? 2 });
  let plexusd: PlexusdProcess | undefined;
  try {
    plexusd = await PlexusdProcess.start({ memberId: 'm1', ...options.plexusd, listenHost: '0.0.0.0', advertise: lab.controllerAddress });
    await options.beforeJoin?.(lab, plexusd);
    for (const h of lab.hosts) await lab.joinController(h, plexusd.ports.ovsdb);
    await plexusd.waitHostsReady(lab.hosts.length, 'hosts ready');
  } catch (err) {
    await plexusd?.destroy();
    await lab.stop();
    throw err;
  }
  return { lab, plexusd };
}
