/**
 * When to write the short stored form (stored-form.ts): only once no member of
 * the previous version is left to misread it, so a rolling upgrade changes no
 * flow. Members of this version say so in their member record (`storedForm`);
 * the first one to find every live member record saying so writes
 * `<prefix>stored-form`, and from then on every member writes the short form.
 * Until then, and until a member has looked, endpoints and bindings are
 * written in the full JSON form every version reads (both forms are always
 * read). A member not yet on the short form looks again at most every
 * `checkMs`, on a write; once short it never looks again (a member of the
 * previous version must not join after that).
 */
import { Collection } from './collection';
import type { MemberRecord } from './model';
import { STORED_FORM } from './stored-form';
import { absent, put, runTxn, type StoreContext } from './txn';

/** How often a member still writing the full form looks again. */
const CHECK_MS = 10_000;

export class StoredFormGate {
  private short = false;
  private checkedAt = -Infinity;
  private checking: Promise<boolean> | undefined;

  constructor(
    private readonly ctx: StoreContext,
    private readonly checkMs = CHECK_MS,
  ) {}

  /** Whether to write the short form now (looking first when due; a failed look answers the full form). */
  async isShort(): Promise<boolean> {
    if (this.short) return true;
    if (this.checking) return this.checking;
    if (Date.now() - this.checkedAt < this.checkMs) return false;
    this.checking = this.check()
      .catch(() => false)
      .finally(() => {
        this.checkedAt = Date.now();
        this.checking = undefined;
      });
    return this.checking;
  }

  private async check(): Promise<boolean> {
    const { client, keys } = this.ctx;
    const key = keys.storedForm();
    const current = await client.get(key).string();
    if (current === null) {
      const members = await new Collection<MemberRecord>(client, keys.members()).list();
      if (members.some((m) => (m.value.storedForm ?? 0) < STORED_FORM)) return false;
      await runTxn(this.ctx, [absent(key)], [put(key, String(STORED_FORM))]);
    }
    this.short = true;
    return true;
  }
}
