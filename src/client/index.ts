/**
 * Client SDK door. Ships to browsers and apps on its own: it imports only the pure
 * protocol files (frames, errors, ids), never the server's decoder or any Node module.
 */
export { ChatClient } from './chat';
export type {
  ChatClientOptions,
  ChatEvents,
  ChatStatus,
  ChatTransport,
  ChatTransportOption,
  ConnectedInfo,
  MuteSync,
  Receipt,
  ReadSync,
  TypingInfo,
} from './types';
export {
  RestClient,
  type RestClientOptions,
  type AuthResult,
  type Credentials,
  type User,
  type Member,
  type MembershipChange,
  type Me,
  type Conversation,
  type ConversationPage,
  type Message,
  type ThreadPage,
  type MuteState,
  type MarkUnreadResult,
  type EventPage,
  type ClientMsgOptions,
  type SendOptions,
  type SendResult,
  type PresenceInfo,
  type UploadRequest,
  type UploadSlot,
  type Rendition,
  type AttachmentUrl,
  type UserSettings,
  type UserSearchPage,
  type FetchLike,
  type ResponseLike,
} from './rest';
export type { PushPlatform, PushRegistration, PushRegistered, PushDevice, PushPayload, WebPushSubscriptionJSON } from './push';
export { ApiError, ChatError, ClientClosedError } from './errors';
export { Attachments, foldAttachmentReady, type AttachmentsOptions, type UploadOptions } from './attachments';
export type { UploadData, ProgressListener } from './upload';
export type { OutboxFrame } from './outbox';
export { Emitter, type EventMap, type Listener } from './emitter';
export { backoffDelay, tryLaterDelay, type BackoffOptions } from './backoff';
export type { WebSocketLike, WebSocketConstructor, MessageEventLike, CloseEventLike } from './socket';
export { LongPollSocket, type LongPollOptions } from './longpoll';
export { MqttSocket, type MqttOptions, type MqttConnect, type MqttConnectOptions, type MqttClientLike, type MqttDisconnectPacket, type MqttPacket } from './mqtt';
export type { Attachment, AttachmentKind, AttachmentVariant, ConvEvent, EventKind, InboxRow, LinkPreview, SyncState, TypingState, PresenceState, ReceiptKind } from '../protocol/frames';
export { MUTED_FOREVER } from '../protocol/frames';
export type { ErrorCode } from '../protocol/errors';
