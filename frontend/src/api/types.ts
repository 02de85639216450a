// Wire types of the backend HTTP API and WebSocket, written by hand until `make client`
// generates them from the OpenAPI schema into src/api/generated/.

export type Quality = 'good' | 'uncertain' | 'bad';

/** Latest values per sensor; the unit is the name's suffix (`temperature_c`, `flow_m3_h`). */
export type Readings = Record<string, number>;

export interface Twin {
  id: string;
  machine_type: string;
  site: string | null;
  line: string | null;
  /** ISO 8601 UTC, device time of the latest reading. */
  ts: string;
  /** ISO 8601 UTC, server receive time of the latest reading. */
  last_seen: string;
  quality: Quality;
  readings: Readings;
}

export interface TwinList {
  items: Twin[];
  count: number;
}

export interface Reading {
  ts: string;
  sensor: string;
  value: number;
  quality: string;
}

export interface ReadingList {
  machine_id: string;
  items: Reading[];
}

/** RFC 9457 problem details, as rendered by the backend for every 4xx/5xx. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  instance?: string | null;
}

/** A twin's new state as pushed on the WebSocket (a Twin without `last_seen`). */
export type TwinUpdate = Omit<Twin, 'last_seen'>;

export interface HelloMessage {
  type: 'hello';
  server_time: string;
}

export interface UpdatesMessage {
  type: 'updates';
  items: TwinUpdate[];
}

export interface PongMessage {
  type: 'pong';
}

export type ServerMessage = HelloMessage | UpdatesMessage | PongMessage;

export interface PingMessage {
  type: 'ping';
}

export type ClientMessage = PingMessage;
