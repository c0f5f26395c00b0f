import { describe, expect, it } from 'vitest';
import { runLoop } from '../../src/service/service-loop.js';

/** The loop on an injected timeline: the wait advances a clock instead of sleeping. */
function timeline() {
  const clock = { time: 0 };
  const ticks: number[] = [];
  const wait = async (ms: number) => {
    clock.time += ms;
  };
  return { clock, ticks, wait, tick: async () => void ticks.push(clock.time) };
}

describe('runLoop', () => {
  it('ticks every tickMs until the signal', async () => {
    const t = timeline();
    const controller = new AbortController();
    const tick = async () => {
      await t.tick();
      if (t.clock.time >= 20_000) controller.abort();
    };
    const count = await runLoop({
      tick,
      wait: t.wait,
      tickMs: 5_000,
      signal: controller.signal,
      maxTicks: 100,
    });
    expect(count).toBe(5);
    expect(t.ticks).toEqual([0, 5_000, 10_000, 15_000, 20_000]);
  });

  it('once: one tick, no wait', async () => {
    const t = timeline();
    const count = await runLoop({
      tick: t.tick,
      wait: t.wait,
      tickMs: 5_000,
      signal: new AbortController().signal,
      once: true,
    });
    expect(count).toBe(1);
    expect(t.clock.time).toBe(0);
  });

  it('a signal already aborted runs nothing', async () => {
    const t = timeline();
    const count = await runLoop({
      tick: t.tick,
      wait: t.wait,
      tickMs: 5_000,
      signal: AbortSignal.abort(),
      maxTicks: 10,
    });
    expect(count).toBe(0);
  });
});
