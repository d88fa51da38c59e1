/** The web client's live inbox previews say what the server's rows say. */
import type { Attachment, AttachmentKind } from '../../src/client';
import { previewOf } from '../../src/store/common';
import { messagePreview } from '../../src/web/preview';

const att = (kind: AttachmentKind, name = 'report.pdf'): Attachment => ({
  id: 'a_' + Math.random().toString(36).slice(2),
  kind,
  content_type: 'application/octet-stream',
  size: 1,
  name,
  width: null,
  height: null,
  placeholder: null,
  thumbnail: null,
  display: null,
});

test.each([
  ['one image', '', [att('image')], '📷 Photo'],
  ['three images', '', [att('image'), att('image'), att('image')], '📷 3 photos'],
  ['a video', '', [att('video')], '🎥 Video'],
  ['an audio clip', ' ', [att('audio')], '🎤 Audio'],
  ['one file', '', [att('file', 'report.pdf')], '📎 report.pdf'],
  ['two files', '', [att('file'), att('file')], '📎 2 files'],
  ['mixed', '', [att('image'), att('file')], '📎 2 attachments'],
  ['text with a photo', 'from the beach', [att('image')], 'from the beach'],
  ['text only', 'hello', [], 'hello'],
])('%s', (_name, body, list, expected) => {
  expect(messagePreview(body, list)).toBe(expected);
  expect(previewOf(body, list)).toBe(expected);
});
