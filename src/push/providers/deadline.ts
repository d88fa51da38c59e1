/**
 * One send's deadline, shared by the providers: aborted at `timeoutMs` or when the
 * provider shuts down, whichever comes first. A controller per send tied to the shutdown by
 * a listener that end() removes: an AbortSignal.any() of the long-lived shutdown signal
 * would be kept by it for good (Node 20), one per push.
 */
const TIMEOUT = new Error('timeout');
const CLOSED = new Error('closed');

export interface SendDeadline {
  readonly signal: AbortSignal;
  /** Why the send was cut short, once the signal is aborted. */
  reason(): 'closed' | 'timeout';
  /** Clears the timer and the shutdown listener: call when the send is over. */
  end(): void;
}

export function sendDeadline(timeoutMs: number, shutdown: AbortSignal): SendDeadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
  const onShutdown = (): void => controller.abort(CLOSED);
  shutdown.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: controller.signal,
    reason: () => (controller.signal.reason === CLOSED ? 'closed' : 'timeout'),
    end() {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
    },
  };
}
