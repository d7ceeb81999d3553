/** The member id: given by --member-id, or generated once and kept in the data dir. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export function resolveMemberId(dataDir: string, configured: string | undefined): string {
  const file = join(dataDir, 'member-id');
  if (configured) return configured;
  try {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved) return saved;
  } catch {
    /* first start */
  }
  const short = hostname().split('.')[0]!.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40) || 'plexus';
  const id = `${short}-${randomBytes(3).toString('hex')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, id + '\n');
  return id;
}
