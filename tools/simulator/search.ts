/**
 * A stand-in for splunkd's search: the events it has indexed and `search/jobs` with
 * `exec_mode=oneshot`, as the configuration page's health search uses it. It is not Splunk: it
 * runs the small SPL subset of test/helpers/splRun.ts and throws (HTTP 400, splunkd's FATAL
 * message) on anything else, so a query the page sends is evaluated, never answered from a canned
 * result.
 *
 * - Indexing: `monitor(file)` is Splunk's default `[monitor://$SPLUNK_HOME/var/log/splunk]`
 *   (index `_internal`): every search reads the file's lines as they are now; the sourcetype comes
 *   from the app's props.conf `[source::…]` stanzas, `_time` from the line's timestamp
 *   (props TIME_FORMAT `%Y-%m-%d %H:%M:%S.%3N %z`). Search-time fields come from the app's
 *   props/transforms through the search-time model (test/helpers/searchtime).
 * - Role: `searchIndexesAllowed` is the user's srchIndexesAllowed, with Splunk's wildcard rule:
 *   `*` matches every index but the internal ones (names starting with `_`), `_*` matches those.
 *   An index the role may not search yields no events and no error, as in Splunk.
 * - Search: `search <clause> | <command> …`; macros (no arguments) expand from the app's
 *   macros.conf; the indexes searched are the `index=` terms of the first clause (none: `main`);
 *   `earliest_time`/`latest_time` take `now`, `-<n>s|m|h|d` or epoch seconds. The generating
 *   command `| eventcount summarize=false index=<name>` lists the matching indexes the role may
 *   search, with their event counts.
 * - Answer: splunkd's oneshot JSON: `{preview, init_offset, messages, fields, results}`, every
 *   value a string, `count` results at most (splunkd's default 100; 0 = all).
 * - `stallNext`: the next n searches never answer (a search head that hangs), for timeout tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expandMacros, splitPipeline } from '../../test/helpers/spl.js';
import { evaluate, loadApp, type SearchTimeApp } from '../../test/helpers/searchtime/index.js';
import { runSpl, type Row } from '../../test/helpers/splRun.js';
import { parseConf, type Conf } from '../conf.js';

export interface SearchAnswer {
  /** 0: never answer (the caller leaves the request open). */
  status: number;
  body: string;
}

interface IndexedEvent {
  index: string;
  sourcetype: string;
  source: string;
  timeS: number;
  raw: string;
}

/** Splunk's admin role searches every index; its `user` role has `*` only (no internal index). */
export const ADMIN_INDEXES = ['*', '_*'];

export class SearchHeadStandIn {
  /** srchIndexesAllowed of the session's user. */
  searchIndexesAllowed: string[] = [...ADMIN_INDEXES];
  /** The next n searches hang (never answer). */
  stallNext = 0;
  /** Every search string received, as sent. */
  readonly searches: string[] = [];

  private readonly app: SearchTimeApp;
  private readonly macros: Conf;
  private readonly sourceTypes: { pattern: RegExp; sourcetype: string }[];
  private readonly monitored: { file: string; index: string }[] = [];

  /** @param appDir the installed app (its default/props.conf, transforms.conf, macros.conf, lookups/). */
  constructor(appDir: string) {
    this.app = loadApp(appDir);
    const macrosFile = path.join(appDir, 'default', 'macros.conf');
    this.macros = parseConf(existsSync(macrosFile) ? readFileSync(macrosFile, 'utf8') : '');
    this.sourceTypes = [...this.app.props.entries()]
      .filter(([stanza, keys]) => stanza.startsWith('source::') && keys.has('sourcetype'))
      .map(([stanza, keys]) => ({ pattern: sourcePattern(stanza.slice('source::'.length)), sourcetype: keys.get('sourcetype') as string }));
  }

  /** Indexes a log file's lines into `index` (default `_internal`), read afresh at every search. */
  monitor(file: string, index = '_internal'): void {
    this.monitored.push({ file, index });
  }

  /** Answers `POST search/jobs` (form already parsed). */
  jobs(form: URLSearchParams, nowMs = Date.now()): SearchAnswer {
    const mode = form.get('exec_mode') ?? 'normal';
    if (mode !== 'oneshot') return fatal(400, `exec_mode=${mode} is not modelled by this stand-in (only oneshot)`);
    const search = form.get('search');
    if (!search) return fatal(400, 'Missing argument: search');
    this.searches.push(search);
    if (this.stallNext > 0) {
      this.stallNext--;
      return { status: 0, body: '' };
    }
    try {
      const nowS = nowMs / 1000;
      const earliest = timeModifier(form.get('earliest_time'), nowS, -Infinity);
      const latest = timeModifier(form.get('latest_time'), nowS, Infinity);
      const rows = this.run(search.trim(), { earliest, latest, nowS });
      const count = Number.parseInt(form.get('count') ?? '100', 10);
      return { status: 200, body: JSON.stringify(oneshotJson(count > 0 ? rows.slice(0, count) : rows)) };
    } catch (error) {
      return fatal(400, (error as Error).message);
    }
  }

  private run(search: string, range: { earliest: number; latest: number; nowS: number }): Row[] {
    if (search.startsWith('|')) return this.generating(search.slice(1).trim(), range);
    if (!/^search\s/i.test(search)) throw new Error(`Unknown search command '${search.split(/\s/)[0]}'.`);
    const expanded = expandMacros(search.replace(/^search\s+/i, ''), this.macros).text;
    const [first] = splitPipeline(expanded);
    // Inline time modifiers would be read as field filters by the SPL model: refuse, not mis-answer.
    if (/(?:^|[\s(])(earliest|latest)\s*=/.test(first)) throw new Error('Inline earliest/latest is not modelled by this stand-in: pass earliest_time/latest_time');
    const wanted = [...first.matchAll(/(?:^|[\s(])index\s*=\s*("[^"]*"|[^\s()]+)/g)].map((m) => m[1].replace(/^"|"$/g, ''));
    const events = this.events(wanted.length ? wanted : ['main'], range);
    const rows = events.map((e) => toRow(evaluate(this.app, { sourcetype: e.sourcetype, source: e.source, index: e.index, raw: e.raw }).fields, e.timeS));
    return runSpl(expanded, rows, { nowS: range.nowS });
  }

  /** `eventcount summarize=false index=<name>`: one row per index the role may search. */
  private generating(command: string, range: { earliest: number; latest: number; nowS: number }): Row[] {
    const m = /^eventcount\s+summarize=false\s+index=("[^"]*"|\S+)\s*$/.exec(command);
    if (!m) throw new Error(`Unknown or unmodelled generating command: | ${command}`);
    const pattern = m[1].replace(/^"|"$/g, '');
    const names = [...new Set(['main', ...this.monitored.map((f) => f.index)])].filter((n) => wildcard(pattern).test(n) && this.mayRead(n)).sort();
    return names.map((index) => ({ count: this.events([index], { ...range, earliest: -Infinity, latest: Infinity }).length, index, server: 'splunkd-standin' }));
  }

  /** The monitored lines of the given indexes that the role may read, in the time range, newest first. */
  private events(indexes: string[], range: { earliest: number; latest: number }): IndexedEvent[] {
    const out: IndexedEvent[] = [];
    for (const { file, index } of this.monitored) {
      if (!indexes.some((i) => wildcard(i).test(index)) || !this.mayRead(index) || !existsSync(file)) continue;
      const sourcetype = this.sourceTypes.find((s) => s.pattern.test(file))?.sourcetype ?? path.basename(file).replace(/\.log$/, '');
      for (const raw of readFileSync(file, 'utf8').split('\n')) {
        const timeS = lineTime(raw);
        if (timeS === undefined || timeS < range.earliest || timeS >= range.latest) continue;
        out.push({ index, sourcetype, source: file, timeS, raw });
      }
    }
    return out.sort((a, b) => b.timeS - a.timeS);
  }

  private mayRead(index: string): boolean {
    return this.searchIndexesAllowed.some((p) => (p.startsWith('*') && index.startsWith('_') ? false : wildcard(p).test(index)));
  }
}

/** `%Y-%m-%d %H:%M:%S.%3N %z` at the start of the line, as epoch seconds. */
function lineTime(raw: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d{3}) ([+-])(\d{2})(\d{2}) /.exec(raw);
  if (!m) return undefined;
  const offsetMs = (m[3] === '-' ? -1 : 1) * (Number(m[4]) * 60 + Number(m[5])) * 60_000;
  return (Date.parse(`${m[1]}T${m[2]}Z`) - offsetMs) / 1000;
}

/** splunkd's time modifiers as far as modelled: now, -<n><unit>, epoch seconds. */
function timeModifier(value: string | null, nowS: number, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (value === 'now') return nowS;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const m = /^-(\d+)(s|m|h|d)$/.exec(value);
  if (!m) throw new Error(`Invalid value "${value}" for time term (this stand-in models now, -<n>s|m|h|d and epoch seconds)`);
  return nowS - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** props.conf `source::` patterns: `...` any path, `*` anything but a separator. */
function sourcePattern(pattern: string): RegExp {
  const body = pattern.split('...').map((part) => part.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')).join('.*');
  return new RegExp(`^${body}$`);
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
}

function toRow(fields: Map<string, string[]>, timeS: number): Row {
  const row: Row = { _time: timeS };
  for (const [k, v] of fields) if (k !== '_raw') row[k] = v.length === 1 ? v[0] : v;
  return row;
}

/** splunkd's oneshot JSON: values as strings, multivalue as arrays of strings, nulls left out. */
function oneshotJson(rows: Row[]): Record<string, unknown> {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const results = rows.map((r) =>
    Object.fromEntries(
      Object.entries(r)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
    ),
  );
  return { preview: false, init_offset: 0, messages: [], fields: names.map((name) => ({ name })), results, highlighted: {} };
}

function fatal(status: number, text: string): SearchAnswer {
  return { status, body: JSON.stringify({ messages: [{ type: 'FATAL', text }] }) };
}
