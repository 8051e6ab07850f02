import { useEffect, useState, type ReactElement } from 'react';
import CheckCircle from '@splunk/react-icons/CheckCircle';
import Clock from '@splunk/react-icons/Clock';
import CrossCircle from '@splunk/react-icons/CrossCircle';
import ExclamationTriangle from '@splunk/react-icons/ExclamationTriangle';
import Hourglass from '@splunk/react-icons/Hourglass';
import MinusCircle from '@splunk/react-icons/MinusCircle';
import QuestionCircle from '@splunk/react-icons/QuestionCircle';
import Badge from '@splunk/react-ui/Badge';
import Link from '@splunk/react-ui/Link';
import Message from '@splunk/react-ui/Message';
import { variables } from '@splunk/themes';
import { createURL } from '@splunk/splunk-utils/url';
import { APP } from './api.js';
import { duration, HEALTH_REFRESH_S, STATUS_LABEL, type HealthRow, type HealthState, type Status, type Verdict } from './healthModel.js';
import { readHealth } from './healthSearch.js';

export interface Health {
  /** The newest answer. */
  state: HealthState;
  /** The last rows read, kept while a later refresh fails, with the time they were read. */
  rows?: Map<string, HealthRow>;
  atS: number;
}

/**
 * Reads health now and every HEALTH_REFRESH_S seconds while the page is open: one search in
 * flight at most, none while the browser tab is hidden, aborted when the page goes away.
 */
export function useHealth(): Health {
  const [health, setHealth] = useState<Health>({ state: { kind: 'loading' }, atS: Date.now() / 1000 });
  useEffect(() => {
    const controller = new AbortController();
    let running = false;
    const refresh = async () => {
      if (running || document.hidden) return;
      running = true;
      const state = await readHealth(controller.signal);
      running = false;
      if (controller.signal.aborted) return;
      setHealth((h) => (state.kind === 'ready' ? { state, rows: state.rows, atS: state.atS } : { ...h, state }));
    };
    void refresh();
    const timer = setInterval(() => void refresh(), HEALTH_REFRESH_S * 1000);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, []);
  return health;
}

/** Why health is missing or stale, above the tables; the rest of the page works either way. */
export function HealthNotice({ health }: { health: Health }) {
  const { state } = health;
  if (state.kind === 'no-access') {
    return (
      <div data-health-notice="no-access" style={{ margin: '0 0 16px' }}>
        <Message type="info">Health not available to your role: it is read from the add-on&apos;s log in the _internal index, which your role cannot search. An admin sees it here, or can grant your role the _internal index.</Message>
      </div>
    );
  }
  if (state.kind === 'failed') {
    const stale = health.rows ? ` Showing health as of ${duration(Date.now() / 1000 - health.atS)} ago.` : '';
    return (
      <div data-health-notice="failed" style={{ margin: '0 0 16px' }}>
        <Message type="warning">Health could not be read: {state.message}.{stale} Everything else on this page works; health is asked again every {HEALTH_REFRESH_S} s.</Message>
      </div>
    );
  }
  return null;
}

const STYLE: Record<Status, { icon: ReactElement; background: unknown; foreground: unknown }> = {
  ok: { icon: <CheckCircle />, background: variables.notificationColorPositiveWeak, foreground: variables.notificationColorPositiveStrong },
  failing: { icon: <CrossCircle />, background: variables.notificationColorNegativeWeak, foreground: variables.notificationColorNegativeStrong },
  throttled: { icon: <Hourglass />, background: variables.notificationColorCautionWeak, foreground: variables.notificationColorCautionStrong },
  behind: { icon: <Clock />, background: variables.notificationColorCautionWeak, foreground: variables.notificationColorCautionStrong },
  never: { icon: <ExclamationTriangle />, background: variables.notificationColorInfoWeak, foreground: variables.notificationColorInfoStrong },
  disabled: { icon: <MinusCircle />, background: variables.neutral200, foreground: variables.contentColorDefault },
  unknown: { icon: <QuestionCircle />, background: variables.neutral200, foreground: variables.contentColorDefault },
};

const SMALL = { margin: '4px 0 0', fontSize: 12, lineHeight: '16px', overflowWrap: 'anywhere' } as const;

/** The status as a badge (icon, colour and the word) with what it means and what to do. */
export function HealthCell({ verdict, dashboard, subject }: { verdict: Verdict; dashboard?: string; subject: string }) {
  const style = STYLE[verdict.status];
  return (
    <div data-health={verdict.status} style={{ maxWidth: 340 }}>
      <Badge
        label={STATUS_LABEL[verdict.status]}
        icon={style.icon}
        backgroundColor={style.background as string}
        foregroundColor={style.foreground as string}
      />
      <p style={SMALL}>{verdict.summary}</p>
      {verdict.error && (
        <p style={SMALL} data-health-error>
          <strong>Error:</strong> {verdict.error}
        </p>
      )}
      {verdict.fix && (
        <p style={SMALL} data-health-fix>
          <strong>What to do:</strong> {verdict.fix}
        </p>
      )}
      {verdict.facts.length > 0 && <p style={{ ...SMALL, color: '#5c6773' }}>{verdict.facts.join(' · ')}</p>}
      {dashboard && (
        <p style={SMALL}>
          <Link to={dashboard} aria-label={`Open the health dashboard for ${subject}`}>
            Health dashboard
          </Link>
        </p>
      )}
    </div>
  );
}

/** The add-on's health dashboard, its input dropdown (token `input`) set to this stanza, last 24 h. */
export function dashboardUrl(stanza: string | undefined): string {
  const params: Record<string, string> = { 'form.global_time.earliest': '-24h', 'form.global_time.latest': 'now' };
  if (stanza) params['form.input'] = stanza;
  return createURL(`/app/${APP}/defender_xdr_health`, params);
}

/** Placeholder while the first search runs or when health cannot be read. */
export function HealthPlaceholder({ state }: { state: HealthState }) {
  const text = state.kind === 'loading' ? 'Reading health…' : state.kind === 'no-access' ? 'Not available to your role' : 'Unknown: health could not be read';
  return (
    <span data-health="unavailable" aria-busy={state.kind === 'loading'} style={{ fontSize: 12 }}>
      {text}
    </span>
  );
}
