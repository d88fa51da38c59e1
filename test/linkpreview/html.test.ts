/** parseMetadata: tag precedence, attribute syntax, entities, limits. Internal file, tested directly for speed. */
import { decodeEntities, parseMetadata } from '../../src/linkpreview/html';

const page = new URL('https://example.com/articles/one?x=1');
const parse = (html: string): ReturnType<typeof parseMetadata> => parseMetadata(html, page);

test('OpenGraph wins over Twitter cards, which win over <title> and meta description', () => {
  const html = `<html><head>
    <title>Plain title</title>
    <meta name="description" content="Plain description">
    <meta name="twitter:title" content="Twitter title">
    <meta name="twitter:description" content="Twitter description">
    <meta name="twitter:image" content="https://cdn.example.com/tw.png">
    <meta property="og:title" content="OG title">
    <meta property="og:description" content="OG description">
    <meta property="og:image" content="https://cdn.example.com/og.png">
    <meta property="og:site_name" content="Example">
  </head></html>`;
  expect(parse(html)).toEqual({
    title: 'OG title',
    description: 'OG description',
    image_url: 'https://cdn.example.com/og.png',
    site_name: 'Example',
  });
});

test('each field falls back on its own', () => {
  const html = `<title>Plain title</title>
    <meta name="twitter:description" content="Twitter description">
    <meta name="description" content="Plain description">
    <meta name="twitter:image:src" content="/tw.png">`;
  expect(parse(html)).toEqual({
    title: 'Plain title',
    description: 'Twitter description',
    image_url: 'https://example.com/tw.png',
    site_name: null,
  });
  expect(parse('<meta name="twitter:title" content="T"><title>Plain</title>').title).toBe('T');
  expect(parse('<meta name="description" content="D">').description).toBe('D');
  // An empty og:title is no title: the next source is used.
  expect(parse('<meta property="og:title" content="  "><title>Plain</title>').title).toBe('Plain');
});

test('og:image variants, relative URLs and non-http schemes', () => {
  expect(parse('<meta property="og:image:url" content="img/a.png">').image_url).toBe('https://example.com/articles/img/a.png');
  expect(parse('<meta property="og:image:secure_url" content="//cdn.example.com/b.png">').image_url).toBe('https://cdn.example.com/b.png');
  expect(parse('<meta property="og:image" content="/c.png?a=1&amp;b=2">').image_url).toBe('https://example.com/c.png?a=1&b=2');
  // A data: or javascript: image is dropped and the next candidate is used.
  expect(parse('<meta property="og:image" content="data:image/png;base64,AAAA"><meta name="twitter:image" content="/t.png">').image_url).toBe(
    'https://example.com/t.png',
  );
  expect(parse('<meta property="og:image" content="javascript:alert(1)">').image_url).toBeNull();
  // The first og:image is the page's main one.
  expect(parse('<meta property="og:image" content="/1.png"><meta property="og:image" content="/2.png">').image_url).toBe('https://example.com/1.png');
});

test('attributes in any order, any quoting, any case', () => {
  const variants = [
    `<meta content="Hello" property="og:title">`,
    `<meta property='og:title' content='Hello'>`,
    `<meta property=og:title content=Hello>`,
    `<META PROPERTY="OG:TITLE" CONTENT="Hello" />`,
    `<meta\n  name="og:title"\n  content = "Hello"/>`,
    `<meta data-x="a>b" property="og:title" content="Hello">`,
  ];
  for (const v of variants) expect(parse(v).title).toBe('Hello');
  // Quotes of the other kind are part of the value.
  expect(parse(`<meta property="og:title" content="It's 'fine'">`).title).toBe("It's 'fine'");
  expect(parse(`<meta property='og:title' content='Say "hi"'>`).title).toBe('Say "hi"');
});

test('entities are decoded and whitespace collapsed', () => {
  const html = `<title>
      Fish &amp; Chips &lt;3 &quot;q&quot; &apos;a&apos; &#65;&#x42;&#X43; caf&#233;&nbsp;bar &unknown; &copy
    </title>`;
  expect(parse(html).title).toBe('Fish & Chips <3 "q" \'a\' ABC café bar &unknown; &copy');
  expect(decodeEntities('&#0;&#x110000;&#xD800;')).toBe('\ufffd\ufffd\ufffd');
  expect(decodeEntities('&AMP;&#128512;')).toBe('&😀');
  expect(parse('<meta property="og:description" content="a\n\n  b\t c">').description).toBe('a b c');
});

test('markup inside comments, scripts and styles is ignored; tags inside <title> are text', () => {
  const html = `<!-- <meta property="og:title" content="commented"> -->
    <script>var s = '<meta property="og:title" content="scripted">'; var t = "<title>no</title>";</script>
    <style>/* <meta property="og:description" content="styled"> */</style>
    <title>Real <b>title</b></title>
    <meta property="og:description" content="real">`;
  expect(parse(html)).toEqual({ title: 'Real <b>title</b>', description: 'real', image_url: null, site_name: null });
});

test('only the first <title> counts, and a truncated one is read to the end', () => {
  expect(parse('<title>One</title><svg><title>Two</title></svg>').title).toBe('One');
  expect(parse('<html><head><title>Cut off ti').title).toBe('Cut off ti');
  expect(parse('<meta property="og:title" content="unterminated').title).toBe('unterminated');
});

test('missing tags give nulls', () => {
  expect(parse('')).toEqual({ title: null, description: null, image_url: null, site_name: null });
  expect(parse('<html><body><p>Just text</p></body></html>')).toEqual({ title: null, description: null, image_url: null, site_name: null });
  expect(parse('<meta property="og:title"><meta content="orphan"><title></title>').title).toBeNull();
});

test('lengths are capped at code point boundaries', () => {
  const emoji = '😀'.repeat(400);
  const title = parse(`<title>${emoji}</title>`).title ?? '';
  expect(Array.from(title)).toHaveLength(300);
  expect(title).toBe('😀'.repeat(300));
  expect(parse(`<meta name="description" content="${'d'.repeat(1500)}">`).description).toHaveLength(1000);
  expect(parse(`<meta property="og:site_name" content="${'s'.repeat(500)}">`).site_name).toHaveLength(200);
});

test('non-ASCII letters before the tags do not shift the scanner', () => {
  // "İ".toLowerCase() is two code units; a naive lower-cased copy would misalign indexes.
  expect(parse(`<p>${'İ'.repeat(50)}</p><meta property="og:title" content="Aligned">`).title).toBe('Aligned');
});
