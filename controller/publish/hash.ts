import { createHash } from 'node:crypto';

/** Number of base64url characters kept: the Insights Operator's workload gatherer uses 12 (72 bits). */
export const HASH_LENGTH = 12;

/**
 * The workload gatherer's hash: SHA-256 of the UTF-8 bytes, base64url without padding, first 12 characters.
 * The empty string is hashed like any other value (callers decide whether to leave empty values out).
 */
export function hashValue(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, HASH_LENGTH);
}
