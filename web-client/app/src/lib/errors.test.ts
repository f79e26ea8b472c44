import { CombinedError } from '@urql/core';
import { describe, expect, it } from 'vitest';
import { isStale, problemOf } from './errors';

const gqlError = (message: string, extensions: Record<string, unknown>) =>
  new CombinedError({ graphQLErrors: [{ message, extensions }] });

describe('problemOf', () => {
  it('puts each violation beside its field', () => {
    const p = problemOf(
      gqlError('input.name: must be 1 to 200 characters', {
        code: 'BAD_USER_INPUT',
        field: 'input.name',
        violations: [
          { field: 'input.name', message: 'input.name: must be 1 to 200 characters' },
          { field: 'input.variants.1.sku', message: 'input.variants.1.sku: already used' },
        ],
      }),
    );
    expect(p?.message).toBe('Please correct the highlighted fields.');
    expect(p?.fields).toEqual({ 'input.name': 'must be 1 to 200 characters', 'input.variants.1.sku': 'already used' });
  });

  it('keeps the current version of a conflict', () => {
    const p = problemOf(gqlError('the product changed: current version is 4', { code: 'CONFLICT', currentVersion: 4 }));
    expect(p).toMatchObject({ code: 'CONFLICT', currentVersion: 4 });
  });

  it('says when to retry after throttling', () => {
    expect(problemOf(gqlError('too many', { code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 7 }))?.message).toMatch('7 seconds');
  });

  it('treats a stale read as a note beside data, not a failure', () => {
    const e = gqlError('stale', { code: 'STALE_READ' });
    expect(problemOf(e)).toBeNull();
    expect(isStale(e)).toBe(true);
  });

  it('explains a network failure', () => {
    expect(problemOf(new CombinedError({ networkError: new Error('offline') }))?.code).toBe('NETWORK');
  });
});
