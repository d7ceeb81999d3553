/**
 * Cursor pagination over sorted items. Lists sort by what users read (name,
 * then id: SPEC §6 "lists show names"); `next` is an opaque cursor (the sort
 * key of the page's last item, base64url) that stays valid when items are
 * added or removed between pages.
 */
export function paginate<T>(
  items: readonly T[],
  limit: number,
  next: string | undefined,
  keyOf: (item: T) => string,
): { items: T[]; next?: string } {
  const keyed = items.map((item) => ({ item, key: keyOf(item) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const after = next === undefined ? undefined : Buffer.from(next, 'base64url').toString('utf8');
  const start = after === undefined ? 0 : keyed.findIndex((k) => k.key > after);
  const page = start < 0 ? [] : keyed.slice(start, start + limit);
  const more = start >= 0 && start + limit < keyed.length;
  const items_ = page.map((k) => k.item);
  return more ? { items: items_, next: Buffer.from(page[page.length - 1]!.key, 'utf8').toString('base64url') } : { items: items_ };
}

/** Sort key "name, then id": '/' is in neither, so it separates them. Unnamed items sort last. */
export function byNameThenId(item: { readonly id: string; readonly name?: string }): string {
  return item.name ? `${item.name}/${item.id}` : `\u{10FFFF}/${item.id}`;
}

export function byId(item: { readonly id: string }): string {
  return item.id;
}
