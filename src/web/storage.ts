/**
 * localStorage, namespaced and fail-soft: a full or disabled storage (private mode,
 * quota) degrades to an in-memory session instead of breaking the app.
 */
import { newId } from '../protocol/ids';
import type { ChatTransportOption } from '../client';

const prefix = 'relay.';

export function readJson<T>(key: string): T | undefined {
  try {
    const text = localStorage.getItem(prefix + key);
    return text === null ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

export function writeJson(key: string, value: unknown): void {
  try {
    localStorage.setItem(prefix + key, JSON.stringify(value));
  } catch {
    // Quota or disabled storage: the app keeps working, a reload just starts colder.
  }
}

export function remove(key: string): void {
  try {
    localStorage.removeItem(prefix + key);
  } catch {
    // As above.
  }
}

/** One id per browser profile, kept across sign-outs: the server keys sessions and push on it. */
export function deviceId(): string {
  let id = readJson<string>('device_id');
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) {
    id = newId('web');
    writeJson('device_id', id);
  }
  return id;
}

export interface Session {
  token: string;
  user_id: string;
  username: string;
  display_name: string;
}

export function loadSession(): Session | null {
  const s = readJson<Session>('session');
  return s && typeof s.token === 'string' && typeof s.user_id === 'string' ? s : null;
}

export function saveSession(s: Session | null): void {
  if (s) writeJson('session', s);
  else remove('session');
}

const transports: readonly ChatTransportOption[] = ['auto', 'websocket', 'longpoll'];

function isTransport(v: unknown): v is ChatTransportOption {
  return typeof v === 'string' && (transports as readonly string[]).includes(v);
}

/** `?transport=` in the URL wins (handy for tests and debugging), then the saved setting, then 'auto'. */
export function transportPreference(search: string): { value: ChatTransportOption; fromUrl: boolean } {
  const fromUrl = new URLSearchParams(search).get('transport');
  if (isTransport(fromUrl)) return { value: fromUrl, fromUrl: true };
  const saved = readJson<string>('transport');
  return { value: isTransport(saved) ? saved : 'auto', fromUrl: false };
}

export function saveTransport(value: ChatTransportOption): void {
  writeJson('transport', value);
}
