// What every test file shares: clients for the running system, the admin
// token, and small assertions on errors.

import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";

import { BreakerMode } from "../../../gen/ts/breaker/v1/breaker_pb";
import type { Degradation } from "../../../gen/ts/recommender/v1/recommender_pb";
import { adminHeaders, configFromEnv, connect, fieldViolations, type Clients } from "../src/client";

// The system to test: RECOMMENDER_ADDR, ADPROVIDER_ADDR and ADMIN_TOKEN, as
// for the example itself; without ADMIN_TOKEN, make run-all's default.
const env = configFromEnv();
export const cfg = { ...env, adminToken: env.adminToken || "dev-admin-token" };
export const clients: Clients = connect(cfg);
export const admin = adminHeaders(cfg.adminToken);

/** A product every sample catalog has, with reviews and co-reviewed products. */
export const knownAsin = "B00006IE7F";

/** randomAsin returns an ASIN no other test run uses ("N" + 9 characters). */
export function randomAsin(): string {
  const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let s = "N";
  for (let i = 0; i < 9; i++) {
    s += chars[randomInt(chars.length)];
  }
  return s;
}

/** rejects awaits a call that must fail with code, and returns its error. */
export async function rejects(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    const ce = ConnectError.from(err);
    assert.equal(Code[ce.code], Code[code], `want ${Code[code]}, got ${ce.message}`);
    return ce;
  }
  assert.fail(`want ${Code[code]}, got a response`);
}

/** violatedFields returns the fields an INVALID_ARGUMENT error names, sorted. */
export function violatedFields(err: ConnectError): string[] {
  return fieldViolations(err).map((v) => v.field).sort();
}

/**
 * restoreBreakers hands every breaker of both services back to its rules and
 * resets it, so that a test that forced one leaves no trace.
 */
export async function restoreBreakers(): Promise<void> {
  const failures: unknown[] = [];
  for (const b of [clients.recommenderBreakers, clients.adProviderBreakers]) {
    try {
      const { breakers } = await b.listBreakers({});
      for (const { name, mode } of breakers) {
        if (mode !== BreakerMode.AUTO) {
          await b.setBreakerMode({ name, mode: BreakerMode.AUTO }, admin);
        }
        await b.resetBreaker({ name }, admin);
      }
    } catch (err) {
      failures.push(err); // still restore the other service's
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, "restoring the breakers");
  }
}

/**
 * assertFull checks that an answer is not degraded, but for one thing the
 * tests must not depend on: on a loaded machine AdProvider may miss the
 * Recommender's deadline for ads, and then the ads are house ads.
 */
export function assertFull(degraded: readonly Degradation[]): void {
  for (const d of degraded) {
    assert.deepEqual([d.dependency, d.reason, d.fallback], ["adprovider", "deadline_exceeded", "house_ads"], "degraded");
  }
}
