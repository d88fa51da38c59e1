/** S3BlobStore.open refuses an endpoint it could not honour, before any request. */
import { S3BlobStore } from '../../src/blob';

const base = { region: 'us-east-1', bucket: 'b', accessKey: 'a', secretKey: 's', pathStyle: true };

test('an endpoint with a path (which the client would drop) is refused with a clear error', async () => {
  await expect(S3BlobStore.open({ ...base, endpoint: 'http://127.0.0.1:1/s3' })).rejects.toThrow(/must have no path/);
  await expect(S3BlobStore.open({ ...base, endpoint: 'http://127.0.0.1:1/?x=1' })).rejects.toThrow(/must have no path/);
  await expect(S3BlobStore.open({ ...base, endpoint: 'ftp://127.0.0.1:1' })).rejects.toThrow(/http or https/);
});
