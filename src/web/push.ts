/**
 * Web Push in this browser: the service worker (sw.ts at /sw.js), the browser's push
 * subscription and the server's registration of this device. Nothing here runs on page
 * load except reading the state: permission is asked for only by `turnOn`, from a click.
 */
import { ApiError, type ChatClient } from '../client';
import { isOpenChat } from './sw-message';

/** `on`: permission granted and a subscription held; `denied`: blocked in the browser's site settings. */
export type PushStatus = 'unsupported' | 'denied' | 'off' | 'on';

const workerUrl = '/sw.js';

export function pushSupported(): boolean {
  return window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const reg = await navigator.serviceWorker.getRegistration('/');
  return (await reg?.pushManager.getSubscription()) ?? null;
}

/** Reads the state without asking anything. */
export async function pushStatus(): Promise<PushStatus> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  if (Notification.permission !== 'granted') return 'off';
  return (await currentSubscription()) ? 'on' : 'off';
}

/**
 * Asks for permission, installs the service worker, subscribes with the server's VAPID key
 * (replacing a subscription made with another key) and registers it as this device.
 */
export async function turnOn(client: ChatClient): Promise<PushStatus> {
  if (!pushSupported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  await navigator.serviceWorker.register(workerUrl);
  // subscribe() needs an active worker, which `ready` waits for.
  const reg = await navigator.serviceWorker.ready;
  const key = base64urlBytes(await client.vapidKey());
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameBytes(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await client.registerPush({ platform: 'web', webpush: sub.toJSON() });
  return 'on';
}

/** Unsubscribes in the browser and removes the server's registration (none there is fine). */
export async function turnOff(client: ChatClient): Promise<PushStatus> {
  if (pushSupported()) await (await currentSubscription())?.unsubscribe();
  try {
    await client.unregisterPush();
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'not_found')) throw err;
  }
  return pushSupported() && Notification.permission === 'denied' ? 'denied' : 'off';
}

/**
 * On start, while notifications are on: registers the subscription again. The server drops
 * a subscription its push service called gone, and browsers rotate them; this is idempotent.
 */
export async function refreshPush(client: ChatClient): Promise<void> {
  if ((await pushStatus()) !== 'on') return;
  const sub = await currentSubscription();
  if (sub) await client.registerPush({ platform: 'web', webpush: sub.toJSON() });
}

/** Calls `open` when the service worker forwards a notification click to this tab; returns the unsubscribe. */
export function onOpenChat(open: (convId: string) => void): () => void {
  if (!('serviceWorker' in navigator)) return () => undefined;
  const listener = (e: MessageEvent) => {
    if (isOpenChat(e.data)) open(e.data.conv_id);
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}

function base64urlBytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

/**
 * Closes this browser's notifications of a conversation just read here. Other devices hear
 * of the read from the server (a retraction push), but a browser does not push to itself,
 * and Safari subscriptions get no retractions at all (see the server's takesSilentPush).
 */
export function closeNotifications(convId: string): void {
  if (!('serviceWorker' in navigator)) return;
  void navigator.serviceWorker
    .getRegistration('/')
    .then(async (reg) => {
      for (const n of (await reg?.getNotifications({ tag: convId })) ?? []) n.close();
    })
    .catch(() => undefined);
}
