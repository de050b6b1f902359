// Clients for breakwater's three services over plain gRPC (HTTP/2), and the
// two things every caller needs to read from an answer: whether it was
// degraded, and why a call was rejected.

import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Duration } from "@bufbuild/protobuf/wkt";

import { AdProviderService } from "../../../gen/ts/adprovider/v1/adprovider_pb";
import { BreakerAdminService } from "../../../gen/ts/breaker/v1/breaker_pb";
import { RecommenderService, type Degradation } from "../../../gen/ts/recommender/v1/recommender_pb";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
  type BadRequest_FieldViolation,
} from "./errordetails";

/** Where the services are, and the token for admin writes. */
export interface Config {
  /** The Recommender's gRPC address, such as "localhost:8000". */
  recommenderAddr: string;
  /** AdProvider's gRPC address, such as "localhost:8001". */
  adProviderAddr: string;
  /** The services' ADMIN_TOKEN; empty when unknown (admin writes then fail). */
  adminToken: string;
}

/**
 * configFromEnv reads the same variables the services and `make run-all`
 * use: RECOMMENDER_ADDR, ADPROVIDER_ADDR and ADMIN_TOKEN.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    recommenderAddr: env.RECOMMENDER_ADDR || "localhost:8000",
    adProviderAddr: env.ADPROVIDER_ADDR || "localhost:8001",
    adminToken: env.ADMIN_TOKEN ?? "",
  };
}

/** The clients of one system: both services, and each one's breaker admin. */
export interface Clients {
  recommender: Client<typeof RecommenderService>;
  adProvider: Client<typeof AdProviderService>;
  /** BreakerAdminService as the Recommender serves it (its own breakers). */
  recommenderBreakers: Client<typeof BreakerAdminService>;
  /** BreakerAdminService as AdProvider serves it. */
  adProviderBreakers: Client<typeof BreakerAdminService>;
}

/**
 * connect returns clients for both services. One gRPC transport per service:
 * each keeps one HTTP/2 connection and multiplexes every call on it.
 */
export function connect(cfg: Config): Clients {
  const rec = transport(cfg.recommenderAddr);
  const ads = transport(cfg.adProviderAddr);
  return {
    recommender: createClient(RecommenderService, rec),
    adProvider: createClient(AdProviderService, ads),
    recommenderBreakers: createClient(BreakerAdminService, rec),
    adProviderBreakers: createClient(BreakerAdminService, ads),
  };
}

function transport(addr: string) {
  // The services speak plaintext gRPC unless started with TLS; an address
  // like ":8000" means this host. The gRPC transport always uses HTTP/2
  // (in connect-node 2 it has no httpVersion option; the Connect protocol's
  // transport, createConnectTransport, is the one that can use HTTP/1.1).
  const hostPort = addr.startsWith(":") ? `localhost${addr}` : addr;
  return createGrpcTransport({ baseUrl: `http://${hostPort}` });
}

/**
 * adminHeaders are the call headers of an admin write (CreateAd,
 * SetBreakerMode, ResetBreaker): `authorization: Bearer <token>`.
 */
export function adminHeaders(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}

/**
 * describeDegraded says, in one line per entry, which dependency failed while
 * answering and what was served instead; empty for a full answer. A client
 * should still show a degraded answer (house ads are ads; last good
 * recommendations are recommendations) and may mark it or retry later.
 */
export function describeDegraded(degraded: readonly Degradation[]): string[] {
  return degraded.map((d) => `${d.dependency} failed (${d.reason}); served ${d.fallback}`);
}

/** CircuitOpen is what a client learns from a breaker's rejection. */
export interface CircuitOpen {
  /** The name of the breaker that rejected the call. */
  breaker: string;
  /**
   * How long to wait before retrying, from RetryInfo: the time until the
   * breaker probes again, or, for a breaker forced open by an operator, its
   * first open period (it stays open until someone changes it). Undefined
   * only if a server sends no RetryInfo.
   */
  retryAfterMs?: number;
}

/**
 * circuitOpen reads a rejection by an open circuit breaker: UNAVAILABLE with
 * an ErrorInfo whose reason is CIRCUIT_OPEN (domain "breakwater", metadata
 * "breaker"), and a RetryInfo saying how long to wait. It returns undefined for every other error.
 *
 * Such a call was never attempted, so it is safe to retry any method after
 * the delay; retrying sooner only gets the same answer.
 */
export function circuitOpen(err: unknown): CircuitOpen | undefined {
  const ce = ConnectError.from(err);
  if (ce.code !== Code.Unavailable) {
    return undefined;
  }
  const info = ce.findDetails(ErrorInfoSchema).find((i) => i.reason === "CIRCUIT_OPEN" && i.domain === "breakwater");
  if (info === undefined) {
    return undefined;
  }
  const retry = ce.findDetails(RetryInfoSchema)[0];
  return {
    breaker: info.metadata["breaker"] ?? "",
    retryAfterMs: retry?.retryDelay ? durationMs(retry.retryDelay) : undefined,
  };
}

/**
 * fieldViolations returns the broken request rules of an INVALID_ARGUMENT
 * error (its google.rpc.BadRequest detail), or an empty list.
 */
export function fieldViolations(err: unknown): BadRequest_FieldViolation[] {
  const ce = ConnectError.from(err);
  if (ce.code !== Code.InvalidArgument) {
    return [];
  }
  return ce.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
}

function durationMs(d: Duration): number {
  return Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
}
