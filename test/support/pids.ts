/** What the tests that check for leftover processes read from /proc. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of processes whose command line mentions `needle` (e.g. a run's temp dirs). */
export function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}
