/**
 * The web client's service worker (scripts/build-web.js → dist/web/sw.js, served at /sw.js
 * so its scope is the whole app). It only handles notifications; it caches nothing.
 * - `push`: the server's payload (`PushPayload`, src/protocol/frames.ts). `message` shows
 *   or replaces the conversation's notification (tag = conversation); `retract` (read on
 *   another device) closes it. Both set the app badge where the browser has one.
 * - `notificationclick`: focuses an open tab and asks it to open the chat, or opens one.
 * Registered only from the "Turn on notifications" control (src/web/push.ts), never on load.
 * Type-checked by tsconfig.sw.json (the WebWorker lib), not tsconfig.web.json (DOM).
 */
import type { PushPayload } from '../client/push';
import { chatPath, type OpenChatMessage } from './sw-message';

// The WebWorker lib types `self` as any worker; this script only ever runs as a service worker.
const sw = self as unknown as ServiceWorkerGlobalScope;

// A new version takes over at once: it holds no state, and an old one would keep showing
// notifications the old way until every tab closed.
sw.addEventListener('install', () => void sw.skipWaiting());
sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

sw.addEventListener('push', (event) => {
  const payload = parsePayload(event.data);
  if (payload) event.waitUntil(onPush(payload));
});

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const convId = (event.notification.data as { conv_id?: unknown } | null)?.conv_id;
  if (typeof convId === 'string') event.waitUntil(openChat(convId));
});

/** The payload, or null for anything that is not one (nothing is shown for it). */
function parsePayload(data: PushMessageData | null): PushPayload | null {
  if (!data) return null;
  try {
    const p = data.json() as Partial<PushPayload>;
    if ((p.kind !== 'message' && p.kind !== 'retract') || typeof p.conv_id !== 'string') return null;
    return { kind: p.kind, conv_id: p.conv_id, seq: Number(p.seq) || 0, title: String(p.title ?? ''), body: String(p.body ?? ''), badge: Number(p.badge) || 0, tag: typeof p.tag === 'string' ? p.tag : p.conv_id };
  } catch {
    return null;
  }
}

async function onPush(p: PushPayload): Promise<void> {
  if (p.kind === 'message') {
    await sw.registration.showNotification(p.title || 'New message', { body: p.body, tag: p.tag, data: { conv_id: p.conv_id, seq: p.seq } });
  } else {
    for (const n of await sw.registration.getNotifications({ tag: p.tag })) n.close();
  }
  await setBadge(p.badge);
}

/** The app badge (installed apps, some browsers); silently nothing where there is none. */
async function setBadge(count: number): Promise<void> {
  const nav = sw.navigator as Partial<Pick<WorkerNavigator, 'setAppBadge' | 'clearAppBadge'>>;
  try {
    if (count > 0) await nav.setAppBadge?.(count);
    else await nav.clearAppBadge?.();
  } catch {
    // Not allowed here (not installed, no permission): the badge is a nicety.
  }
}

/** An open tab of the app (the focused one first) is focused and told to open the chat; otherwise a new one opens on it. */
async function openChat(convId: string): Promise<void> {
  const tabs = (await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })) as WindowClient[];
  const tab = tabs.find((t) => t.focused) ?? tabs[0];
  if (tab) {
    const message: OpenChatMessage = { type: 'open-chat', conv_id: convId };
    tab.postMessage(message);
    await tab.focus().catch(() => undefined);
    return;
  }
  await sw.clients.openWindow(chatPath(convId));
}
