// The configuration page's entry (bundled to appserver/static/configuration.js by build.mjs).
import { createRoot } from 'react-dom/client';
import { SplunkThemeProvider } from '@splunk/themes';
import { App } from './App.js';

const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
createRoot(root).render(
  <SplunkThemeProvider family="prisma" colorScheme="light" density="comfortable">
    <App />
  </SplunkThemeProvider>,
);
