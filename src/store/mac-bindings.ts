/**
 * Neighbours learned on external networks (cf. OVN's MAC_Binding): the host's
 * master writes the MAC an external next hop answered ARP with, only when it
 * differs from what the model already holds, so a restarted master compiles
 * the same NAT flows (compiler/nat.ts) without learning again.
 */
import type { Etcd3 } from 'etcd3';
import { Collection } from './collection';
import type { Keys } from './keys';
import type { MacBinding } from './model';

export class MacBindingWriter {
  private readonly records: Collection<MacBinding>;

  constructor(client: Etcd3, keys: Keys) {
    this.records = new Collection<MacBinding>(client, keys.macBindings());
  }

  /** Writes the binding unless `known` already says the same MAC. Last writer wins: the newest answer is the truth. */
  async learn(binding: MacBinding, known: MacBinding | undefined): Promise<boolean> {
    if (known?.mac === binding.mac) return false;
    await this.records.put(`${binding.network}/${binding.ip}`, binding);
    return true;
  }
}
