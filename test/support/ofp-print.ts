import { execFileSync } from 'node:child_process';

/**
 * Decodes OpenFlow bytes with Open vSwitch's own decoder, the oracle for every
 * encoder test (SPEC §9). Returns ovs-ofctl's text, or throws with its stderr.
 */
export function ofpPrint(bytes: Buffer, verbosity = 0): string {
  const args = ['ofp-print', bytes.toString('hex')];
  if (verbosity > 0) args.push(String(verbosity));
  return execFileSync('ovs-ofctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** ofp-print output without the first line's xid and with whitespace folded. */
export function ofpPrintBody(bytes: Buffer, verbosity = 0): string {
  return ofpPrint(bytes, verbosity).replace(/\s+/g, ' ').trim();
}
