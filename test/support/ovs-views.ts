/** OVSDB views (southbound/ovs-view.ts) for the pure southbound readers' tests. */
import type { OvsInterface, OvsView } from '../../src/southbound/ovs-view';

export const U = (n: number): string => `00000000-0000-0000-0000-${n.toString().padStart(12, '0')}`;

export function iface(n: number, name: string, ofport: number | null, externalIds: Record<string, string>, type = ''): OvsInterface {
  return { uuid: U(100 + n), name, type, options: {}, externalIds, ofport, error: null };
}

/** A view with br-int holding `onBrInt` (one port each) and br-ex holding `elsewhere`. */
export function viewOf(onBrInt: OvsInterface[], elsewhere: OvsInterface[] = [], rootIds: Record<string, string> = {}): OvsView {
  const ports = [...onBrInt, ...elsewhere].map((i, k) => ({ uuid: U(200 + k), name: i.name, interfaces: [i.uuid], externalIds: {} }));
  const bridge = (uuid: string, name: string, ifs: OvsInterface[]) => ({
    uuid, name, datapathId: null, datapathType: 'system', failMode: 'secure', protocols: ['OpenFlow13'], controllers: [], otherConfig: {},
    ports: ports.filter((p) => ifs.some((i) => i.uuid === p.interfaces[0])).map((p) => p.uuid),
  });
  return {
    root: { uuid: U(1), externalIds: rootIds, ovsVersion: '3.1.0', bridges: [U(2), U(3)], managerOptions: [] },
    bridges: new Map([[U(2), bridge(U(2), 'br-int', onBrInt)], [U(3), bridge(U(3), 'br-ex', elsewhere)]]),
    ports: new Map(ports.map((p) => [p.uuid, p])),
    interfaces: new Map([...onBrInt, ...elsewhere].map((i) => [i.uuid, i])),
    controllers: new Map(),
    managers: new Map(),
  };
}
