/**
 * Rules every store engine applies the same way: the direct-pair key, member lists, the
 * conversation preview, link preview payloads, read limits and the inbox cursor. Kept here
 * so the engines cannot drift apart on what the contract suite checks.
 */
import { ProtocolError, type ConvEvent, type LinkPreview } from '../protocol';
import type { NewConversation } from './types';

/**
 * The unique key of a direct conversation: both ids sorted and joined by '|'. Throws
 * bad_request unless there are exactly two distinct members without '|' in their ids.
 */
export function directKeyOf(userIds: readonly string[]): string {
  if (userIds.length !== 2 || userIds[0] === userIds[1] || userIds.some((id) => id.includes('|'))) {
    throw new ProtocolError('bad_request', 'a direct conversation has exactly two distinct members');
  }
  const [a, b] = userIds[0] < userIds[1] ? userIds : [userIds[1], userIds[0]];
  return `${a}|${b}`;
}

/** The other side of a direct conversation, read from its key. */
export function peerFromDirectKey(directKey: string | null, userId: string): string | null {
  if (directKey === null) return null;
  const sep = directKey.indexOf('|');
  const a = directKey.slice(0, sep);
  return a === userId ? directKey.slice(sep + 1) : a;
}

/** A repeated user id would collide on (conv_id, user_id); the first role given wins. */
export function uniqueMembers(members: NewConversation['members']): NewConversation['members'] {
  const seen = new Set<string>();
  return members.filter((m) => (seen.has(m.user_id) ? false : (seen.add(m.user_id), true)));
}

/** Preview length in UTF-16 units. */
const previewChars = 100;

/** The first 100 UTF-16 units of a body, never ending in half a surrogate pair. */
export function previewOf(body: string): string {
  if (body.length <= previewChars) return body;
  const code = body.charCodeAt(previewChars - 1);
  return body.slice(0, code >= 0xd800 && code <= 0xdbff ? previewChars - 1 : previewChars);
}

/** The stored payload of a link_preview event (and of the message it folds into). */
export function previewOfEvent(ev: ConvEvent): LinkPreview {
  return {
    url: ev.url ?? '',
    title: ev.title ?? null,
    description: ev.description ?? null,
    image_url: ev.image_url ?? null,
    site_name: ev.site_name ?? null,
  };
}

/** Limits below 1 (or not numbers) read nothing; SQLite would read a negative LIMIT as "all". */
export function clampLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

/** Opaque inbox cursor: base64url of "updated_at:conv_id" (conv ids may contain ':'). */
export function encodeCursor(updatedAt: number, convId: string): string {
  return Buffer.from(`${updatedAt}:${convId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const sep = text.indexOf(':');
  const updatedAt = Number(text.slice(0, sep));
  if (sep <= 0 || !Number.isSafeInteger(updatedAt)) throw new ProtocolError('bad_request', 'invalid inbox cursor');
  return [updatedAt, text.slice(sep + 1)];
}
