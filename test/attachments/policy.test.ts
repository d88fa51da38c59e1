/** The type rules of uploads (src/attachments/policy.ts): declared against sniffed, allowed types, names. */
import { ProtocolError } from '../../src/protocol';
import { cleanName, resolveType, type AttachmentLimits } from '../../src/attachments';
import { sniffType } from '../../src/media';
import { loadConfig } from '../../src/config';

const limits: AttachmentLimits = loadConfig({}).attachments;
const jpeg = sniffType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
const webm = sniffType(Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84]), Buffer.from('webm')]));
const zip = sniffType(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]));
const exe = sniffType(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(64)]));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('accepted');
}

test('the sniffed type decides; the declared one must agree', () => {
  expect(resolveType('image/jpeg', jpeg, limits)).toEqual({ kind: 'image', contentType: 'image/jpeg' });
  expect(resolveType('image/jpg', jpeg, limits)).toEqual({ kind: 'image', contentType: 'image/jpeg' });
  expect(refusal(() => resolveType('image/png', jpeg, limits))).toMatch(/type mismatch: declared image\/png, but the bytes are image\/jpeg/);
  expect(refusal(() => resolveType('image/jpeg', exe, limits))).toMatch(/type mismatch/);
  expect(refusal(() => resolveType('application/pdf', exe, limits))).toMatch(/type mismatch/);
});

test('a voice note from MediaRecorder (audio/webm) is audio, though WebM sniffs as video', () => {
  expect(resolveType('audio/webm', webm, limits)).toEqual({ kind: 'audio', contentType: 'audio/webm' });
  expect(resolveType('video/webm', webm, limits)).toEqual({ kind: 'video', contentType: 'video/webm' });
});

test('office documents are zip containers of their own type; text cannot be sniffed and is taken as declared', () => {
  const docx = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  expect(resolveType(docx, zip, limits)).toEqual({ kind: 'file', contentType: docx });
  expect(resolveType('text/plain; charset=utf-8', sniffType(Buffer.from('hello')), limits)).toEqual({ kind: 'file', contentType: 'text/plain' });
  // An executable declared as something unsniffable is still only allowed if the type is.
  expect(refusal(() => resolveType('application/x-msdownload', exe, limits))).toMatch(/not allowed/);
});

test('names lose paths, control and bidi characters, and are kept to 255 characters', () => {
  expect(cleanName('../../etc/passwd')).toBe('passwd');
  expect(cleanName('C:\\Users\\me\\photo.jpg')).toBe('photo.jpg');
  expect(cleanName('evil\u202egpj.exe')).toBe('evilgpj.exe');
  expect(cleanName('a\nb\u0000c.txt')).toBe('abc.txt');
  expect(cleanName('..')).toBe('file');
  expect([...cleanName('x'.repeat(300))].length).toBe(255);
});
