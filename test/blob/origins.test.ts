/** The origins the web client's CSP must let uploads go to, per blob engine. */
import { contentSecurityPolicy } from '../../src/api/web';
import { blobOrigins } from '../../src/blob';

describe('blobOrigins', () => {
  test('BLOB=local: none unless a public URL is set, then its origin', () => {
    expect(blobOrigins({ engine: 'local', publicUrl: null })).toEqual([]);
    expect(blobOrigins({ engine: 'local', publicUrl: 'https://files.example.com/' })).toEqual(['https://files.example.com']);
  });

  test('BLOB=s3: the endpoint, and the bucket host without path-style URLs', () => {
    expect(blobOrigins({ engine: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'b1', pathStyle: true })).toEqual(['http://127.0.0.1:9000']);
    expect(blobOrigins({ engine: 's3', endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'relay', pathStyle: false })).toEqual([
      'https://s3.eu-west-1.amazonaws.com',
      'https://relay.s3.eu-west-1.amazonaws.com',
    ]);
  });

  test('the web client policy lets uploads connect there and shows blob: and data: images', () => {
    const csp = contentSecurityPolicy(['http://127.0.0.1:9000']);
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:9000;");
    expect(csp).toMatch(/img-src [^;]*data:[^;]* blob:/);
    expect(contentSecurityPolicy()).toContain("connect-src 'self';");
  });
});
