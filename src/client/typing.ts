/**
 * Receiver-side typing expiry (docs/protocol.md: TYPING): an indicator lapses 4 s after its
 * last refresh, so a sender that vanished without "stopped" does not type forever.
 */
import type { TypingState } from '../protocol/frames';

export class TypingExpiry {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly timeoutMs: number,
    private readonly expired: (convId: string, userId: string) => void,
  ) {}

  /** Records a TYPING frame: "started" (re)arms the timer, "stopped" disarms it. */
  seen(convId: string, userId: string, state: TypingState): void {
    const key = convId + '\u0000' + userId;
    const old = this.timers.get(key);
    if (old !== undefined) clearTimeout(old);
    this.timers.delete(key);
    if (state !== 'started') return;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.expired(convId, userId);
      }, this.timeoutMs),
    );
  }

  /** Disarms every timer (on close). */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
