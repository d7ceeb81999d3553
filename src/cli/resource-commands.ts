/**
 * What every plexusctl resource command shares (SPEC §11): the context the
 * commands run in, If-Match, and the list, show and delete verbs of one REST
 * collection, declared once. Each *-commands file adds create, update and its
 * own verbs between them (commander lists them in the order they are added).
 */
import type { Command } from 'commander';
import type { ApiClient } from './client';
import type { OutputFormat } from './output';

export interface CliContext {
  readonly client: () => ApiClient;
  readonly format: () => OutputFormat;
  readonly out: (text: string) => void;
}

/** If-Match as the user gave it: a bare revision is quoted, an ETag as printed ("24", W/"24") is sent as is. */
export function ifMatchHeader(rev: string | undefined): Record<string, string> {
  if (rev === undefined) return {};
  const value = rev.trim();
  return { 'if-match': /^(W\/)?".*"$/.test(value) || value === '*' ? value : `"${value}"` };
}

/** The --if-match option of the commands that change or delete a record. */
export const IF_MATCH_OPTION = ['--if-match <REVISION>', 'only if the record is still at this revision (its ETag / "revision")'] as const;

/** One REST collection as plexusctl names and prints it. */
export interface Resource {
  /** The collection, e.g. `v1/security-groups`; one record is `<path>/<ref>`. */
  readonly path: string;
  /** What `delete` says it deleted: "<noun> <ref> deleted". */
  readonly noun: string;
  /** The argument naming one record, e.g. `['<group>', 'group id or name']`. */
  readonly ref: readonly [name: string, description: string];
  /** Prints one record or a list, in the context's format. */
  readonly show: (body: unknown) => void;
}

const recordPath = (r: Resource, ref: string): string => `${r.path}/${encodeURIComponent(ref)}`;

/** `list`: every record of the collection, all pages. */
export function addListCommand(parent: Command, ctx: CliContext, r: Resource, description: string): void {
  parent
    .command('list')
    .description(description)
    .action(async () => r.show(await ctx.client().listAll(r.path)));
}

/** `show <ref>`: one record. */
export function addShowCommand(parent: Command, ctx: CliContext, r: Resource, description: string): void {
  parent
    .command('show')
    .argument(...r.ref)
    .description(description)
    .action(async (ref: string) => r.show(await ctx.client().call('GET', recordPath(r, ref))));
}

/** `delete <ref>`, with --if-match where the collection takes a conditional delete. */
export function addDeleteCommand(parent: Command, ctx: CliContext, r: Resource, description: string, options: { readonly ifMatch?: boolean } = {}): void {
  const command = parent.command('delete').argument(...r.ref);
  if (options.ifMatch) command.option(...IF_MATCH_OPTION);
  command.description(description).action(async (ref: string, o: { ifMatch?: string }) => {
    await ctx.client().call('DELETE', recordPath(r, ref), undefined, ifMatchHeader(o.ifMatch));
    ctx.out(`${r.noun} ${ref} deleted`);
  });
}
