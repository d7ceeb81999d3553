/**
 * A meter a host must have (QoS rate limits, compiler/qos.ts), as the
 * reconciler installs it (reconciler/meters.ts): one drop band at rateKbps
 * with a burst of burstKb, rates in kb/s.
 */
export interface MeterSpec {
  readonly meterId: number;
  readonly rateKbps: number;
  readonly burstKb: number;
  /** What derived the id (policy/endpoint/direction): two owners on one id is a collision. */
  readonly owner: string;
}
