// WebSocket `/ws` message types (docs/api.md "WebSocket /ws") and parsing of server frames.
// Written by hand from the spec until the backend's OpenAPI carries WsClientMessage/WsServerMessage;
// then these become aliases of the generated components.
import type { AnomalyEvent, Decision, Twin } from '../api/types';

export type StreamName = 'twins' | 'alerts' | 'decisions';

export interface SubscriptionFilter {
  machine_ids?: string[];
  machine_type?: string;
  site?: string;
  line?: string;
}

export interface SubscribeMessage {
  type: 'subscribe';
  sub: string;
  stream: StreamName;
  filter?: SubscriptionFilter;
  max_rate_hz?: number;
  resume_after?: number;
}

export interface UnsubscribeMessage {
  type: 'unsubscribe';
  sub: string;
}

export interface PingMessage {
  type: 'ping';
  id?: string;
}

export type WsClientMessage = SubscribeMessage | UnsubscribeMessage | PingMessage;

export interface HelloMessage {
  type: 'hello';
  server_time: string;
  seq: number;
  heartbeat_s: number;
  max_lifetime_s: number;
}

export interface SubscribedMessage {
  type: 'subscribed';
  sub: string;
  stream: StreamName;
  filter?: SubscriptionFilter | null;
  max_rate_hz?: number | null;
}

export interface SnapshotMessage {
  type: 'snapshot';
  sub: string;
  seq: number;
  reason: 'subscribe' | 'gap' | (string & {});
  items: unknown[];
}

export interface UpdateMessage {
  type: 'update';
  sub: string;
  seq: number;
  replay: boolean;
  items: unknown[];
}

export interface UnsubscribedMessage {
  type: 'unsubscribed';
  sub: string;
}

export interface HeartbeatMessage {
  type: 'heartbeat';
  server_time: string;
  seq: number;
}

export interface PongMessage {
  type: 'pong';
  id?: string | null;
}

export interface ErrorMessage {
  type: 'error';
  sub?: string | null;
  title: string;
  detail?: string | null;
}

export type WsServerMessage =
  | HelloMessage
  | SubscribedMessage
  | SnapshotMessage
  | UpdateMessage
  | UnsubscribedMessage
  | HeartbeatMessage
  | PongMessage
  | ErrorMessage;

export type TwinChangeKind = 'reported' | 'analytics' | 'status' | 'twin' | 'removed';

/** An update item of the `twins` stream: only what changed (docs/api.md). */
export interface TwinChange {
  id: string;
  version?: number | null;
  kind: TwinChangeKind;
  ts?: string | null;
  quality?: Twin['quality'];
  last_seen?: string | null;
  readings?: Record<string, number>;
  reported?: Record<string, unknown>;
  health?: number | null;
  anomaly_score?: number | null;
  strategy?: string | null;
  status?: Twin['status'] | null;
  /** kind `twin`: the whole twin, nested or (depending on the server) inline. */
  twin?: Twin;
  [key: string]: unknown;
}

/** Item types of each stream: snapshot items, update items. */
export interface StreamItems {
  twins: { snapshot: Twin; update: TwinChange };
  alerts: { snapshot: AnomalyEvent; update: AnomalyEvent };
  decisions: { snapshot: Decision; update: Decision };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** Items are checked just enough that the merge code cannot trip over them. */
export function isTwin(value: unknown): value is Twin {
  return isRecord(value) && isString(value.id) && isRecord(value.readings);
}

export function isTwinChange(value: unknown): value is TwinChange {
  if (!isRecord(value) || !isString(value.id) || !isString(value.kind)) return false;
  if (value.readings !== undefined && !isRecord(value.readings)) return false;
  return true;
}

export function isMachineEvent(value: unknown): value is AnomalyEvent | Decision {
  return isRecord(value) && isString(value.machine_id) && isString(value.ts);
}

/** Returns the message, or null for anything that is not a known, well-formed message. */
export function parseServerMessage(data: unknown): WsServerMessage | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  switch (value.type) {
    case 'hello':
      return isString(value.server_time)
        ? {
            type: 'hello',
            server_time: value.server_time,
            seq: isNumber(value.seq) ? value.seq : 0,
            heartbeat_s: isNumber(value.heartbeat_s) ? value.heartbeat_s : 15,
            max_lifetime_s: isNumber(value.max_lifetime_s) ? value.max_lifetime_s : 3600,
          }
        : null;
    case 'snapshot':
      return isString(value.sub) && isNumber(value.seq) && Array.isArray(value.items)
        ? {
            type: 'snapshot',
            sub: value.sub,
            seq: value.seq,
            reason: isString(value.reason) ? value.reason : 'subscribe',
            items: value.items,
          }
        : null;
    case 'update':
      return isString(value.sub) && isNumber(value.seq) && Array.isArray(value.items)
        ? {
            type: 'update',
            sub: value.sub,
            seq: value.seq,
            replay: value.replay === true,
            items: value.items,
          }
        : null;
    case 'heartbeat':
      return {
        type: 'heartbeat',
        server_time: isString(value.server_time) ? value.server_time : '',
        seq: isNumber(value.seq) ? value.seq : 0,
      };
    case 'subscribed':
      return isString(value.sub) && isString(value.stream)
        ? { type: 'subscribed', sub: value.sub, stream: value.stream as StreamName }
        : null;
    case 'unsubscribed':
      return isString(value.sub) ? { type: 'unsubscribed', sub: value.sub } : null;
    case 'pong':
      return { type: 'pong', id: isString(value.id) ? value.id : null };
    case 'error':
      return {
        type: 'error',
        sub: isString(value.sub) ? value.sub : null,
        title: isString(value.title) ? value.title : 'Error',
        detail: isString(value.detail) ? value.detail : null,
      };
    default:
      return null;
  }
}
