/** Protocol module: frame types, limits, error codes, the frame decoder and the server frame encoder. No I/O. */
export * from './frames';
export * from './errors';
export { newId, newSortableId } from './ids';
export { FrameDecoder, reservedIdPrefixes, type DecodeResult } from './codec';
export { encodeFrame, type EncodedFrame } from './encode';
export { messagePreview } from './preview';
export { echoableRef, illFormedField, illFormedMessage } from './text';
