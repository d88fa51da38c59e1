/**
 * Attachments module: upload slots, the checks that turn an upload into an attachment,
 * renditions of images (through the media pool and the jobs engine), signed download URLs
 * and the collector of what nothing references. Bytes live in a BlobStore (src/blob), the
 * records in the Store; messages carry the attachment as the protocol's `Attachment`.
 */
export {
  AttachmentService,
  blobKeys,
  type AttachmentJobs,
  type AttachmentServiceOptions,
} from './service';
export { cleanName, resolveType, type AttachmentLimits } from './policy';
