// Requests and responses on a link (RNS 1.4.2, Link.request / handle_request / handle_response).
// A request is MessagePack [requested-at (float seconds), path hash (bin 16), data]; its id is the truncated
// hash of the REQUEST packet that carries it, or of the packed request itself when it is too large for one
// packet and travels as a Resource. A response is MessagePack [request id, data].
import type { Bytes } from "../../core/bytes.js";
import { TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { err, ok, type Result } from "../../core/result.js";
import { Float64, packMsgpack, unpackMsgpack } from "./msgpack.js";

export interface IncomingRequest {
  /** The sender's clock in (fractional) seconds when it made the request. */
  requestedAtS: number;
  pathHash: Bytes;
  data: unknown;
}

export function packRequest(requestedAtMs: number, pathHash: Bytes, data: unknown): Bytes {
  return packMsgpack([new Float64(requestedAtMs / 1000), pathHash, data ?? null]);
}

/** Reads a packed request; like the reference, any array of three or more whose second item is bytes. */
export function parseRequest(packed: Bytes): Result<IncomingRequest> {
  const u = unpackMsgpack(packed);
  if (!u.ok) return u;
  const v = u.value;
  if (!Array.isArray(v) || v.length < 3) return err("bad-encoding", "request is not a 3-item array");
  const [at, pathHash, data] = v as [unknown, unknown, unknown];
  if (typeof at !== "number" || !(pathHash instanceof Uint8Array)) return err("bad-encoding", "request fields of the wrong type");
  return ok({ requestedAtS: at, pathHash, data });
}

export function packResponse(requestId: Bytes, data: unknown): Bytes {
  return packMsgpack([requestId, data ?? null]);
}

export interface IncomingResponse {
  requestId: Bytes;
  data: unknown;
}

export function parseResponse(packed: Bytes): Result<IncomingResponse> {
  const u = unpackMsgpack(packed);
  if (!u.ok) return u;
  const v = u.value;
  if (!Array.isArray(v) || v.length < 2) return err("bad-encoding", "response is not a 2-item array");
  const [requestId, data] = v as [unknown, unknown];
  if (!(requestId instanceof Uint8Array) || requestId.length !== TRUNCATED_HASH_LENGTH) {
    return err("bad-encoding", "response without a 16-byte request id");
  }
  return ok({ requestId, data });
}
