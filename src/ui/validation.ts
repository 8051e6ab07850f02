/**
 * The page's field checks, built from the same rules and definitions as `--validate-arguments`
 * (src/config/rules.ts, ACCOUNT_FIELDS, the inputs' ArgDefinitions): one definition, two users.
 * Each function returns field name → message for the fields that are wrong.
 */
import { ACCOUNT_FIELDS, accountFieldProblem } from '../config/account.js';
import * as rules from '../config/rules.js';
import { validateArg, type InputDefinition } from '../splunk/args.js';

export type Errors = Record<string, string>;

function said(problem: string | undefined): string | undefined {
  return problem === 'is required.' ? 'Required.' : problem;
}

function requiredThen(rule: rules.Rule, value: string): string | undefined {
  return value.trim() ? rule(value.trim()) : 'Required.';
}

export function accountErrors(values: Record<string, string>, creating: boolean): Errors {
  const errors: Errors = {};
  if (creating) {
    const problem = requiredThen(rules.accountName, values.name ?? '');
    if (problem) errors.name = problem;
    if (!(values.secret ?? '').trim()) errors.secret = 'Required.';
  }
  for (const field of ACCOUNT_FIELDS) {
    const problem = said(accountFieldProblem(field, values));
    if (problem) errors[field.key] = problem;
  }
  return errors;
}

export function inputErrors(def: InputDefinition, values: Record<string, string>, creating: boolean): Errors {
  const errors: Errors = {};
  if (creating) {
    // Input names become REST paths like account names: the same rule.
    const problem = requiredThen(rules.accountName, values.name ?? '');
    if (problem) errors.name = problem;
  }
  const interval = requiredThen(rules.interval, values.interval ?? '');
  if (interval) errors.interval = interval;
  for (const arg of def.args) {
    const problem = said(validateArg(arg, values[arg.name]));
    if (problem) errors[arg.name] = problem;
  }
  return errors;
}

export function proxyErrors(values: Record<string, string>): Errors {
  if (values.proxy_enabled !== '1') return {};
  const problem = requiredThen(rules.proxyUrl, values.proxy_url ?? '');
  return problem ? { proxy_url: problem } : {};
}
