/**
 * How a message shows in a conversation list: its text, or for a message of attachments
 * only what they are ("📷 Photo", "📎 report.pdf"). The server writes it into inbox rows and
 * clients use it for the messages they see arrive, so both say the same. Pure: the web
 * client imports this file.
 */
import type { Attachment } from './frames';

export function messagePreview(body: string, attachments: readonly Pick<Attachment, 'kind' | 'name'>[] | null | undefined): string {
  if (body.trim() === '' && attachments && attachments.length > 0) return attachmentsLabel(attachments);
  return body;
}

function attachmentsLabel(list: readonly Pick<Attachment, 'kind' | 'name'>[]): string {
  const n = list.length;
  if (new Set(list.map((a) => a.kind)).size > 1) return `📎 ${n} attachments`;
  switch (list[0].kind) {
    case 'image':
      return n === 1 ? '📷 Photo' : `📷 ${n} photos`;
    case 'video':
      return n === 1 ? '🎥 Video' : `🎥 ${n} videos`;
    case 'audio':
      return n === 1 ? '🎤 Audio' : `🎤 ${n} audio clips`;
    default:
      return n === 1 ? `📎 ${list[0].name}` : `📎 ${n} files`;
  }
}
