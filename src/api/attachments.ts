/**
 * REST: attachments. An upload slot (a presigned PUT), its completion (the server checks
 * the bytes), the attachment's record, and signed download URLs of its renditions.
 */
import { Router as ExpressRouter } from 'express';
import { ProtocolError, type Rendition, type UploadRequest } from '../protocol';
import { requireAuth, userOf, validator } from './http';
import type { ApiOptions } from './index';

const renditions: readonly Rendition[] = ['original', 'thumbnail', 'display'];

export function attachmentRoutes(opts: ApiOptions): ExpressRouter {
  const { limits } = opts;
  const parseUpload = validator<UploadRequest>({
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 1024 },
      content_type: { type: 'string', minLength: 3, maxLength: 255, pattern: '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;.*)?$' },
      size: { type: 'integer', minimum: 0 },
      sha256: { type: 'string', minLength: 64, maxLength: 64 },
    },
    required: ['name', 'content_type', 'size', 'sha256'],
    additionalProperties: false,
  });
  const idParam = (id: string): string => {
    if (!/^a_[A-Za-z0-9_-]{1,64}$/.test(id) || id.length > limits.maxIdChars) throw new ProtocolError('not_found', 'no such attachment');
    return id;
  };
  const service = () => {
    if (opts.attachments === null) {
      throw new ProtocolError('unavailable', 'attachments are off: a cluster (BUS=redis) needs BLOB=s3 so that every shard reaches every file');
    }
    return opts.attachments;
  };

  const r = ExpressRouter();
  r.use('/attachments', requireAuth(opts.auth));

  r.post('/attachments', async (req, res) => {
    const userId = userOf(res);
    if (!opts.uploadLimiter.take(`upload:${userId}`)) throw new ProtocolError('rate_limited', 'too many uploads; wait a moment', opts.uploadLimiter.retryAfterMs(`upload:${userId}`));
    res.status(201).json(await service().createUpload(userId, parseUpload(req.body)));
  });

  r.post('/attachments/:id/complete', async (req, res) => {
    res.json(await service().complete(userOf(res), idParam(req.params.id)));
  });

  r.get('/attachments/:id', async (req, res) => {
    res.json(await service().get(userOf(res), idParam(req.params.id)));
  });

  /** `?rendition=thumbnail|display|original` (default original); `redirect=1` answers 302 to the URL. */
  r.get('/attachments/:id/url', async (req, res) => {
    const want = req.query.rendition ?? 'original';
    if (typeof want !== 'string' || !renditions.includes(want as Rendition)) {
      throw new ProtocolError('bad_request', `rendition must be one of ${renditions.join(', ')}`);
    }
    const url = await service().urlFor(userOf(res), idParam(req.params.id), want as Rendition);
    res.set('cache-control', 'private, no-store');
    if (req.query.redirect === '1') res.redirect(302, url.url);
    else res.json(url);
  });

  return r;
}
