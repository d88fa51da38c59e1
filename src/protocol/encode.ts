/**
 * The one encoder of server frames (as ws has one `sender`): every frame the server writes
 * is built here from its type in frames.ts, so a change to a frame is a compile error
 * wherever it is built. Pure: the SDK may import it.
 */
import type { ServerFrame } from './frames';

/** A server frame serialised once, its type kept beside the text (fan-out counts DELIVERs by it). */
export interface EncodedFrame {
  type: ServerFrame['type'];
  text: string;
}

/**
 * Serialises one server frame. The parameter is the union itself, not a generic, so an
 * object literal passed here gets TypeScript's excess-property check: a missing, misspelt
 * or extra field of any frame fails to compile where the frame is built.
 */
export function encodeFrame(frame: ServerFrame): EncodedFrame {
  return { type: frame.type, text: JSON.stringify(frame) };
}
