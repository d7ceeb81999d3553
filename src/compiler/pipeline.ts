/** The skeleton every host has: one table-miss flow per table, as the table declares. */
import { cookie, FEATURE } from '../pipeline/cookies';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { PIPELINE } from '../pipeline/tables';

export function compilePipeline(): Flow[] {
  return PIPELINE.map((t) => buildFlow(t, 'miss', [], t.miss.kind === 'goto' ? applyThenGoto([], t.miss.table) : [], cookie(FEATURE.PIPELINE, `table:${t.name}`)));
}
