/**
 * Link previews: finds the first http(s) URL of a message and reads its OpenGraph,
 * Twitter card and <title> metadata, refusing private, loopback, link-local, metadata and
 * other special-purpose addresses (after DNS, on every redirect, with the connection
 * pinned to the checked address) unless the operator allowlists them.
 */
export type { LinkPreviewConfig, LinkPreviewResult } from './types';
export { firstUrl } from './url';
export { isBlockedAddress } from './address';
// The address rules and the vetted, pinned connect, for other callers of outside URLs (push endpoints).
export { AddressPolicy } from './address';
export { abortable, pinnedLookup, vettedAddresses } from './fetch';
export { PreviewRefusal, type RefusalCode } from './errors';
export { LinkPreviewer } from './previewer';
