import { useCallback, useEffect, useRef, useState } from 'react';
import Button from '@splunk/react-ui/Button';
import Heading from '@splunk/react-ui/Heading';
import List from '@splunk/react-ui/List';
import Paragraph from '@splunk/react-ui/Paragraph';
import RadioBar from '@splunk/react-ui/RadioBar';
import ControlGroup from '@splunk/react-ui/ControlGroup';
import Table from '@splunk/react-ui/Table';
import { ACCOUNT_CONF } from '../config/account.js';
import type { ConnectionReport } from '../connection/report.js';
import { INPUTS } from '../inputs/catalog.js';
import { CLOUD_NAMES, MDE_REGIONS } from '../microsoft/clouds.js';
import { endpoint, rest, text, type Entry } from './api.js';
import { useAnnounce } from './Announcer.js';
import { ACTIONS, SECTION, TOOLBAR } from './layout.js';
import { testConnection } from './connectionTest.js';
import { SelectField, TextField } from './Field.js';
import { ConfirmDialog, FormDialog, useFormSave } from './FormDialog.js';
import { deleteSecret, writeSecret } from './secrets.js';
import { accountErrors } from './validation.js';
import { dashboardUrl, HealthCell, HealthNotice, HealthPlaceholder, useHealth } from './Health.js';
import { accountVerdict } from './healthModel.js';

const CONF = `configs/conf-${ACCOUNT_CONF}`;
/** The stanza keys the page edits; the secret is never one of them. */
const KEYS = ['tenant_id', 'client_id', 'cloud', 'auth_type', 'login_url', 'graph_url', 'mde_region', 'mde_url', 'certificate_thumbprint', 'ca_file'] as const;
const CLOUD_LABELS: Record<string, string> = {
  commercial: 'Commercial (worldwide)',
  gcc: 'US Government (GCC)',
  gcc_high: 'US Government (GCC High)',
  dod: 'US Government (DoD)',
  china: 'China (21Vianet)',
  custom: 'Custom endpoints',
};

type Values = Record<string, string>;

function emptyAccount(): Values {
  return { name: '', tenant_id: '', client_id: '', cloud: 'commercial', auth_type: 'client_secret', login_url: '', graph_url: '', mde_region: '', mde_url: '', certificate_thumbprint: '', ca_file: '', secret: '' };
}

/** Inputs of every kind that name this account, as `scheme://name`. */
async function inputsUsing(account: string): Promise<string[]> {
  const lists = await Promise.all(INPUTS.map(async (def) => (await rest.list(endpoint('data/inputs', def.scheme))).filter((e) => text(e, 'account') === account).map((e) => `${def.scheme}://${e.name}`)));
  return lists.flat();
}

export function AccountsPage() {
  const announce = useAnnounce();
  const [accounts, setAccounts] = useState<Entry[]>([]);
  const [loading, setLoading] = useState(true);
  const [editing, setEditing] = useState<{ values: Values; creating: boolean } | undefined>();
  const [reports, setReports] = useState<Record<string, ConnectionReport | 'running'>>({});
  const [confirming, setConfirming] = useState<string | undefined>();
  const addButton = useRef<HTMLButtonElement>(null);
  const health = useHealth();

  const load = useCallback(async () => {
    try {
      setAccounts(await rest.list(CONF));
    } catch (error) {
      announce({ type: 'error', text: `Cannot read the accounts: ${(error as Error).message}` });
    } finally {
      setLoading(false);
    }
  }, [announce]);
  useEffect(() => void load(), [load]);

  /** Refused at once while inputs use the account; otherwise asks, then deletes the stanza and its secret. */
  const askToRemove = async (name: string) => {
    try {
      const users = await inputsUsing(name);
      if (users.length > 0) {
        announce({ type: 'error', text: `Account "${name}" is used by ${users.length === 1 ? 'the input' : 'these inputs'}: ${users.join(', ')}. Delete those inputs or move them to another account first.` });
        return;
      }
      setConfirming(name);
    } catch (error) {
      announce({ type: 'error', text: `Cannot delete account "${name}": ${(error as Error).message}` });
    }
  };

  const remove = async (name: string) => {
    setConfirming(undefined);
    try {
      await rest.remove(endpoint(CONF, name));
      await deleteSecret(name);
      setReports(({ [name]: _gone, ...others }) => others);
      announce({ type: 'success', text: `Account "${name}" and its secret were deleted.` });
      await load();
    } catch (error) {
      announce({ type: 'error', text: `Cannot delete account "${name}": ${(error as Error).message}` });
    }
  };

  const test = async (name: string) => {
    setReports((r) => ({ ...r, [name]: 'running' }));
    const report = await testConnection(name);
    setReports((r) => ({ ...r, [name]: report }));
  };

  return (
    <section aria-labelledby="accounts-heading" style={SECTION}>
      <Heading level={2} id="accounts-heading">
        Accounts
      </Heading>
      <Paragraph>An account is an Entra ID app registration allowed to read Microsoft Defender XDR data. Its secret is stored in Splunk&apos;s encrypted credential store and never shown again.</Paragraph>
      <HealthNotice health={health} />
      <div style={TOOLBAR}>
        <Button appearance="primary" label="Add account" elementRef={addButton} onClick={() => setEditing({ values: emptyAccount(), creating: true })} />
      </div>
      {loading ? (
        <Paragraph>Loading…</Paragraph>
      ) : accounts.length === 0 ? (
        <Paragraph>No account yet.</Paragraph>
      ) : (
        <Table stripeRows>
          <Table.Head>
            <Table.HeadCell>Name</Table.HeadCell>
            <Table.HeadCell>Tenant</Table.HeadCell>
            <Table.HeadCell>Client ID</Table.HeadCell>
            <Table.HeadCell>Cloud</Table.HeadCell>
            <Table.HeadCell>Authentication</Table.HeadCell>
            <Table.HeadCell>Token health (24 h)</Table.HeadCell>
            <Table.HeadCell>Actions</Table.HeadCell>
          </Table.Head>
          <Table.Body>
            {accounts.map((a) => (
              <Table.Row key={a.name} data-account={a.name}>
                <Table.Cell>{a.name}</Table.Cell>
                <Table.Cell>{text(a, 'tenant_id')}</Table.Cell>
                <Table.Cell>{text(a, 'client_id')}</Table.Cell>
                <Table.Cell>{CLOUD_LABELS[text(a, 'cloud') || 'commercial'] ?? text(a, 'cloud')}</Table.Cell>
                <Table.Cell>{text(a, 'auth_type') === 'certificate' ? 'Certificate' : 'Client secret'}</Table.Cell>
                <Table.Cell data-health-cell>
                  {health.rows ? (
                    <HealthCell verdict={accountVerdict([...health.rows.values()].filter((r) => r.account === a.name), health.atS)} dashboard={dashboardUrl(undefined)} subject={`account ${a.name}`} />
                  ) : (
                    <HealthPlaceholder state={health.state} />
                  )}
                </Table.Cell>
                <Table.Cell>
                  <div style={ACTIONS}>
                  <Button appearance="secondary" label="Edit" aria-label={`Edit account ${a.name}`} onClick={() => setEditing({ values: { ...emptyAccount(), ...Object.fromEntries(KEYS.map((k) => [k, text(a, k)])), name: a.name, cloud: text(a, 'cloud') || 'commercial', auth_type: text(a, 'auth_type') || 'client_secret' }, creating: false })} />
                  <Button appearance="secondary" label="Test connection" aria-label={`Test connection of account ${a.name}`} disabled={reports[a.name] === 'running'} onClick={() => void test(a.name)} />
                  <Button appearance="destructiveSecondary" label="Delete" aria-label={`Delete account ${a.name}`} onClick={() => void askToRemove(a.name)} />
                  </div>
                </Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table>
      )}
      {Object.entries(reports).map(([name, report]) => (
        <ReportView key={name} name={name} report={report} />
      ))}
      {confirming && (
        <ConfirmDialog
          title={`Delete account ${confirming}?`}
          message={`The account and its stored secret are deleted. No input uses it.`}
          onConfirm={() => void remove(confirming)}
          onClose={() => setConfirming(undefined)}
        />
      )}
      {editing && (
        <AccountForm
          initial={editing.values}
          creating={editing.creating}
          returnFocus={addButton}
          onClose={() => setEditing(undefined)}
          onSaved={async (name) => {
            setEditing(undefined);
            announce({ type: 'success', text: `Account "${name}" saved.` });
            await load();
            // The admin sees at once whether the credentials work and which permission is missing.
            void test(name);
          }}
        />
      )}
    </section>
  );
}

function ReportView({ name, report }: { name: string; report: ConnectionReport | 'running' }) {
  return (
    <div aria-live="polite" data-report-for={name} style={SECTION}>
      <Heading level={3}>Connection test of “{name}”</Heading>
      {report === 'running' ? (
        <Paragraph>Testing…</Paragraph>
      ) : (
        <>
          <Paragraph data-outcome={report.ok ? 'ok' : 'failed'}>{report.ok ? 'The account works: every API answered.' : 'The account does not work yet:'}</Paragraph>
          <List>
            {report.steps.map((s) => (
              <List.Item key={s.title} data-ok={s.ok}>
                <strong>{s.ok ? '✓ OK' : '✗ Failed'}: {s.title}.</strong> {s.message}
              </List.Item>
            ))}
          </List>
          {report.permissions && (
            <div data-permissions-readable={report.permissions.readable}>
              <Heading level={4}>Permissions read from the token (response actions, device owner)</Heading>
              <Paragraph>{report.permissions.message}</Paragraph>
              <List>
                {report.permissions.lines.map((l) => (
                  <List.Item key={l.feature} data-granted={l.granted}>
                    <strong>{l.granted ? '✓ Granted' : '✗ Missing'}: {l.feature} ({l.permission}).</strong> {l.granted ? '' : l.message}
                  </List.Item>
                ))}
              </List>
            </div>
          )}
        </>
      )}
    </div>
  );
}

interface FormProps {
  initial: Values;
  creating: boolean;
  returnFocus: React.RefObject<HTMLButtonElement>;
  onClose: () => void;
  onSaved: (name: string) => Promise<void>;
}

function AccountForm({ initial, creating, returnFocus, onClose, onSaved }: FormProps) {
  const [values, setValues] = useState<Values>(initial);
  /** Whether the stanza exists: after a create whose secret write failed, saving again updates it. */
  const [stored, setStored] = useState(!creating);
  const certificate = values.auth_type === 'certificate';
  const form = useFormSave(
    () => accountErrors(values, creating),
    async () => {
      const name = values.name.trim();
      const stanza: Record<string, string> = {};
      for (const key of KEYS) stanza[key] = (values[key] ?? '').trim();
      if (values.cloud !== 'custom') {
        stanza.login_url = '';
        stanza.graph_url = '';
      }
      if (stored) await rest.update(endpoint(CONF, name), stanza);
      else {
        await rest.create(CONF, { name, ...stanza });
        setStored(true);
      }
      if (values.secret.trim()) {
        try {
          await writeSecret(name, certificate ? values.secret : values.secret.trim());
        } catch (error) {
          throw new Error(`the secret (${(error as Error).message}); the account itself is saved. Save again to store the secret.`);
        }
      }
      await markConfigured();
      await onSaved(name);
    },
  );
  const { errors } = form;
  const set = (key: string) => (value: string) => setValues((v) => ({ ...v, [key]: value }));
  const field = (key: string, label: string, extra: { help?: string; required?: boolean; placeholder?: string } = {}) => (
    <TextField label={label} name={key} value={values[key] ?? ''} onChange={set(key)} error={errors[key]} {...extra} />
  );

  return (
    <FormDialog title={creating ? 'Add account' : `Edit account ${values.name}`} label="Account" returnFocus={returnFocus} onClose={onClose} form={form}>
      {creating && (
        <TextField label="Account name" name="name" value={values.name} onChange={set('name')} error={errors.name} required disabled={stored} help="Letters, digits, _ . - ; inputs refer to the account by this name." />
      )}
      {field('tenant_id', 'Tenant ID', { required: true, help: 'Directory (tenant) ID or a verified domain, e.g. contoso.onmicrosoft.com.' })}
      {field('client_id', 'Client ID', { required: true, help: 'Application (client) ID of the app registration.' })}
      <SelectField label="Cloud" name="cloud" value={values.cloud} onChange={set('cloud')} error={errors.cloud} options={CLOUD_NAMES.map((c) => ({ value: c, label: CLOUD_LABELS[c] }))} />
      {values.cloud === 'custom' && (
        <>
          {field('login_url', 'Login URL', { required: true, help: 'https URL of the Entra ID authority host.' })}
          {field('graph_url', 'Microsoft Graph URL', { required: true, help: 'https URL of the Graph host.' })}
        </>
      )}
      <ControlGroup label="Authentication" labelPosition="top">
        <RadioBar value={values.auth_type} onChange={(_e, d) => set('auth_type')(String(d.value))}>
          <RadioBar.Option value="client_secret" label="Client secret" />
          <RadioBar.Option value="certificate" label="Certificate" />
        </RadioBar>
      </ControlGroup>
      <TextField
        label={certificate ? 'Certificate and private key (PEM)' : 'Client secret'}
        name="secret"
        type={certificate ? undefined : 'password'}
        multiline={certificate}
        value={values.secret}
        onChange={set('secret')}
        error={errors.secret}
        required={creating}
        placeholder={creating ? undefined : 'Stored. Leave empty to keep it.'}
        help={creating ? 'Stored encrypted in Splunk; never shown again.' : 'A secret is stored and is never shown. Type a new one to replace it.'}
      />
      {certificate && field('certificate_thumbprint', 'Certificate thumbprint', { help: 'Only when the PEM holds no certificate: SHA-1 or SHA-256 hex.' })}
      <SelectField
        label="Defender for Endpoint region"
        name="mde_region"
        value={values.mde_region}
        onChange={set('mde_region')}
        error={errors.mde_region}
        help="Host of the Defender for Endpoint API, for the defender_endpoint_alerts input; a region outside the cloud is refused."
        options={[{ value: '', label: 'Default for the cloud' }, ...MDE_REGIONS.map((r) => ({ value: r, label: r }))]}
      />
      {field('mde_url', 'Defender for Endpoint URL', { help: "Optional: overrides the cloud's Defender for Endpoint API host." })}
      {field('ca_file', 'Extra CA bundle', { help: 'Optional: path on the Splunk server of a PEM bundle to trust (TLS-inspecting proxy). TLS verification always stays on.' })}
    </FormDialog>
  );
}

/** The app's setup is done once an account exists: Splunk Web stops offering the setup page. */
async function markConfigured(): Promise<void> {
  await rest.update(endpoint('configs/conf-app', 'install'), { is_configured: '1' });
}
