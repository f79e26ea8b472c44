// What went wrong, as a user should read it: the server's `extensions.code` picks the wording,
// and bad input is split per field (`extensions.violations`, paths like `input.variants.0.sku`)
// so forms can show each message beside its field.
import type { CombinedError } from '@urql/core';

export interface Problem {
  code: string | null;
  message: string;
  /** Field path → message. */
  fields: Record<string, string>;
  /** On CONFLICT from a stale `expectedVersion`. */
  currentVersion?: number;
}

type Extensions = {
  code?: string;
  field?: string;
  violations?: { field: string; message: string }[];
  currentVersion?: number;
  retryAfterSeconds?: number;
};

export function problemOf(error: CombinedError | undefined | null): Problem | null {
  if (!error) return null;
  if (error.networkError && !error.graphQLErrors.length) {
    return { code: 'NETWORK', message: 'Could not reach the server. Check your connection and try again.', fields: {} };
  }
  const errors = error.graphQLErrors.filter((e) => code(e.extensions) !== 'STALE_READ');
  const first = errors[0];
  if (!first) return null;
  const ext = (first.extensions ?? {}) as Extensions;
  const fields: Record<string, string> = {};
  for (const e of errors) {
    const x = (e.extensions ?? {}) as Extensions;
    for (const v of x.violations ?? []) fields[v.field] ??= stripField(v.message, v.field);
    if (x.field) fields[x.field] ??= stripField(e.message, x.field);
  }
  return {
    code: ext.code ?? null,
    message: wording(ext, first.message),
    fields,
    currentVersion: ext.currentVersion,
  };
}

/** True when a catalog read answered with data older than our own writes (still saving). */
export function isStale(error: CombinedError | undefined | null): boolean {
  return !!error?.graphQLErrors.some((e) => code(e.extensions) === 'STALE_READ');
}

function code(ext: unknown): string | undefined {
  return (ext as Extensions | undefined)?.code;
}

function wording(ext: Extensions, message: string): string {
  switch (ext.code) {
    case 'BAD_USER_INPUT':
      return 'Please correct the highlighted fields.';
    case 'UNAUTHENTICATED':
      return 'Please sign in to continue.';
    case 'FORBIDDEN':
      return `Not allowed: ${message}`;
    case 'TOO_MANY_REQUESTS':
      return `Too many attempts. Try again in ${ext.retryAfterSeconds ?? 'a few'} seconds.`;
    case 'UNAVAILABLE':
    case 'TIMEOUT':
      return 'The service is busy right now. Please try again.';
    default:
      return message;
  }
}

/** The server phrases bad input (and each violation) as `<field>: <message>`. */
function stripField(message: string, field: string): string {
  return message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
}
