/**
 * A compact, ovs-ofctl-like text form of a flow, for drill-down and logs:
 * `table=10 priority=100 cookie=0x2… in_port=2,eth_src=…,ip_src=… actions=goto_table:20`.
 */
import type { Action } from '../../protocols/openflow/actions';
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match, OxmValue } from '../../protocols/openflow/match';
import type { KeyedFlow } from './diff';

/** Fields ovs-ofctl prints in hex (registers, ids, ethertypes); ports and protocols read better in decimal. */
const HEX_FIELDS = /^(reg\d+|xreg\d+|tun_id|metadata|eth_type|ct_mark|ct_label|conj_id|pkt_mark|cookie)$/;

function value(v: OxmValue, field: string): string {
  if (typeof v === 'number' || typeof v === 'bigint') return HEX_FIELDS.test(field) ? `0x${v.toString(16)}` : v.toString();
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  return v;
}

export function formatMatch(match: Match): string {
  return match.map((f) => `${f.field}=${value(f.value, f.field)}${f.mask === undefined ? '' : `/${value(f.mask, f.field)}`}`).join(',');
}

function ref(r: { field: string; ofs?: number; nBits?: number }): string {
  return r.ofs === undefined && r.nBits === undefined ? `${r.field}[]` : `${r.field}[${r.ofs ?? 0}..${(r.ofs ?? 0) + (r.nBits ?? 1) - 1}]`;
}

function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      return a.port === 0xfffffff8 ? 'in_port' : a.port === 0xfffffffd ? 'controller' : `output:${a.port}`;
    case 'set_field':
      return `set_field:${value(a.value, a.field)}->${a.field}`;
    case 'reg_move':
      return `move:${ref(a.src)}->${ref(a.dst)}`;
    default:
      return a.type;
  }
}

function formatInstruction(i: Instruction): string {
  switch (i.type) {
    case 'apply_actions':
      return i.actions.map(formatAction).join(',');
    case 'goto_table':
      return `goto_table:${i.tableId}`;
    case 'meter':
      return `meter:${i.meterId}`;
    default:
      return i.type;
  }
}

export function formatFlow(f: KeyedFlow): string {
  const actions = f.instructions.map(formatInstruction).filter(Boolean).join(',') || 'drop';
  const match = formatMatch(f.match);
  return `table=${f.tableId} priority=${f.priority} cookie=0x${f.cookie.toString(16)}${match ? ' ' + match : ''} actions=${actions}`;
}
