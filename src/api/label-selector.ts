/**
 * Label selectors on lists (`?labelSelector=app=web,tier!=db`), the equality
 * subset of Kubernetes' syntax: requirements joined by ',' must all hold.
 *
 *   key=value  key==value   the label is set to value
 *   key!=value              the label is absent or set to another value
 *   key                     the label is set
 *   !key                    the label is absent
 */
import { FieldError } from './problems';

export type LabelRequirement =
  | { readonly op: 'eq' | 'ne'; readonly key: string; readonly value: string }
  | { readonly op: 'exists' | 'absent'; readonly key: string };

const KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
const VALUE = /^[A-Za-z0-9_.:-]{0,253}$/;

export function parseLabelSelector(text: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) throw new FieldError('query.labelSelector', `empty requirement in "${text}" (requirements are separated by single commas)`);
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m) {
      const [, key, op, value] = m;
      checkKey(key!, text);
      if (!VALUE.test(value!)) throw new FieldError('query.labelSelector', `"${value}" is not a label value (letters, digits, '_', '.', ':', '-')`);
      out.push({ op: op === '!=' ? 'ne' : 'eq', key: key!, value: value! });
    } else if (part.startsWith('!')) {
      checkKey(part.slice(1).trim(), text);
      out.push({ op: 'absent', key: part.slice(1).trim() });
    } else {
      checkKey(part, text);
      out.push({ op: 'exists', key: part });
    }
  }
  return out;
}

function checkKey(key: string, text: string): void {
  if (!KEY.test(key)) throw new FieldError('query.labelSelector', `"${key}" in "${text}" is not a label key (expected key=value, key!=value, key or !key)`);
}

export function matchesLabels(labels: Readonly<Record<string, string>>, selector: readonly LabelRequirement[]): boolean {
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'eq':
        return has && labels[r.key] === r.value;
      case 'ne':
        return !has || labels[r.key] !== r.value;
      case 'exists':
        return has;
      case 'absent':
        return !has;
    }
  });
}
