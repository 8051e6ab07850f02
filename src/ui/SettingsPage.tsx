import { useEffect, useState } from 'react';
import Button from '@splunk/react-ui/Button';
import Checkbox from '@splunk/react-ui/Checkbox';
import ControlGroup from '@splunk/react-ui/ControlGroup';
import Heading from '@splunk/react-ui/Heading';
import Paragraph from '@splunk/react-ui/Paragraph';
import Switch from '@splunk/react-ui/Switch';
import { isTrue, PROXY_SECRET_USER, SETTINGS_CONF } from '../config/settings.js';
import { LOG_LEVELS } from '../splunk/log.js';
import { endpoint, rest, text } from './api.js';
import { useAnnounce } from './Announcer.js';
import { SECTION, TOOLBAR } from './layout.js';
import { focusFirstError, SelectField, TextField } from './Field.js';
import { deleteSecret, writeSecret } from './secrets.js';
import { proxyErrors, type Errors } from './validation.js';

const CONF = `configs/conf-${SETTINGS_CONF}`;
type Values = Record<string, string>;

export function SettingsPage() {
  const announce = useAnnounce();
  const [proxy, setProxy] = useState<Values>({ proxy_enabled: '0', proxy_url: '', proxy_username: '', password: '' });
  const [loglevel, setLoglevel] = useState('INFO');
  const [resident, setResident] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const errors: Errors = submitted ? proxyErrors(proxy) : {};
  const set = (key: string) => (value: string) => setProxy((v) => ({ ...v, [key]: value }));

  useEffect(() => {
    rest.list(CONF).then(
      (entries) => {
        const stanza = (name: string) => entries.find((e) => e.name === name);
        const p = stanza('proxy');
        if (p) setProxy({ proxy_enabled: isTrue(text(p, 'proxy_enabled')) ? '1' : '0', proxy_url: text(p, 'proxy_url'), proxy_username: text(p, 'proxy_username'), password: '' });
        const l = stanza('logging');
        if (l) setLoglevel(text(l, 'loglevel').toUpperCase() || 'INFO');
        const c = stanza('collection');
        if (c) setResident(isTrue(text(c, 'resident')));
        setLoaded(true);
      },
      (error: Error) => announce({ type: 'error', text: `Cannot read the settings: ${error.message}` }),
    );
  }, [announce]);

  const saveProxy = async () => {
    setSubmitted(true);
    if (Object.keys(proxyErrors(proxy)).length > 0) return focusFirstError();
    try {
      const username = proxy.proxy_username.trim();
      await rest.update(endpoint(CONF, 'proxy'), { proxy_enabled: proxy.proxy_enabled === '1' ? 'true' : 'false', proxy_url: proxy.proxy_url.trim(), proxy_username: username });
      if (!username) await deleteSecret(PROXY_SECRET_USER);
      else if (proxy.password) await writeSecret(PROXY_SECRET_USER, proxy.password);
      setProxy((v) => ({ ...v, password: '' }));
      announce({ type: 'success', text: 'Proxy settings saved.' });
    } catch (error) {
      announce({ type: 'error', text: `Proxy settings not saved: ${(error as Error).message}` });
    }
  };

  const saveLogging = async () => {
    try {
      await rest.update(endpoint(CONF, 'logging'), { loglevel });
      announce({ type: 'success', text: `Log level set to ${loglevel}.` });
    } catch (error) {
      announce({ type: 'error', text: `Log level not saved: ${(error as Error).message}` });
    }
  };

  // Only this key is posted: the other [collection] keys (reread_window, request_timeout,
  // max_retries) are left as the admin set them in the .conf file.
  const saveCollection = async () => {
    try {
      await rest.update(endpoint(CONF, 'collection'), { resident: resident ? '1' : '0' });
      announce({ type: 'success', text: `Resident collector ${resident ? 'on' : 'off'}: restart Splunk to apply.` });
    } catch (error) {
      announce({ type: 'error', text: `Collection settings not saved: ${(error as Error).message}` });
    }
  };

  if (!loaded) return <Paragraph>Loading…</Paragraph>;
  return (
    <>
      <section aria-labelledby="proxy-heading" style={SECTION}>
        <Heading level={2} id="proxy-heading">
          Proxy
        </Heading>
        <form
          aria-label="Proxy"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void saveProxy();
          }}
        >
          <Switch appearance="toggle" selected={proxy.proxy_enabled === '1'} onClick={() => set('proxy_enabled')(proxy.proxy_enabled === '1' ? '0' : '1')}>
            Use a proxy for Entra ID and Microsoft Graph
          </Switch>
          <TextField label="Proxy URL" name="proxy_url" value={proxy.proxy_url} onChange={set('proxy_url')} error={errors.proxy_url} required={proxy.proxy_enabled === '1'} help="http:// or https:// with a port, e.g. http://proxy.example.com:8080." />
          <TextField label="Proxy user" name="proxy_username" value={proxy.proxy_username} onChange={set('proxy_username')} help="Optional." />
          <TextField
            label="Proxy password"
            name="proxy_password"
            type="password"
            value={proxy.password}
            onChange={set('password')}
            placeholder={proxy.proxy_username ? 'Leave empty to keep the stored password.' : undefined}
            help="Stored encrypted in Splunk; never shown again."
          />
          <div style={TOOLBAR}>
            <Button appearance="primary" label="Save proxy" type="submit" />
          </div>
        </form>
      </section>
      <section aria-labelledby="logging-heading" style={SECTION}>
        <Heading level={2} id="logging-heading">
          Logging
        </Heading>
        <SelectField label="Log level" name="loglevel" value={loglevel} onChange={setLoglevel} help="What the inputs write to splunkd.log (index=_internal)." options={LOG_LEVELS.map((l) => ({ value: l, label: l }))} />
        <div style={TOOLBAR}>
          <Button appearance="primary" label="Save log level" onClick={() => void saveLogging()} />
        </div>
      </section>
      <section aria-labelledby="collection-heading" style={SECTION}>
        <Heading level={2} id="collection-heading">
          Collection
        </Heading>
        <ControlGroup
          label="Resident collector"
          labelPosition="top"
          help="One process per input type instead of one per poll, for forwarders with many inputs. Restart Splunk to apply."
        >
          <Checkbox name="resident" checked={resident} onChange={(_e, d) => setResident(d.checked)} />
        </ControlGroup>
        <div style={TOOLBAR}>
          <Button appearance="primary" label="Save collection settings" onClick={() => void saveCollection()} />
        </div>
      </section>
    </>
  );
}
