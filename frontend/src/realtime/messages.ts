// Parsing of WebSocket frames into typed server messages; anything malformed is dropped.
import type { ServerMessage, TwinUpdate } from '../api/types';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

export function isTwinUpdate(value: unknown): value is TwinUpdate {
  if (!isRecord(value)) return false;
  if (typeof value.id !== 'string' || typeof value.ts !== 'string') return false;
  if (typeof value.machine_type !== 'string') return false;
  if (!isNullableString(value.site) || !isNullableString(value.line)) return false;
  if (typeof value.quality !== 'string' || !isRecord(value.readings)) return false;
  return Object.values(value.readings).every((v) => typeof v === 'number');
}

/** Returns the message, or null for anything that is not a known, well-formed message. */
export function parseServerMessage(data: unknown): ServerMessage | null {
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
      return typeof value.server_time === 'string'
        ? { type: 'hello', server_time: value.server_time }
        : null;
    case 'updates':
      return Array.isArray(value.items)
        ? { type: 'updates', items: value.items.filter(isTwinUpdate) }
        : null;
    case 'pong':
      return { type: 'pong' };
    default:
      return null;
  }
}
