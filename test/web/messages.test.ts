/** The web client's messages carry attachments: from events, history and echoes, with `attachment_ready` folded in. */
import type { Attachment, ConvEvent, Message } from '../../src/client';
import { MessageStore } from '../../src/web/messages';

const photo: Attachment = {
  id: 'a_1',
  kind: 'image',
  content_type: 'image/jpeg',
  size: 1000,
  name: 'beach.jpg',
  width: 1200,
  height: 900,
  placeholder: '1QcSHQRnh493V4dIh4eXh1h4kJUI',
  thumbnail: { width: 320, height: 240, size: 900, content_type: 'image/webp' },
  display: null,
};
const ready: Attachment = { ...photo, display: { width: 1200, height: 900, size: 5000, content_type: 'image/webp' } };
const msg = (seq: number, attachments?: Attachment[]): ConvEvent => ({ conv_id: 'c1', seq, ts: seq, sender_id: 'u2', kind: 'message', body: '', attachments });
const readyEv = (target: number, attachment: Attachment | undefined = ready): ConvEvent => ({ conv_id: 'c1', seq: 9, ts: 9, sender_id: 'u2', kind: 'attachment_ready', target_seq: target, attachment });

test('attachment_ready sets the display size of the message it targets, and survives the message seen again', () => {
  const s = new MessageStore();
  s.fold(msg(1, [photo]), 'u1');
  s.fold(msg(2), 'u1');
  const before = s.get('c1', 1)!;
  s.fold(readyEv(1), 'u1');
  expect(s.get('c1', 1)!.attachments[0].display).toEqual(ready.display);
  expect(s.get('c1', 1)).not.toBe(before); // a new object: components see the change
  expect(s.get('c1', 2)!.attachments).toEqual([]);
  s.fold(readyEv(1), 'u1');
  s.fold(msg(1, [photo]), 'u1'); // catch-up replays the message after its attachment_ready
  expect(s.get('c1', 1)!.attachments[0].display).toEqual(ready.display);
  expect(s.confirmed('c1').map((m) => m.seq)).toEqual([1, 2]);
});

test('a deleted message drops its attachments and ignores a late attachment_ready', () => {
  const s = new MessageStore();
  s.fold(msg(1, [photo]), 'u1');
  s.fold({ conv_id: 'c1', seq: 3, ts: 3, sender_id: 'u2', kind: 'delete', target_seq: 1 }, 'u1');
  s.fold(readyEv(1), 'u1');
  expect(s.get('c1', 1)!.attachments).toEqual([]);
});

test('history rows bring their attachments; records saved before attachments restore with none', () => {
  const s = new MessageStore();
  const row = { conv_id: 'c1', seq: 4, ts: 4, sender_id: 'u2', body: '', reply_to: null, reactions: {}, edited_at: null, deleted: false, link_preview: null, attachments: [ready] } as unknown as Message;
  s.mergeHistory('c1', [row], 'u1');
  expect(s.get('c1', 4)!.attachments).toEqual([ready]);
  const old = { ...s.get('c1', 4)!, seq: 5 } as Partial<ReturnType<MessageStore['get']>>;
  delete (old as { attachments?: unknown }).attachments;
  s.restore('c2', [old as never], false);
  expect(s.get('c2', 5)!.attachments).toEqual([]);
});
