import { ConfigError } from '../config/account.js';
import { CLASSIFICATIONS, DETERMINATION_ALIASES, DETERMINATIONS, DETERMINATIONS_BY_CLASSIFICATION, type Target } from './targets.js';

/** The change one run applies to every id it reads; checked in full before any call to Graph. */
export interface UpdateRequest {
  account: string;
  /** Result field holding the id (its multivalue form is read too). */
  idField: string;
  /** Graph property values to set, only those the user filled in. */
  fields: { status?: string; classification?: string; determination?: string; assignedTo?: string };
  comment?: string;
  /** Incidents only: tags added to customTags (existing tags are kept). */
  addTags: string[];
  /** Most ids updated per run; the rest are logged as skipped. */
  maxUpdates: number;
  /** Client-side pace of Graph requests. */
  requestsPerMinute: number;
}

export const DEFAULTS = { idField: 'id', maxUpdates: 100, requestsPerMinute: 100 } as const;
/** Hard ceilings, whatever the configuration says: splunkd stops an action after maxtime (5 min). */
export const LIMITS = { maxUpdates: 1000, requestsPerMinute: 3000, commentLength: 1000, assignedToLength: 256, tagLength: 100, tags: 20 } as const;

/**
 * Reads the action's configuration (alert_actions.conf params merged with the alert's
 * action.<name>.param.* values, as splunkd hands them over). Throws a ConfigError listing every
 * problem, each naming the setting and the accepted values.
 */
export function parseUpdateRequest(target: Target, configuration: Record<string, unknown>): UpdateRequest {
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const value = configuration[key];
    if (value === undefined || value === null) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };
  const oneOf = (key: string, allowed: readonly string[], aliases: Record<string, string> = {}): string | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const exact = allowed.find((a) => a === value) ?? aliases[value];
    // Case-insensitive match as a convenience (Graph itself is case-sensitive about enum members).
    const loose = exact ?? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) ?? Object.entries(aliases).find(([k]) => k.toLowerCase() === value.toLowerCase())?.[1];
    if (!loose) problems.push(`${key}: "${value}" is not one of ${allowed.join(', ')}.`);
    return loose;
  };
  const count = (key: string, fallback: number, max: number): number => {
    const value = text(key);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < 1) {
      problems.push(`${key}: "${value}" is not a positive whole number.`);
      return fallback;
    }
    return Math.min(Number(value), max);
  };

  const account = text('account');
  if (!account) problems.push('account: required; the name of an account configured in the add-on.');
  const idField = text('id_field') ?? DEFAULTS.idField;
  const status = oneOf('status', target.statuses);
  const classification = oneOf('classification', CLASSIFICATIONS);
  const determination = oneOf('determination', DETERMINATIONS, DETERMINATION_ALIASES);
  if (determination && !classification) {
    problems.push('determination: set classification too; a determination is only valid under its classification.');
  } else if (determination && classification && !DETERMINATIONS_BY_CLASSIFICATION[classification]?.includes(determination)) {
    problems.push(`determination: "${determination}" does not go with classification ${classification}; use one of ${DETERMINATIONS_BY_CLASSIFICATION[classification]?.join(', ')}.`);
  }
  const assignedTo = text('assigned_to');
  if (assignedTo && assignedTo.length > LIMITS.assignedToLength) problems.push(`assigned_to: longer than ${LIMITS.assignedToLength} characters.`);
  const comment = text('comment');
  if (comment && comment.length > LIMITS.commentLength) problems.push(`comment: longer than ${LIMITS.commentLength} characters.`);
  const tagsText = text('add_tags');
  const addTags = tagsText ? [...new Set(tagsText.split(',').map((t) => t.trim()).filter(Boolean))] : [];
  if (addTags.length && !target.supportsTags) problems.push(`add_tags: Graph has no custom tags on ${target.kind}s; tag the incident with defender_update_incident.`);
  if (addTags.length > LIMITS.tags) problems.push(`add_tags: at most ${LIMITS.tags} tags.`);
  for (const tag of addTags) if (tag.length > LIMITS.tagLength) problems.push(`add_tags: "${tag.slice(0, 20)}…" is longer than ${LIMITS.tagLength} characters.`);
  const maxUpdates = count('max_updates', DEFAULTS.maxUpdates, LIMITS.maxUpdates);
  const requestsPerMinute = count('requests_per_minute', DEFAULTS.requestsPerMinute, LIMITS.requestsPerMinute);

  const fields = Object.fromEntries(Object.entries({ status, classification, determination, assignedTo }).filter(([, v]) => v !== undefined));
  if (problems.length === 0 && Object.keys(fields).length === 0 && !comment && addTags.length === 0) {
    problems.push(`nothing to do: set at least one of status, classification, determination, assigned_to, comment${target.supportsTags ? ', add_tags' : ''}.`);
  }
  if (problems.length) throw new ConfigError(`${target.action}: invalid configuration, nothing was sent to Microsoft Graph. ${problems.join(' ')}`);
  return { account: account!, idField, fields, comment, addTags, maxUpdates, requestsPerMinute };
}
