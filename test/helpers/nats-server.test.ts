import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { expect, it } from 'vitest';
import { startNatsServer } from './nats-server.js';

it('starts JetStream on loopback: duplicates dropped by message id, the store kept across a kill -9', async () => {
  const s = await startNatsServer();
  try {
    const nc = await connect({ servers: s.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: 'T',
      subjects: ['t.*'],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: 24 * 3600 * 1e9,
    });
    const js = jetstream(nc);
    await js.publish('t.a', 'x', { msgID: 'one' });
    const b = await js.publish('t.a', 'x', { msgID: 'one' });
    expect(b.duplicate).toBe(true);
    await nc.close();
    await s.kill();
    await s.start();
    const nc2 = await connect({ servers: s.url });
    const jsm2 = await jetstreamManager(nc2);
    expect((await jsm2.streams.info('T')).state.messages).toBe(1);
    await nc2.close();
  } finally {
    await s.remove();
  }
}, 30000);
