/**
 * The fleet's program bucket by name, and what a node's NATS user may do with it (read only).
 * Kept apart from the adapter so that the NATS server configuration needs no NATS client.
 */

/** The JetStream Object Store bucket of program objects (its stream is `OBJ_<bucket>`). */
export const DEFAULT_PROGRAM_BUCKET = 'tramway-programs';

/**
 * The subjects a node's NATS user publishes to read the bucket: stream info, the last message
 * of an object's metadata subject, and an ordered consumer on its chunks (delivered to the
 * node's own inbox, which it may already subscribe to). Read only: no publish to `$O.`.
 */
export const nodeProgramReadAllow = (bucketName: string = DEFAULT_PROGRAM_BUCKET): string[] => {
  const stream = `OBJ_${bucketName}`;
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
  ];
};
