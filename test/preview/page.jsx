// The dashboard preview page (bundled by esbuild in test/e2e/dashboard-preview.test.ts): Splunk's
// own Dashboard Studio renderer (@splunk/dashboard-core) with the Enterprise view-only preset,
// and Splunk's validator with the schema of that preset.
import React from 'react';
import { createRoot } from 'react-dom/client';
import * as CoreModule from '@splunk/dashboard-core';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import * as PresetModule from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import * as ThemeModule from '@splunk/themes/SplunkThemeProvider';
import { createSchemaBasedOnPresets } from '@splunk/dashboard-definition/DashboardSchema';
import { DashboardValidator } from '@splunk/dashboard-validation';

// This package is "type": "module", so esbuild gives a CommonJS module's whole exports object as
// its default import; the component is that object's `default`.
const defaultOf = (module) => (module.default && module.default.default) || module.default || module;
const DashboardCore = defaultOf(CoreModule);
const EnterpriseViewOnlyPreset = defaultOf(PresetModule);
const SplunkThemeProvider = defaultOf(ThemeModule);

window.validateDashboard = (definition) => {
  const validator = new DashboardValidator();
  const schemaError = validator.setSchema(createSchemaBasedOnPresets(EnterpriseViewOnlyPreset));
  return { schemaError: schemaError ? String(schemaError) : null, errors: validator.validate(definition) };
};

window.renderDashboard = (definition) => {
  createRoot(document.getElementById('root')).render(
    <SplunkThemeProvider family="enterprise" colorScheme="light" density="compact">
      <DashboardContextProvider preset={EnterpriseViewOnlyPreset} initialDefinition={definition}>
        <DashboardCore width="100%" height="100%" />
      </DashboardContextProvider>
    </SplunkThemeProvider>,
  );
};
