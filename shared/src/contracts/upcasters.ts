/**
 * Lifts stored payloads of an old schema version to the next one, on read (STYLE.md §4
 * "Versioning"). Each upcaster takes data valid for version n and returns data for n+1.
 */
import type { FleetEventType } from '../domain/fleet.events.js';

type Upcaster = (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/**
 * LinkCreated v1 had no cookies. A link created without a cookie array has cookie 0 on every
 * connection (kernel-multilink-spec.md §1.1 "Cookie": "0 when no cookie array"), so v1 -> v2
 * adds `cookie: "0"` to each connection.
 */
const linkCreatedV1toV2: Upcaster = (data) => ({
  ...data,
  connections: (data['connections'] as readonly Readonly<Record<string, unknown>>[]).map((c) => ({
    ...c,
    cookie: '0',
  })),
});

/** LinkCreated v3 only adds an optional `reason`: a v2 payload is a v3 one. */
const linkCreatedV2toV3: Upcaster = (data) => ({ ...data });

/** `UPCASTERS[type][n]` lifts version n to n+1. */
export const UPCASTERS: Partial<Record<FleetEventType, Readonly<Record<number, Upcaster>>>> = {
  LinkCreated: { 1: linkCreatedV1toV2, 2: linkCreatedV2toV3 },
};
