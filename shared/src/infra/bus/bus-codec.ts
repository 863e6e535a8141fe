import { BusEncodingError, BusMalformedMessageError } from './fleet-bus.port.js';

/** JSON text of a payload (`undefined` as `null`); throws `BusEncodingError` when JSON cannot carry it. */
export const encodePayload = (subject: string, payload: unknown): string => {
  try {
    return JSON.stringify(payload) ?? 'null';
  } catch (error) {
    throw new BusEncodingError(subject, error);
  }
};

/** The payload of JSON text; throws `BusMalformedMessageError` on anything else. An empty body is `null`. */
export const decodePayload = (subject: string, text: string): unknown => {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BusMalformedMessageError(subject, error);
  }
};
