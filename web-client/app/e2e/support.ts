// Shared steps for the journeys. Every journey makes its own users (unique emails), so the
// journeys run against any stack, including a freshly started one.
import { deflateSync } from 'node:zlib';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import type { TadaDocumentNode } from 'gql.tada';
import { sentText } from '../src/api/documents';
import { ConfirmSignUpMutation, DevMailboxQuery, SignInMutation, SignUpMutation, UpdateProfileMutation } from '../src/api/ops/account';
import { SearchQuery } from '../src/api/ops/catalog';
import { CreateProductMutation } from '../src/api/ops/inventory';

export const PASSWORD = 'correct horse 42';

export function uniqueEmail(who: string): string {
  return `${who}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** A made-up word of `length` letters, unlike any other product's words (search finds it alone). */
export function uniqueWord(length = 9): string {
  const letters = 'bcdfghjklmnpqrstvwxz';
  const vowels = 'aeiou';
  return Array.from({ length }, (_, i) => {
    const set = i % 2 ? vowels : letters;
    return set[Math.floor(Math.random() * set.length)];
  }).join('');
}

/** Signs up through the pages: form, confirmation with the development mailbox, sign-in. */
export async function signUpInBrowser(page: Page, opts: { seller?: boolean } = {}): Promise<string> {
  const email = uniqueEmail(opts.seller ? 'seller' : 'buyer');
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  if (opts.seller) await page.getByLabel('I also want to sell').check();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm your email' })).toBeVisible();
  await page.getByRole('button', { name: 'Open the development mailbox' }).click();
  await page.getByRole('button', { name: /^Use code/ }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByText('Your account is confirmed')).toBeVisible();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  return email;
}

/**
 * The client's own operations straight to the API, for the setup a journey is not about. Sent
 * as the client sends them, so the journeys also run against a trusted-documents server.
 */
export async function gql<R, V>(request: APIRequestContext, doc: TadaDocumentNode<R, V>, variables: V, token?: string): Promise<R> {
  const response = await request.post('/graphql', {
    data: { query: sentText(doc), variables },
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data as R;
}

/** A confirmed, signed-in user made through the API (buyers get a profile address). */
export async function apiUser(request: APIRequestContext, roles: ('BUYER' | 'SELLER')[]) {
  const email = uniqueEmail(roles.includes('SELLER') ? 'seller' : 'buyer');
  const { signUp } = await gql(request, SignUpMutation, { input: { email, password: PASSWORD, roles } });
  const { devMailbox } = await gql(request, DevMailboxQuery, { email });
  const code = devMailbox[0].body.match(/\b\d{6}\b/)![0];
  await gql(request, ConfirmSignUpMutation, { email, code });
  const { signIn } = await gql(request, SignInMutation, { email, password: PASSWORD });
  const token = signIn.accessToken;
  if (roles.includes('BUYER')) {
    const shippingAddress = { name: 'Ana Buyer', line1: 'Calle Mayor 1', city: 'Madrid', postalCode: '28013', country: 'ES' };
    await gql(request, UpdateProfileMutation, { input: { shippingAddress } }, token);
  }
  return { email, token, id: signUp.userId };
}

/** An active product with one variant per entry of `stock`; returns ids. */
export async function apiProduct(
  request: APIRequestContext,
  token: string,
  p: { name: string; category: string; price?: number; stock: number[] },
): Promise<{ id: string; variantIds: string[] }> {
  const { createProduct } = await gql(
    request,
    CreateProductMutation,
    {
      input: {
        name: p.name,
        category: p.category,
        variants: p.stock.map((onHand, i) => ({
          sku: unique(`SKU${i}`),
          name: `Variant ${i + 1}`,
          price: { amount: p.price ?? 1000, currency: 'EUR' },
          onHand,
        })),
      },
    },
    token,
  );
  return { id: createProduct.id, variantIds: createProduct.variants.map((v) => v.id) };
}

/** Waits until search finds `total` products for `query` (search follows writes a moment later). */
export async function untilSearchable(request: APIRequestContext, query: string, total: number): Promise<void> {
  const variables = { query, sort: 'RELEVANCE' as const, first: 1, facets: [] };
  await expect
    .poll(async () => (await gql(request, SearchQuery, variables)).search.total, { timeout: 10_000, intervals: [100, 200, 500] })
    .toBe(total);
}

/** Signs a browser page in with a session made through the API. */
export async function signInAs(page: Page, email: string): Promise<void> {
  await page.goto('/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

export async function finalScreenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-output/${name}.png`, fullPage: true });
}

export async function expectAccessible(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** A solid-colour PNG, built byte by byte (no image library needed). */
export function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from(rgb))]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
