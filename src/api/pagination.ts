/** Cursor pagination over id-sorted items: `next` is the last id of the page. */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  limit: number,
  next: string | undefined,
): { items: T[]; next?: string } {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const start = next === undefined ? 0 : sorted.findIndex((i) => i.id > next);
  const page = start < 0 ? [] : sorted.slice(start, start + limit);
  const more = start >= 0 && start + limit < sorted.length;
  return more ? { items: page, next: page[page.length - 1]!.id } : { items: page };
}
