export type Ssh2 = typeof import('ssh2');

/**
 * ssh2 is loaded on the first connection, not with the plugin: every rmm command runs the plugins'
 * hooks (to know their transports and option schemas), and importing ssh2 costs about 0.15 s.
 * It is CommonJS: its named exports are only reliable through the default import.
 */
let ssh2: Promise<Ssh2> | undefined;
export function loadSsh2(): Promise<Ssh2> {
  ssh2 ??= import('ssh2').then((m) => ((m as { default?: Ssh2 }).default ?? m) as Ssh2);
  return ssh2;
}
