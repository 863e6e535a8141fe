const PLAIN_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * The subject of an event stream: `<prefix>.<token>`. A stream id made of `[A-Za-z0-9_-]` is the
 * token itself (readable in `nats stream view`); any other id (dots, wildcards, spaces, unicode)
 * becomes `~` + base64url(utf-8), so every stream id maps to exactly one single-token subject and
 * no two ids share one (plain tokens never start with `~`).
 */
export const eventStreamSubject = (prefix: string, streamId: string): string =>
  `${prefix}.${
    PLAIN_TOKEN.test(streamId)
      ? streamId
      : `~${Buffer.from(streamId, 'utf8').toString('base64url')}`
  }`;

/** The wildcard that covers every event stream under `prefix`. */
export const allEventStreamsSubject = (prefix: string): string => `${prefix}.*`;
