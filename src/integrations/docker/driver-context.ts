/** What every part of plexus-docker works with: the Plexus API, this host's OVS and dockerd, the state file. */
import type { Logger } from '../../log';
import type { OvsTarget } from '../ovs-port';
import type { ApiClient } from '../plexus-api';
import type { DockerApi } from './docker-engine';
import type { DriverState } from './driver-state';

export interface DriverContext {
  readonly api: ApiClient;
  readonly ovs: OvsTarget;
  /** This host's dockerd (names of new networks; mirroring); absent in tests that need none. */
  readonly docker: DockerApi | undefined;
  readonly state: DriverState;
  /** How long Join waits for `plexus-installed`. */
  readonly installTimeoutMs: number;
  readonly log: Logger;
}
