import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What Splunk Enterprise Security's adaptive response framework expects of an action (as its
 * cim_actions.py writes it): one `sendmodaction` audit line per result and step in
 * $SPLUNK_HOME/var/log/splunk/<action>_modalert.log, and the action's results as Common Action
 * Model events in a spool file that splunkd indexes (index cim_modactions by default here).
 */
export interface ModActionContext {
  actionName: string;
  searchName: string;
  sid: string;
  app: string;
  user: string;
  /** Host of the search head, the `worker` of the audit lines. */
  worker: string;
  resultIndex: string;
  splunkHome?: string;
}

export interface ResultLink {
  rid: string;
  orig_sid?: string;
  orig_rid?: string;
}

export const RESULT_SOURCETYPE = 'ms:defender:action:result';
const EVENT_BREAK = '==##~~##~~  1E8N3D4E6V5E7N2T9 ~~##~~##==';

/** cim_actions.py: `saved` when the search was run by the scheduler, `adhoc` otherwise (Incident Review, sendalert). */
export function actionMode(sid: string): 'saved' | 'adhoc' {
  return sid.includes('scheduler') ? 'saved' : 'adhoc';
}

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/[\r\n]+/g, ' ')}"`;

export class ModActionAudit {
  private readonly results: string[] = [];
  readonly mode: 'saved' | 'adhoc';
  /** Problems writing the audit (reported once by the caller). */
  problems: string[] = [];

  constructor(private readonly ctx: ModActionContext) {
    this.mode = actionMode(ctx.sid);
  }

  /** One audit line, e.g. signature="Isolation requested" action_status="success". */
  message(signature: string, status: 'success' | 'failure' | 'pending', link: ResultLink, extra: Record<string, string | number | undefined> = {}): string {
    const c = this.ctx;
    const pairs: [string, string][] = [
      ['worker', c.worker], ['signature', signature], ['action_name', c.actionName], ['search_name', c.searchName], ['sid', c.sid],
      ['orig_sid', link.orig_sid ?? ''], ['rid', link.rid], ['orig_rid', link.orig_rid ?? ''], ['app', c.app], ['user', c.user],
      ['action_mode', this.mode], ['action_status', status],
      ...Object.entries(extra).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)]),
    ];
    const line = `sendmodaction - ${pairs.map(([k, v]) => `${k}=${quote(v)}`).join(' ')}`;
    const dir = this.dir('log');
    if (dir) {
      const stamp = new Date().toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
      try {
        appendFileSync(path.join(dir, `${c.actionName}_modalert.log`), `${stamp}+0000 INFO pid=${process.pid} tid=MainThread file=${c.actionName}.js:message | ${line}\n`);
      } catch (error) {
        this.problems.push(`Cannot write the ES audit log: ${(error as Error).message}`);
      }
    }
    return line;
  }

  /** A Common Action Model result event for a result, written by flush(). */
  addResult(link: ResultLink, fields: Record<string, string | number | undefined>): void {
    const header = `***Common Action Model*** orig_action_name=${quote(this.ctx.actionName)} orig_sid=${quote(link.orig_sid || this.ctx.sid)} orig_rid=${quote(link.orig_rid || link.rid)} sourcetype=${quote(RESULT_SOURCETYPE)}`;
    const body = JSON.stringify({ action_name: this.ctx.actionName, search_name: this.ctx.searchName, sid: this.ctx.sid, rid: link.rid, orig_sid: link.orig_sid || undefined, orig_rid: link.orig_rid || undefined, action_mode: this.mode, ...fields });
    this.results.push(`${header}\n${body}`);
  }

  get resultCount(): number {
    return this.results.length;
  }

  /** Writes the results as one spool file splunkd indexes (and deletes); returns its path. */
  flush(): string | undefined {
    if (this.results.length === 0) return undefined;
    const dir = this.dir('spool');
    if (!dir) return undefined;
    const file = path.join(dir, `${Math.floor(Date.now() / 1000)}_${randomBytes(6).toString('hex')}.stash_common_action_model`);
    const head = `***SPLUNK*** index=${quote(this.ctx.resultIndex)} host=${quote(this.ctx.worker)} source=${quote(`${this.ctx.actionName}_modalert`)}`;
    try {
      // Written under another name, then renamed: splunkd's spool input must not pick up half a file.
      const temp = `${file}.tmp`;
      writeFileSync(temp, `${head}\n${this.results.join(`\n${EVENT_BREAK}\n`)}\n`);
      renameSync(temp, file);
      return file;
    } catch (error) {
      this.problems.push(`Cannot write the ES results: ${(error as Error).message}`);
      return undefined;
    }
  }

  private dir(kind: 'log' | 'spool'): string | undefined {
    const home = this.ctx.splunkHome?.trim();
    if (!home) return undefined;
    const dir = kind === 'log' ? path.join(home, 'var', 'log', 'splunk') : path.join(home, 'var', 'spool', 'splunk');
    if (!existsSync(dir)) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch {
        return undefined;
      }
    }
    return dir;
  }
}
