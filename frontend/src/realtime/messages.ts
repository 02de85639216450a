// WebSocket `/ws` message types (docs/api.md "WebSocket /ws"), from the models the backend publishes
// in its OpenAPI components (generated into src/api/schema.d.ts by `make client`), and parsing of
// server frames. The generated types list every field; the server omits unset ones and clients may
// leave optional ones out, so the optional fields are made optional here.
import type { components } from '../api/schema';
import type { Alarm, AnomalyEvent, Decision, Series, Twin } from '../api/types';

type Schemas = components['schemas'];

/** `T` with the keys `K` optional and never null. */
type Loose<T, K extends keyof T> = Omit<T, K> & { [P in K]?: Exclude<T[P], null> };

export type StreamName = Schemas['SubscribeMessage']['stream'];
export type SubscriptionFilter = Loose<
  Schemas['StreamFilterModel'],
  keyof Schemas['StreamFilterModel']
>;
/** The window of a chart stream (`stream: "series"`); optional fields may be left out. */
export type SeriesSpec = Loose<Schemas['SeriesSpec'], 'sensors' | 'to' | 'width' | 'method'>;
export type SubscribeMessage = Omit<
  Loose<
    Schemas['SubscribeMessage'],
    'filter' | 'series' | 'max_rate_hz' | 'resume_after' | 'fields'
  >,
  'filter' | 'series'
> & { filter?: SubscriptionFilter; series?: SeriesSpec };
/** A member a `twins` subscription's `fields` projection may keep in partial changes. */
export type ChangeFieldName = NonNullable<Schemas['SubscribeMessage']['fields']>[number];
/** New points of one sensor of a chart stream. */
export type SeriesAppend = Schemas['SeriesAppend'];
export type UnsubscribeMessage = Schemas['UnsubscribeMessage'];
export type PingMessage = Loose<Schemas['PingMessage'], 'id'>;
/** The first message of a connection, and again with each new access token. */
export type AuthMessage = Schemas['AuthMessage'];
export type WsClientMessage = SubscribeMessage | UnsubscribeMessage | PingMessage | AuthMessage;

/** Who a connection is authenticated as (the `/auth/me` identity). */
export type StreamIdentity = Schemas['WsIdentity'];
/** Carries the identity and when its credentials expire (null: an API key without expiry). */
export type HelloMessage = Schemas['HelloMessage'];
/** The answer to an `auth` message on a live connection: subscriptions are kept. */
export type AuthenticatedMessage = Schemas['AuthenticatedMessage'];
export type SubscribedMessage = Pick<Schemas['SubscribedMessage'], 'type' | 'sub' | 'stream'>;
/** Items are checked per stream by the socket before handlers see them. */
export type SnapshotMessage = Omit<Schemas['SnapshotMessage'], 'items'> & { items: unknown[] };
export type UpdateMessage = Omit<Schemas['UpdateMessage'], 'items'> & { items: unknown[] };
export type UnsubscribedMessage = Schemas['UnsubscribedMessage'];
export type HeartbeatMessage = Schemas['HeartbeatMessage'];
export type PongMessage = Schemas['PongMessage'];
export type ErrorMessage = Loose<Schemas['ErrorMessage'], 'sub' | 'detail'>;
export type WsServerMessage =
  | HelloMessage
  | AuthenticatedMessage
  | SubscribedMessage
  | SnapshotMessage
  | UpdateMessage
  | UnsubscribedMessage
  | HeartbeatMessage
  | PongMessage
  | ErrorMessage;

/** A partial change: `kind` and `id` always, the rest only when the change (or its projection) carries it. */
type Partial_<T extends { kind: unknown; id: unknown }> = Pick<T, 'kind' | 'id'> &
  Partial<Omit<T, 'kind' | 'id'>>;
/** What telemetry changed (only changed readings/settings; placement when it is news). */
export type ReportedChange = Partial_<Schemas['ReportedChange']>;
/** The whole twin as stored (`status_known`: the last status recorded). */
export type WholeTwinChange = Schemas['WholeTwinChange'];
export type AnalyticsChange = Partial_<Schemas['AnalyticsChange']>;
export type StatusChange = Partial_<Schemas['StatusChange']>;
export type RemovedChange = Schemas['RemovedChange'];
/** An update item of the `twins` stream (the change-stream contract, `dtwin.contracts.changes`). */
export type TwinChange =
  ReportedChange | WholeTwinChange | AnalyticsChange | StatusChange | RemovedChange;
export type TwinChangeKind = TwinChange['kind'];

/**
 * An update item of the `alarms` stream: the alarm after one of its transitions (the list's fields
 * plus `transition`; `seq` is the alarm's own, so the newest copy of an alarm is the highest seq).
 */
export type AlarmChange = Schemas['AlarmChange'];

/** Item types of each stream: snapshot items, update items. */
export interface StreamItems {
  twins: { snapshot: Twin; update: TwinChange };
  alerts: { snapshot: AnomalyEvent; update: AnomalyEvent };
  decisions: { snapshot: Decision; update: Decision };
  alarms: { snapshot: Alarm; update: AlarmChange };
  series: { snapshot: Series; update: SeriesAppend };
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

export function isSeries(value: unknown): value is Series {
  return isRecord(value) && isString(value.machine_id) && isRecord(value.sensors);
}

export function isSeriesAppend(value: unknown): value is SeriesAppend {
  return (
    isRecord(value) && isString(value.sensor) && Array.isArray(value.t) && Array.isArray(value.v)
  );
}

export function isMachineEvent(value: unknown): value is AnomalyEvent | Decision {
  return isRecord(value) && isString(value.machine_id) && isString(value.ts);
}

/** An alarm of the `alarms` stream (snapshot or update): enough for the merge by id and seq. */
export function isAlarm(value: unknown): value is Alarm | AlarmChange {
  return (
    isRecord(value) &&
    isNumber(value.id) &&
    isNumber(value.seq) &&
    isString(value.machine_id) &&
    isString(value.condition) &&
    isString(value.state) &&
    isString(value.priority) &&
    isString(value.raised_at)
  );
}

function isIdentity(value: unknown): value is StreamIdentity {
  return (
    isRecord(value) &&
    isString(value.id) &&
    isString(value.name) &&
    (value.role === 'viewer' || value.role === 'operator' || value.role === 'admin') &&
    (value.kind === 'user' || value.kind === 'api_key')
  );
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
      return isString(value.server_time) && isIdentity(value.identity)
        ? {
            type: 'hello',
            server_time: value.server_time,
            seq: isNumber(value.seq) ? value.seq : 0,
            heartbeat_s: isNumber(value.heartbeat_s) ? value.heartbeat_s : 15,
            max_lifetime_s: isNumber(value.max_lifetime_s) ? value.max_lifetime_s : 3600,
            identity: value.identity,
            expires_at: isString(value.expires_at) ? value.expires_at : null,
          }
        : null;
    case 'authenticated':
      return isIdentity(value.identity)
        ? {
            type: 'authenticated',
            identity: value.identity,
            expires_at: isString(value.expires_at) ? value.expires_at : null,
          }
        : null;
    case 'snapshot':
      return isString(value.sub) && isNumber(value.seq) && Array.isArray(value.items)
        ? {
            type: 'snapshot',
            sub: value.sub,
            seq: value.seq,
            reason: (isString(value.reason)
              ? value.reason
              : 'subscribe') as SnapshotMessage['reason'],
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
        ...(isString(value.sub) ? { sub: value.sub } : {}),
        title: isString(value.title) ? value.title : 'Error',
        ...(isString(value.detail) ? { detail: value.detail } : {}),
      };
    default:
      return null;
  }
}
