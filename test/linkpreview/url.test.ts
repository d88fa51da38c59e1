/** firstUrl: what counts as the link of a message. */
import { firstUrl } from '../../src/linkpreview';

test.each<[string, string | null]>([
  ['see https://example.com/a?b=1#c now', 'https://example.com/a?b=1#c'],
  ['HTTP://Example.com/Path', 'HTTP://Example.com/Path'],
  ['HtTpS://example.com', 'HtTpS://example.com'],
  ['first http://a.example/ then https://b.example/', 'http://a.example/'],
  ['ends a sentence: https://example.com/page.', 'https://example.com/page'],
  ['punctuation https://example.com/x?!;:,', 'https://example.com/x'],
  ['(see https://example.com/x)', 'https://example.com/x'],
  ['[https://example.com/x]', 'https://example.com/x'],
  ['{https://example.com/x}', 'https://example.com/x'],
  ['"https://example.com/x"', 'https://example.com/x'],
  ["'https://example.com/x'", 'https://example.com/x'],
  ['<https://example.com/x>', 'https://example.com/x'],
  ['https://en.wikipedia.org/wiki/Mercury_(planet)', 'https://en.wikipedia.org/wiki/Mercury_(planet)'],
  ['(https://en.wikipedia.org/wiki/Mercury_(planet))', 'https://en.wikipedia.org/wiki/Mercury_(planet)'],
  ['about https://en.wikipedia.org/wiki/Mercury_(planet).', 'https://en.wikipedia.org/wiki/Mercury_(planet)'],
  ['line\nhttps://example.com/a\tmore', 'https://example.com/a'],
  ['http://[::1]:8080/x', 'http://[::1]:8080/x'],
  ['no links here', null],
  ['ftp://example.com/file', null],
  ['javascript:alert(1)', null],
  ['example.com without a scheme', null],
  ['http:// nothing after the scheme', null],
  ['', null],
  // A candidate that does not parse is skipped for the next one.
  ['http://exa%mple.com https://ok.example/', 'https://ok.example/'],
  ['http://:80/ https://ok.example/', 'https://ok.example/'],
  ['http://[::1 https://ok.example/', 'https://ok.example/'],
])('firstUrl(%j) = %j', (body, expected) => {
  expect(firstUrl(body)).toBe(expected);
});

test('URLs longer than 2048 characters are not links', () => {
  const long = `https://example.com/${'a'.repeat(2048)}`;
  expect(firstUrl(long)).toBeNull();
  expect(firstUrl(`${long} https://example.com/short`)).toBe('https://example.com/short');
  const limit = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
  expect(limit).toHaveLength(2048);
  expect(firstUrl(limit)).toBe(limit);
});
