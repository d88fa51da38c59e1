/**
 * Typing indicators, both ways: who is typing in each conversation (TYPING frames), and
 * this user's own "started" / "stopped", sent at most every 3 s while they keep typing.
 */
import type { TypingState } from '../client';

const refreshMs = 3000;

export class Typing {
  private readonly incoming = new Map<string, Set<string>>();
  private readonly lastSent = new Map<string, number>();

  /** @param sendTyping sends a TYPING frame; false when it could not go (not connected), so it is retried. */
  constructor(private readonly sendTyping: (convId: string, state: TypingState) => boolean) {}

  /** Who is typing in the conversation now. */
  who(convId: string): string[] {
    return [...(this.incoming.get(convId) ?? [])];
  }

  /** Another member's TYPING frame. */
  seen(convId: string, userId: string, state: TypingState): void {
    let set = this.incoming.get(convId);
    if (state === 'started') {
      if (!set) this.incoming.set(convId, (set = new Set()));
      set.add(userId);
    } else if (set) {
      set.delete(userId);
      if (!set.size) this.incoming.delete(convId);
    }
  }

  /** Disconnected: no "stopped" will come for what was shown, so nobody is shown typing. */
  clear(): void {
    this.incoming.clear();
  }

  /** Called on every keystroke in the composer: "started", refreshed every 3 s while typing. */
  typed(convId: string, text: string): void {
    if (text.trim() === '') {
      this.stop(convId);
      return;
    }
    const now = Date.now();
    const last = this.lastSent.get(convId) ?? 0;
    if (now - last < refreshMs) return;
    if (this.sendTyping(convId, 'started')) this.lastSent.set(convId, now);
  }

  /** Sends "stopped" if "started" was sent (the composer was cleared, or the message went). */
  stop(convId: string): void {
    if (!this.lastSent.has(convId)) return;
    this.lastSent.delete(convId);
    this.sendTyping(convId, 'stopped');
  }
}
