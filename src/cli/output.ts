/** Renders CLI results as a table (default), JSON or YAML. */
import yaml from 'js-yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

export interface Column<T> {
  readonly header: string;
  readonly get: (row: T) => unknown;
}

export function render<T>(data: T | T[], format: OutputFormat, columns: readonly Column<T>[]): string {
  if (format === 'json') return JSON.stringify(data, null, 2);
  if (format === 'yaml') return yaml.dump(data, { lineWidth: 120 }).trimEnd();
  if (!Array.isArray(data)) return renderDetail(data as Record<string, unknown>);
  const rows = data.map((r) => columns.map((c) => cell(c.get(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((s, i) => s.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

function renderDetail(obj: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  const indent = ' '.repeat(width + 2);
  return Object.entries(obj)
    .map(([k, v]) => {
      // Long lists (flows, status history) read better one item per line.
      const long = Array.isArray(v) && v.some((x) => (typeof x === 'string' ? x : JSON.stringify(x)).length > 40);
      const text = long
        ? (v as unknown[]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(`\n${indent}`)
        : isScalarList(v) || typeof v !== 'object' || v === null
          ? cell(v)
          : JSON.stringify(v);
      return `${(k + ':').padEnd(width + 1)} ${text}`;
    })
    .join('\n');
}

/** Lists of plain values print as `a,b` in detail views too; lists of objects stay JSON. */
function isScalarList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => x === null || typeof x !== 'object');
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
