import { useState } from 'react';
import Heading from '@splunk/react-ui/Heading';
import TabBar from '@splunk/react-ui/TabBar';
import { AccountsPage } from './AccountsPage.js';
import { Announcer } from './Announcer.js';
import { InputsPage } from './InputsPage.js';
import { SettingsPage } from './SettingsPage.js';

const TABS = [
  { id: 'accounts', label: 'Accounts', Page: AccountsPage },
  { id: 'inputs', label: 'Inputs', Page: InputsPage },
  { id: 'settings', label: 'Settings', Page: SettingsPage },
] as const;

export function App() {
  const [tab, setTab] = useState<string>('accounts');
  const Page = TABS.find((t) => t.id === tab)?.Page ?? AccountsPage;
  return (
    <main style={{ padding: '16px 24px', maxWidth: 1200 }}>
      <Heading level={1}>Microsoft Defender XDR Add-on: Configuration</Heading>
      <TabBar activeTabId={tab} onChange={(_e, d) => setTab(String(d.selectedTabId))}>
        {TABS.map((t) => (
          <TabBar.Tab key={t.id} tabId={t.id} label={t.label} />
        ))}
      </TabBar>
      <Announcer key={tab}>
        <div role="tabpanel" aria-label={TABS.find((t) => t.id === tab)?.label} style={{ paddingTop: 16 }}>
          <Page />
        </div>
      </Announcer>
    </main>
  );
}
