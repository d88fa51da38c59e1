/** Shared fixtures of the Store contract suite: ids, timestamps and event builders. */
import { newId, type Attachment, type ConvEvent, type EventKind } from '../../src/protocol';
import type { AppendItem, NewUser, Store } from '../../src/store';

/** Base timestamp of the suite; event seq N gets ts t0 + N * 1000. */
export const t0 = 1_700_000_000_000;

/** What each part of the suite gets: the current test's store (replaced before every test). */
export interface ContractContext {
  store(): Store;
}

/** A new user with a random id and the given (or a random) username. */
export function newUser(name = newId('name')): NewUser {
  return { user_id: newId('u'), username: name, display_name: `Display ${name}`, password_hash: 'hash', created_at: t0 };
}

/** An event of any kind with the suite's ts convention. */
export function event(convId: string, seq: number, sender: string, kind: EventKind, fields: Partial<ConvEvent> = {}): ConvEvent {
  return { conv_id: convId, seq, ts: t0 + seq * 1000, sender_id: sender, kind, ...fields };
}

/** A message item with every field a SEND fills in and a fresh idempotency key. */
export function message(convId: string, seq: number, sender: string, body = `message ${seq}`, fields: Partial<ConvEvent> = {}): AppendItem {
  return {
    event: event(convId, seq, sender, 'message', {
      body,
      reply_to: null,
      attachments: [],
      mentions: [],
      client_msg_id: newId('m'),
      ...fields,
    }),
  };
}

/** A reaction, edit or delete item aimed at `target`, with a fresh idempotency key. */
export function targeted(
  convId: string,
  seq: number,
  sender: string,
  kind: 'reaction' | 'edit' | 'delete',
  target: number,
  fields: Partial<ConvEvent> = {},
): AppendItem {
  return { event: event(convId, seq, sender, kind, { target_seq: target, client_msg_id: newId('m'), ...fields }) };
}

/** Creates a group of `memberIds` (the first one admin) and returns its id. */
export async function group(store: Store, memberIds: string[], createdAt = t0, title: string | null = 'group'): Promise<string> {
  const convId = newId('c');
  const members = memberIds.map((user_id, i) => ({ user_id, role: i === 0 ? ('admin' as const) : ('member' as const) }));
  await store.createConversation({ conv_id: convId, type: 'group', title, created_at: createdAt, members });
  return convId;
}

/** An image attachment as a message carries it before its display rendition is made. */
export function attachment(id: string, fields: Partial<Attachment> = {}): Attachment {
  return {
    id,
    kind: 'image',
    content_type: 'image/jpeg',
    size: 123_456,
    name: `${id}.jpg`,
    width: 4032,
    height: 3024,
    placeholder: 'k0oGLQaSVsN1',
    thumbnail: { width: 320, height: 240, size: 9_000, content_type: 'image/webp' },
    display: null,
    ...fields,
  };
}
