/**
 * Every etcd key Plexus uses, in one place (SPEC §3, §12): per-resource prefixes
 * so members watch exactly what they need; no key holds a list that grows with
 * the fleet.
 *
 *   <prefix>hosts/<host-id>            HostRecord
 *   <prefix>members/<member-id>        MemberRecord (under the member's lease)
 */
export class Keys {
  constructor(readonly prefix: string) {}

  hosts(): string {
    return `${this.prefix}hosts/`;
  }
  host(id: string): string {
    return `${this.hosts()}${id}`;
  }
  members(): string {
    return `${this.prefix}members/`;
  }
  member(id: string): string {
    return `${this.members()}${id}`;
  }
  /** The id at the end of a key under `collection`. */
  idOf(collection: string, key: string): string {
    return key.slice(collection.length);
  }
}
