import { expect, test, type Page } from '@playwright/test';
import { PlaceOrderMutation } from '../src/api/ops/orders';
import { apiProduct, apiUser, expectAccessible, finalScreenshot, gql, signInAs, unique, untilSearchable } from './support';

/** Every page of the client, signed in as a user who buys and sells, checked with axe-core. */
async function visitEveryPage(page: Page, request: Parameters<typeof apiUser>[0], shot: string): Promise<string> {
  const seller = await apiUser(request, ['SELLER']);
  const bowl = unique('Bowl');
  const product = await apiProduct(request, seller.token, { name: bowl, category: unique('cat'), stock: [5, 0] });
  const me = await apiUser(request, ['BUYER', 'SELLER']);
  const mine = await apiProduct(request, me.token, { name: unique('Jug'), category: 'kitchen', stock: [2] });
  const { placeOrder } = await gql(
    request,
    PlaceOrderMutation,
    { input: { items: [{ variantId: product.variantIds[0], quantity: 1 }], paymentToken: 'tok_approve', idempotencyKey: unique('k') } },
    me.token,
  );

  await untilSearchable(request, bowl, 1);
  const search = `/search?q=${encodeURIComponent(bowl)}`;

  const anonymous: [string, string][] = [
    ['/', 'Recommended for you'],
    ['/catalog', 'Catalog'],
    [search, `Results for “${bowl}”`],
    ['/search', 'Search'],
    [`/search?q=${'x'.repeat(201)}`, 'Results for'],
    [`/products/${product.id}`, 'Bowl'],
    [`/sellers/${seller.id}`, 'Independent seller'],
    ['/signup', 'Create an account'],
    [`/confirm?email=${encodeURIComponent(me.email)}`, 'Confirm your email'],
    ['/signin', 'Sign in'],
    ['/cart', 'Your cart'],
    ['/nowhere', 'Page not found'],
  ];
  for (const [path, heading] of anonymous) await check(page, path, heading);

  await signInAs(page, me.email);
  await page.goto(`/products/${product.id}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  const signedIn: [string, string][] = [
    ['/cart', 'Your cart'],
    ['/profile', 'Your profile'],
    ['/orders', 'Your orders'],
    [`/orders/${placeOrder.id}`, 'Order'],
    ['/sell', 'Your products'],
    ['/sell/new', 'New product'],
    [`/sell/products/${mine.id}`, 'Jug'],
    ['/sell/sales', 'Your sales'],
  ];
  for (const [path, heading] of signedIn) await check(page, path, heading);
  await finalScreenshot(page, shot);
  return search;
}

async function check(page: Page, path: string, heading: string) {
  await page.goto(path);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(heading);
  await expect(page.getByRole('status').filter({ hasText: /Loading/ })).toHaveCount(0);
  await expectAccessible(page);
}

test('every page passes axe-core on a desktop', async ({ page, request }) => {
  await visitEveryPage(page, request, '7-accessibility-desktop');
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  test('every page passes axe-core, and nothing scrolls sideways', async ({ page, request }) => {
    const search = await visitEveryPage(page, request, '7-accessibility-phone');
    await page.goto('/catalog');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Search folds its filters above the results on a phone: open them, check them too.
    await check(page, search, 'Results for');
    await page.getByText('Filters', { exact: true }).click();
    await expect(page.getByRole('region', { name: 'Price' })).toBeVisible();
    await expectAccessible(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });
});
