/**
 * A signal of its own for each job that reaches a device, all aborted together when the run's
 * signal is (Ctrl-C, SIGTERM, SIGHUP). Plugins listen on the signal they are given for as long as a
 * connection or a command lasts; given the run's own signal, `rmm exec -c 50` had 50 listeners on
 * one signal at once and Node printed a MaxListenersExceededWarning above 10. Now the run's signal
 * has one listener, however wide the run, and each job's signal only its own few. (rmm hostkeys scan
 * passes its scans no signal at all, so it has no such listeners.)
 */
export interface JobSignals {
  /** A signal for one job (aborted already if the run is); call release() when the job ends. */
  open(): { signal: AbortSignal; release(): void };
  /** Removes the one listener on the run's signal. */
  dispose(): void;
}

export function jobSignals(run: AbortSignal | undefined): JobSignals {
  const open = new Set<AbortController>();
  const abortAll = () => {
    for (const controller of open) controller.abort(run?.reason);
  };
  run?.addEventListener('abort', abortAll, { once: true });
  return {
    open() {
      const controller = new AbortController();
      if (run?.aborted) controller.abort(run.reason);
      else open.add(controller);
      return { signal: controller.signal, release: () => open.delete(controller) };
    },
    dispose() {
      run?.removeEventListener('abort', abortAll);
      open.clear();
    },
  };
}
