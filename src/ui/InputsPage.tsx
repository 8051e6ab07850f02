import { useCallback, useEffect, useRef, useState } from 'react';
import Button from '@splunk/react-ui/Button';
import Heading from '@splunk/react-ui/Heading';
import Paragraph from '@splunk/react-ui/Paragraph';
import Table from '@splunk/react-ui/Table';
import { ACCOUNT_CONF } from '../config/account.js';
import { INPUTS } from '../inputs/catalog.js';
import type { InputDefinition } from '../splunk/args.js';
import { endpoint, isDisabled, rest, text, type Entry } from './api.js';
import { useAnnounce } from './Announcer.js';
import { ACTIONS, SECTION, TOOLBAR } from './layout.js';
import { SelectField, TextField } from './Field.js';
import { ConfirmDialog, FormDialog, useFormSave } from './FormDialog.js';
import { dashboardUrl, HealthCell, HealthNotice, HealthPlaceholder, useHealth, type Health } from './Health.js';
import { inputVerdict } from './healthModel.js';
import { inputErrors } from './validation.js';

type Values = Record<string, string>;

/** splunkd's own settings every input has, besides the definition's arguments. */
const GENERIC = ['interval', 'index'] as const;

export function InputsPage() {
  const announce = useAnnounce();
  const [accounts, setAccounts] = useState<string[]>([]);
  const health = useHealth();
  useEffect(() => {
    rest.list(`configs/conf-${ACCOUNT_CONF}`).then(
      (entries) => setAccounts(entries.map((e) => e.name)),
      (error: Error) => announce({ type: 'error', text: `Cannot read the accounts: ${error.message}` }),
    );
  }, [announce]);
  return (
    <>
      <HealthNotice health={health} />
      {INPUTS.map((def) => (
        <InputKind key={def.scheme} def={def} accounts={accounts} health={health} />
      ))}
    </>
  );
}

function InputKind({ def, accounts, health }: { def: InputDefinition; accounts: string[]; health: Health }) {
  const announce = useAnnounce();
  const [inputs, setInputs] = useState<Entry[]>([]);
  const [editing, setEditing] = useState<{ values: Values; creating: boolean } | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const addButton = useRef<HTMLButtonElement>(null);
  const collection = endpoint('data/inputs', def.scheme);
  const headingId = `inputs-${def.scheme}`;

  const load = useCallback(async () => {
    try {
      setInputs(await rest.list(collection));
    } catch (error) {
      announce({ type: 'error', text: `Cannot read the ${def.title} inputs: ${(error as Error).message}` });
    }
  }, [announce, collection, def.title]);
  useEffect(() => void load(), [load]);

  const valuesOf = (entry: Entry): Values => Object.fromEntries([...GENERIC, ...def.args.map((a) => a.name)].map((k) => [k, text(entry, k)]));
  const act = async (what: string, done: string, action: () => Promise<unknown>) => {
    try {
      await action();
      announce({ type: 'success', text: done });
      await load();
    } catch (error) {
      announce({ type: 'error', text: `Cannot ${what}: ${(error as Error).message}` });
    }
  };
  const blank = (): Values => ({ name: '', interval: '300', index: 'default', ...Object.fromEntries(def.args.map((a) => [a.name, a.name === 'account' ? (accounts[0] ?? '') : ''])) });

  return (
    <section aria-labelledby={headingId} data-scheme={def.scheme} style={SECTION}>
      <Heading level={2} id={headingId}>
        {def.title}
      </Heading>
      <Paragraph>{def.description}</Paragraph>
      <div style={TOOLBAR}>
        <Button appearance="primary" label={`Add ${def.title} input`} elementRef={addButton} onClick={() => setEditing({ values: blank(), creating: true })} />
      </div>
      {inputs.length === 0 ? (
        <Paragraph>No input of this kind yet.</Paragraph>
      ) : (
        <Table stripeRows>
          <Table.Head>
            <Table.HeadCell>Name</Table.HeadCell>
            <Table.HeadCell>Account</Table.HeadCell>
            <Table.HeadCell>Interval</Table.HeadCell>
            <Table.HeadCell>Index</Table.HeadCell>
            <Table.HeadCell>Status</Table.HeadCell>
            <Table.HeadCell>Health (24 h)</Table.HeadCell>
            <Table.HeadCell>Actions</Table.HeadCell>
          </Table.Head>
          <Table.Body>
            {inputs.map((input) => {
              const disabled = isDisabled(input);
              const path = endpoint('data/inputs', def.scheme, input.name);
              return (
                <Table.Row key={input.name} data-input={input.name}>
                  <Table.Cell>{input.name}</Table.Cell>
                  <Table.Cell>{text(input, 'account')}</Table.Cell>
                  <Table.Cell>{text(input, 'interval')}</Table.Cell>
                  <Table.Cell>{text(input, 'index')}</Table.Cell>
                  <Table.Cell data-status>{disabled ? 'Disabled' : 'Enabled'}</Table.Cell>
                  <Table.Cell data-health-cell>
                    {health.rows || disabled ? (
                      <HealthCell
                        verdict={inputVerdict(health.rows?.get(`${def.scheme}://${input.name}`), { disabled, interval: text(input, 'interval') }, health.atS)}
                        dashboard={dashboardUrl(`${def.scheme}://${input.name}`)}
                        subject={`input ${input.name}`}
                      />
                    ) : (
                      <HealthPlaceholder state={health.state} />
                    )}
                  </Table.Cell>
                  <Table.Cell>
                    <div style={ACTIONS}>
                    <Button appearance="secondary" label="Edit" aria-label={`Edit input ${input.name}`} onClick={() => setEditing({ values: { ...valuesOf(input), name: input.name }, creating: false })} />
                    <Button appearance="secondary" label="Clone" aria-label={`Clone input ${input.name}`} onClick={() => setEditing({ values: { ...valuesOf(input), name: `${input.name}_copy` }, creating: true })} />
                    <Button
                      appearance="secondary"
                      label={disabled ? 'Enable' : 'Disable'}
                      aria-label={`${disabled ? 'Enable' : 'Disable'} input ${input.name}`}
                      onClick={() => void act(disabled ? 'enable the input' : 'disable the input', `Input "${input.name}" ${disabled ? 'enabled' : 'disabled'}.`, () => rest.update(`${path}/${disabled ? 'enable' : 'disable'}`, {}))}
                    />
                    <Button appearance="destructiveSecondary" label="Delete" aria-label={`Delete input ${input.name}`} onClick={() => setConfirming(input.name)} />
                    </div>
                  </Table.Cell>
                </Table.Row>
              );
            })}
          </Table.Body>
        </Table>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Delete input ${confirming}?`}
          message={`The ${def.title} input "${confirming}" stops collecting and is removed. Events already indexed stay.`}
          onConfirm={() => {
            setConfirming(undefined);
            void act('delete the input', `Input "${confirming}" deleted.`, () => rest.remove(endpoint('data/inputs', def.scheme, confirming)));
          }}
          onClose={() => setConfirming(undefined)}
        />
      )}
      {editing && (
        <InputForm
          def={def}
          accounts={accounts}
          initial={editing.values}
          creating={editing.creating}
          returnFocus={addButton}
          onClose={() => setEditing(undefined)}
          onSaved={async (name) => {
            setEditing(undefined);
            announce({ type: 'success', text: `Input "${name}" saved.` });
            await load();
          }}
        />
      )}
    </section>
  );
}

interface FormProps {
  def: InputDefinition;
  accounts: string[];
  initial: Values;
  creating: boolean;
  returnFocus: React.RefObject<HTMLButtonElement>;
  onClose: () => void;
  onSaved: (name: string) => Promise<void>;
}

function InputForm({ def, accounts, initial, creating, returnFocus, onClose, onSaved }: FormProps) {
  const [values, setValues] = useState<Values>(initial);
  const form = useFormSave(
    () => inputErrors(def, values, creating),
    async () => {
      const name = values.name.trim();
      const params: Record<string, string> = {};
      for (const key of [...GENERIC, ...def.args.map((a) => a.name)]) {
        const value = (values[key] ?? '').trim();
        // On create, an empty optional argument is left out; on edit, sending it empty clears it.
        if (value || !creating) params[key] = value;
      }
      // splunkd runs the input's --validate-arguments on both; its refusal comes back as the error.
      if (creating) await rest.create(endpoint('data/inputs', def.scheme), { name, ...params, disabled: '0' });
      else await rest.update(endpoint('data/inputs', def.scheme, name), params);
      await onSaved(name);
    },
  );
  const { errors } = form;
  const set = (key: string) => (value: string) => setValues((v) => ({ ...v, [key]: value }));

  return (
    <FormDialog title={creating ? `Add ${def.title} input` : `Edit input ${values.name}`} label="Input" returnFocus={returnFocus} onClose={onClose} form={form}>
      {creating && <TextField label="Input name" name="name" value={values.name} onChange={set('name')} error={errors.name} required help="Letters, digits, _ . -" />}
      {def.args.map((arg) =>
        arg.name === 'account' ? (
          <SelectField
            key={arg.name}
            label={arg.title}
            name={arg.name}
            value={values.account ?? ''}
            onChange={set('account')}
            error={errors.account}
            required
            help={accounts.length === 0 ? 'Add an account first, on the Accounts tab.' : arg.description}
            options={accounts.map((a) => ({ value: a, label: a }))}
          />
        ) : (
          <TextField key={arg.name} label={arg.title} name={arg.name} value={values[arg.name] ?? ''} onChange={set(arg.name)} error={errors[arg.name]} required={arg.required} help={arg.description} multiline={arg.multiline} />
        ),
      )}
      <TextField label="Interval" name="interval" value={values.interval ?? ''} onChange={set('interval')} error={errors.interval} required help="Seconds between polls (60 or more), -1 for once at start-up, or a cron schedule." />
      <TextField label="Index" name="index" value={values.index ?? ''} onChange={set('index')} error={errors.index} help="The index the events go to." />
    </FormDialog>
  );
}
