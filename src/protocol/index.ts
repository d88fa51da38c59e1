/** Protocol module: frame types, limits, error codes and the frame decoder. No I/O. */
export * from './frames';
export * from './errors';
export { newId, newSortableId } from './ids';
export { FrameDecoder, type DecodeResult } from './codec';
