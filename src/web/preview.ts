/** The conversation list's preview of a message: the protocol's own rule, as the server writes inbox rows. */
export { messagePreview } from '../protocol/preview';
