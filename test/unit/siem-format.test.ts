import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toSiemRecord } from '../../src/sources/mde-alerts/siemFormat.js';

const evidence = (over: Record<string, unknown>) => ({
  entityType: 'File', evidenceCreationTime: '2024-05-01T10:00:00Z', sha1: null, sha256: null, fileName: null, filePath: null, processId: null,
  processCommandLine: null, ipAddress: null, url: null, accountName: null, domainName: null, detectionStatus: null, ...over,
});

const alert = {
  id: 'da637551291029560813_1858042634',
  incidentId: 28029,
  severity: 'High',
  status: 'Resolved',
  detectionSource: 'WindowsDefenderAv',
  detectorId: '87b14e20-d7f9-4df1-b226-0b21b56f06db',
  category: 'Ransomware',
  threatFamilyName: 'LockBit',
  threatName: 'Ransom:Win32/LockBit.MK',
  title: "'LockBit' ransomware was prevented",
  description: 'Blocked.',
  alertCreationTime: '2024-05-01T09:23:32.5064042Z',
  lastEventTime: '2024-05-01T09:21:31.799Z',
  lastUpdateTime: '2024-05-01T09:30:00Z',
  machineId: '8947482d32427230c3dea610f6bbbb8c525a5827',
  computerDnsName: 'wks-3764.contoso.com',
  rbacGroupName: 'Workstations EU',
  mitreTechniques: ['T1486'],
  relatedUser: { userName: 'fallback', domainName: 'FALLBACK' },
  evidence: [
    evidence({ entityType: 'Process', sha1: 'p1', sha256: 'p256', fileName: 'update.exe', filePath: 'C:\\Users\\d\\Downloads', processCommandLine: 'update.exe --silent', detectionStatus: 'Prevented' }),
    evidence({ entityType: 'File', sha1: 'f1', sha256: 'f256', fileName: 'payload.dll', filePath: 'C:\\Temp', detectionStatus: 'Blocked' }),
    evidence({ entityType: 'User', accountName: 'diego', domainName: 'CONTOSO' }),
    evidence({ entityType: 'Ip', ipAddress: '203.0.113.7' }),
    evidence({ entityType: 'Url', url: 'http://203.0.113.44/p.bin' }),
  ],
};

test('an alert becomes one flat record with the SIEM API names of Microsoft\'s mapping table', () => {
  const r = toSiemRecord(alert, 'https://security.microsoft.com');
  assert.deepEqual(r, {
    AlertTime: '2024-05-01T09:23:32.5064042Z',
    ComputerDnsName: 'wks-3764.contoso.com',
    AlertTitle: "'LockBit' ransomware was prevented",
    Category: 'Ransomware',
    Severity: 'High',
    AlertId: 'da637551291029560813_1858042634',
    LinkToWDATP: 'https://security.microsoft.com/alerts/da637551291029560813_1858042634',
    // File evidence first, then a process image.
    Sha1: 'f1',
    FileName: 'payload.dll',
    FilePath: 'C:\\Temp',
    IPAddress: '203.0.113.7',
    URL: 'http://203.0.113.44/p.bin',
    IoaDefinitionId: '87b14e20-d7f9-4df1-b226-0b21b56f06db',
    UserName: 'diego',
    LastProcessedTimeUtc: '2024-05-01T09:21:31.799Z',
    ThreatCategory: 'T1486',
    ThreatFamilyName: 'LockBit',
    ThreatName: 'Ransom:Win32/LockBit.MK',
    RemediationAction: 'Blocked',
    RemediationIsSuccess: true,
    Source: 'WindowsDefenderAv',
    Sha256: 'f256',
    WasExecutingWhileDetected: false,
    UserDomain: 'CONTOSO',
    LogOnUsers: 'CONTOSO\\diego',
    MachineDomain: 'contoso.com',
    MachineName: 'wks-3764',
    FileHash: 'f1',
    DeviceID: '8947482d32427230c3dea610f6bbbb8c525a5827',
    MachineGroup: 'Workstations EU',
    Description: 'Blocked.',
    CommandLine: 'update.exe --silent',
    IncidentLinkToWDATP: 'https://security.microsoft.com/incidents/28029',
    LinkToMTP: 'https://security.microsoft.com/alerts/da637551291029560813_1858042634',
    IncidentLinkToMTP: 'https://security.microsoft.com/incidents/28029',
  });
});

test('fields without a source are left out, never null; odd shapes never leak objects', () => {
  const r = toSiemRecord({ id: 'x', lastUpdateTime: 't', title: { nested: true }, evidence: 'not-an-array', relatedUser: { userName: 'u', domainName: null }, computerDnsName: 'host' }, 'https://security.microsoft.us');
  assert.deepEqual(r, {
    AlertId: 'x',
    ComputerDnsName: 'host',
    LinkToWDATP: 'https://security.microsoft.us/alerts/x',
    LinkToMTP: 'https://security.microsoft.us/alerts/x',
    UserName: 'u',
    MachineName: 'host',
  });
  for (const absent of ['IocName', 'Md5', 'ReportId', 'Actor', 'AlertPart', 'InternalIPV4List']) assert.equal(absent in r, false);
});

test('lists become one string, as the SIEM API sent them', () => {
  const r = toSiemRecord({ ...alert, mitreTechniques: ['T1059.001', 'T1027'], evidence: [evidence({ entityType: 'User', accountName: 'a', domainName: 'D' }), evidence({ entityType: 'User', accountName: 'b', domainName: null })] }, 'https://security.microsoft.com');
  assert.equal(r.ThreatCategory, 'T1059.001, T1027');
  assert.equal(r.LogOnUsers, 'D\\a, b');
});

test('a detected (not stopped) process was executing; a Detected file is not a successful remediation', () => {
  const r = toSiemRecord({ ...alert, evidence: [evidence({ entityType: 'Process', fileName: 'x.exe', detectionStatus: 'Detected' })] }, 'https://security.microsoft.com');
  assert.equal(r.WasExecutingWhileDetected, true);
  assert.equal(r.RemediationIsSuccess, false);
  assert.equal(r.UserName, 'fallback', 'relatedUser when there is no user evidence');
});
