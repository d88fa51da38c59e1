/**
 * What the service worker (sw.ts) posts to an open tab. Shared by both sides; no DOM or
 * worker types here, so both tsconfig.web.json and tsconfig.sw.json compile it.
 */

/** A notification was clicked: the tab should open this conversation. */
export interface OpenChatMessage {
  type: 'open-chat';
  conv_id: string;
}

export function isOpenChat(data: unknown): data is OpenChatMessage {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'open-chat' && typeof (data as { conv_id?: unknown }).conv_id === 'string';
}

/** The hash route of a conversation (the app's `goTo` writes the same). */
export function chatPath(convId: string): string {
  return `/#/c/${encodeURIComponent(convId)}`;
}
