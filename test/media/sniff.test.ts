/**
 * sniffType against real heads: files sharp writes (JPEG, PNG, GIF, WebP, AVIF) and, for
 * formats sharp cannot write, the spec's opening bytes.
 */
import sharp from 'sharp';
import { sniffType } from '../../src/media';
import { exeHead } from './fixtures';

const tiny = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366cc' } });

function bytes(...parts: (string | number[])[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
}

/** An ISO BMFF ftyp box: size, 'ftyp', major brand, minor version, compatible brands. */
function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  return bytes([0, 0, 0, size], 'ftyp', major, [0, 0, 0, 0], ...compatible);
}

/** A canonical 44-byte WAV header (PCM, mono, 8 kHz, 16 bit) and no samples. */
function wavHeader(): Buffer {
  const b = Buffer.alloc(44);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  return b;
}

describe('sniffType: images written by sharp', () => {
  it.each([
    ['JPEG', () => tiny().jpeg().toBuffer(), 'image/jpeg'],
    ['PNG', () => tiny().png().toBuffer(), 'image/png'],
    ['GIF', () => tiny().gif().toBuffer(), 'image/gif'],
    ['WebP', () => tiny().webp().toBuffer(), 'image/webp'],
    ['AVIF', () => tiny().avif().toBuffer(), 'image/avif'],
  ])('%s', async (_name, make, contentType) => {
    expect(sniffType(await make())).toEqual({ kind: 'image', contentType });
  });
});

describe('sniffType: magic bytes from the formats\' specs', () => {
  it.each<[string, Buffer, string, string]>([
    ['HEIC (ftyp heic)', ftyp('heic', 'mif1', 'heic'), 'image', 'image/heic'],
    ['HEIF (ftyp mif1)', ftyp('mif1', 'mif1', 'miaf'), 'image', 'image/heif'],
    ['AVIF under a generic mif1 brand', ftyp('mif1', 'mif1', 'avif'), 'image', 'image/avif'],
    ['MP4 (ftyp isom)', ftyp('isom', 'isom', 'iso2', 'avc1', 'mp41'), 'video', 'video/mp4'],
    ['MP4 (ftyp mp42)', ftyp('mp42', 'mp42', 'isom'), 'video', 'video/mp4'],
    ['MOV (ftyp qt)', ftyp('qt  ', 'qt  '), 'video', 'video/quicktime'],
    ['MOV without ftyp (moov atom first)', bytes([0, 0, 0, 8], 'moov'), 'video', 'video/quicktime'],
    ['M4A (ftyp M4A)', ftyp('M4A ', 'M4A ', 'mp42', 'isom'), 'audio', 'audio/mp4'],
    ['WebM (EBML, DocType webm)', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm'), 'video', 'video/webm'],
    ['Matroska (EBML, DocType matroska)', bytes([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x82, 0x88], 'matroska'), 'video', 'video/x-matroska'],
    ['MP3 with ID3v2 tag', bytes('ID3', [0x04, 0x00, 0x00, 0, 0, 0, 0]), 'audio', 'audio/mpeg'],
    ['MP3 bare frame (MPEG-1 layer III)', bytes([0xff, 0xfb, 0x90, 0x64]), 'audio', 'audio/mpeg'],
    ['OGG', bytes('OggS', [0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]), 'audio', 'audio/ogg'],
    ['WAV', wavHeader(), 'audio', 'audio/wav'],
    ['PDF', bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'), 'file', 'application/pdf'],
    ['ZIP (local file header)', bytes('PK', [0x03, 0x04, 0x14, 0x00]), 'file', 'application/zip'],
    ['ZIP (empty archive)', bytes('PK', [0x05, 0x06], new Array<number>(18).fill(0)), 'file', 'application/zip'],
  ])('%s', (_name, head, kind, contentType) => {
    expect(sniffType(head)).toEqual({ kind, contentType });
  });
});

describe('sniffType: everything else is an opaque file', () => {
  const octet = { kind: 'file', contentType: 'application/octet-stream' };

  it('an .exe (MZ) is never an image', () => {
    expect(sniffType(exeHead())).toEqual(octet);
  });

  it('empty, short and zero-filled heads', () => {
    expect(sniffType(Buffer.alloc(0))).toEqual(octet);
    expect(sniffType(Buffer.from([0xff, 0xd8]))).toEqual(octet);
    expect(sniffType(Buffer.from('RIF'))).toEqual(octet);
    expect(sniffType(Buffer.from('PK'))).toEqual(octet);
    expect(sniffType(Buffer.alloc(64))).toEqual(octet);
  });

  it('plain text and a RIFF of another form (AVI)', () => {
    expect(sniffType(Buffer.from('hello, this is not an image'))).toEqual(octet);
    expect(sniffType(bytes('RIFF', [0, 0, 0, 0], 'AVI LIST'))).toEqual(octet);
  });

  it('AAC ADTS frame sync is not taken for MP3', () => {
    expect(sniffType(Buffer.from([0xff, 0xf1, 0x50, 0x80]))).toEqual(octet);
  });
});
