export type NatsCore = typeof import('@nats-io/transport-node');
export type NatsJetStream = typeof import('@nats-io/jetstream');
export interface NatsModules {
  core: NatsCore;
  js: NatsJetStream;
}

/**
 * The NATS client is loaded when a route is first opened, not with the plugin: every rmm command
 * runs the plugins' hooks (to know their transports and option schemas), and most never queue.
 */
let modules: Promise<NatsModules> | undefined;
export function loadNats(): Promise<NatsModules> {
  modules ??= Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]).then(
    ([core, js]) => ({ core, js }),
  );
  return modules;
}
