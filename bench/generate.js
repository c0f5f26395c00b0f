// Writes the benchmark inputs: 100,000 Device documents as one file and as 1,000 files of 100,
// plus the sites, groups and policy they refer to, in the shape of examples/.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SITES = ['alpha', 'beta', 'gamma'];
const GROUPS_PER_SITE = 33;

function device(i) {
  const site = SITES[i % SITES.length];
  const group = `${site}-g${String(i % GROUPS_PER_SITE).padStart(2, '0')}`;
  const n = String(i).padStart(6, '0');
  const linux = i % 4 !== 0;
  return `apiVersion: rmm/v1
kind: Device
metadata:
  name: dev-${n}
  labels: {role: ${linux ? 'web' : 'workstation'}, env: prod}
spec:
  hostname: DEV-${n}
  fqdn: dev-${n}.${site}.example.com
  address: 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}
  mac: "00:1A:2B:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}"
  site: ${site}
  groups: [${group}]
  os: ${linux ? 'linux' : 'windows'}
  transport: {type: ${linux ? 'ssh' : 'winrm'}, port: ${linux ? 22 : 5985}, user: rmm, credentialRef: env:RMM_${linux ? 'SSH_KEY' : 'WINRM_PASSWORD'}}
  tags: [prod, ${linux ? 'web' : 'desktop'}]
  customFields: {rack: R${i % 40}, owner: team-${i % 7}}
`;
}

export function fleetDocuments() {
  const docs = [];
  for (const site of SITES) {
    docs.push(
      `apiVersion: rmm/v1\nkind: Site\nmetadata: {name: ${site}}\nspec: {displayName: Site ${site}, timezone: UTC}\n`,
    );
  }
  docs.push(
    'apiVersion: rmm/v1\nkind: Policy\nmetadata: {name: baseline}\nspec:\n  monitors:\n    - {name: cpu, metric: cpu.percent, when: {op: ">", value: 90, for: 5m}, severity: Critical}\n',
  );
  for (const site of SITES) {
    for (let g = 0; g < GROUPS_PER_SITE; g++) {
      const name = `${site}-g${String(g).padStart(2, '0')}`;
      docs.push(
        `apiVersion: rmm/v1\nkind: DeviceGroup\nmetadata: {name: ${name}}\nspec: {site: ${site}, policy: baseline}\n`,
      );
    }
  }
  return docs.join('---\n');
}

/** Returns the two layouts' directories. */
export function generate(root, count = 100_000, filesOfHundred = 1_000) {
  rmSync(root, { recursive: true, force: true });
  const one = path.join(root, 'one-file');
  const many = path.join(root, 'many-files');
  mkdirSync(one, { recursive: true });
  mkdirSync(many, { recursive: true });
  const fleet = fleetDocuments();
  writeFileSync(path.join(one, '00-fleet.yaml'), fleet);
  writeFileSync(path.join(many, '00-fleet.yaml'), fleet);
  const all = [];
  for (let i = 0; i < count; i++) all.push(device(i));
  writeFileSync(path.join(one, 'devices.yaml'), all.join('---\n'));
  const per = Math.ceil(count / filesOfHundred);
  for (let f = 0; f < filesOfHundred; f++) {
    const slice = all.slice(f * per, (f + 1) * per);
    writeFileSync(path.join(many, `devices-${String(f).padStart(4, '0')}.yaml`), slice.join('---\n'));
  }
  return { one, many, devices: count };
}
