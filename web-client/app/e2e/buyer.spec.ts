import { expect, test, type Page } from '@playwright/test';
import { apiProduct, apiUser, finalScreenshot, signInAs, signUpInBrowser, unique } from './support';

/** From a product page: add one unit, check out to the profile address with `payment`. */
async function buy(page: Page, productId: string, payment = 'tok_approve') {
  await page.goto(`/products/${productId}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('link', { name: 'Go to cart' }).click();
  await expect(page.getByRole('group', { name: 'Ship to' })).toContainText('Calle Mayor 1');
  await page.getByLabel('Payment (development)').selectOption(payment);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('heading', { name: /^Order / })).toBeVisible();
}

const timeline = (page: Page) => page.getByRole('list', { name: 'Order timeline' }).getByRole('listitem');

test('a buyer browses with filters and paging, checks out and watches the order confirm live', async ({ page, request, browser }) => {
  const seller = await apiUser(request, ['SELLER']);
  const category = unique('cat');
  // 13 cheap products (more than a page of 12) and one expensive one the price filter hides.
  const target = await apiProduct(request, seller.token, { name: unique('Oldest teapot'), category, price: 1500, stock: [3] });
  for (let i = 0; i < 12; i++) await apiProduct(request, seller.token, { name: unique(`Cup ${i}`), category, price: 900, stock: [3] });
  await apiProduct(request, seller.token, { name: unique('Golden kettle'), category, price: 9000, stock: [1] });

  await signUpInBrowser(page);
  await page.getByRole('navigation').getByRole('link', { name: 'Catalog' }).click();
  await page.getByLabel('Category').fill(category);
  await page.getByLabel('Max price (€)').fill('20');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByRole('list', { name: 'Products, page 1' }).getByRole('listitem')).toHaveCount(12);
  await expect(page.getByText('Golden kettle')).toHaveCount(0);
  await page.getByRole('button', { name: 'More products' }).click();
  const page2 = page.getByRole('list', { name: 'Products, page 2' });
  await expect(page2.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'More products' })).toHaveCount(0);

  await page2.getByRole('link', { name: /Oldest teapot/ }).click();
  await expect(page).toHaveURL(`/products/${target.id}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('link', { name: 'Go to cart' }).click();
  await expect(page.getByRole('link', { name: 'Cart (1)' })).toBeVisible();
  // No profile address yet: the checkout asks for one, and names what is missing.
  const address = page.getByRole('group', { name: 'Shipping address' });
  await address.getByLabel('Recipient name').fill('Bea Buyer');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(address.getByText('must not be empty').first()).toBeVisible();
  await address.getByLabel('Street and number').fill('Rua Nova 5');
  await address.getByLabel('City').fill('Porto');
  await address.getByLabel('Postal code').fill('4000-123');
  await address.getByLabel('Country code (e.g. ES)').fill('pt');
  await page.getByRole('button', { name: 'Place order' }).click();

  await expect(page.getByTestId('order-status')).toHaveText('Confirmed');
  await expect(timeline(page)).toHaveText([/Order placed/, /Stock reserved/, /Payment taken/, /Confirmed/]);
  await expect(page.getByRole('link', { name: 'Cart', exact: true })).toBeVisible(); // the cart was emptied
  await expect(page.getByText('Rua Nova 5')).toBeVisible();
  await page.getByRole('link', { name: 'Orders' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Confirmed' })).toHaveCount(1);
  await finalScreenshot(page, '2-buyer-order-confirmed');

  // The seller sees the sale, with where to ship it.
  const sellerPage = await (await browser.newContext()).newPage();
  await signInAs(sellerPage, seller.email);
  await sellerPage.goto('/sell/sales');
  const sale = sellerPage.getByRole('list', { name: 'Sales' }).getByRole('listitem').first();
  await expect(sale).toContainText('Confirmed');
  await expect(sale).toContainText('Rua Nova 5');
});

test('a declined payment shows PAYMENT_FAILED with its reason', async ({ page, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const product = await apiProduct(request, seller.token, { name: unique('Vase'), category: unique('cat'), stock: [2] });
  const buyer = await apiUser(request, ['BUYER']);
  await signInAs(page, buyer.email);
  await buy(page, product.id, 'tok_decline');
  await expect(page.getByTestId('order-status')).toHaveText(/^Payment failed: .*declined/);
  await expect(timeline(page).last()).toContainText('Payment failed');
  await finalScreenshot(page, '3-payment-declined');
});

test('a checkout retried after a network error places one order', async ({ page, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const product = await apiProduct(request, seller.token, { name: unique('Lantern'), category: unique('cat'), stock: [5] });
  const buyer = await apiUser(request, ['BUYER']);
  await signInAs(page, buyer.email);
  await page.goto(`/products/${product.id}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.goto('/cart');

  // The first placeOrder reaches the server, but its answer is lost on the way back.
  let lost = false;
  await page.route('**/graphql', async (route) => {
    if (lost || !route.request().postData()?.includes('PlaceOrder')) return route.continue();
    lost = true;
    await route.fetch();
    await route.abort('connectionreset');
  });
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('alert')).toContainText('Could not reach the server');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('Confirmed');

  await page.getByRole('link', { name: 'Orders' }).click();
  await expect(page.getByRole('list').getByRole('link', { name: /^Order / })).toHaveCount(1);
});

test('two buyers race for the last unit: one is confirmed, the other rejected', async ({ browser, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const product = await apiProduct(request, seller.token, { name: unique('Last print'), category: unique('cat'), stock: [1] });
  const pages = await Promise.all(
    [0, 1].map(async () => {
      const buyer = await apiUser(request, ['BUYER']);
      const page = await (await browser.newContext()).newPage();
      await signInAs(page, buyer.email);
      await page.goto(`/products/${product.id}`);
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByRole('link', { name: 'Go to cart' }).click();
      return page;
    }),
  );
  await Promise.all(pages.map((p) => p.getByRole('button', { name: 'Place order' }).click()));

  const outcomes = await Promise.all(
    pages.map(async (p) => {
      const status = p.getByTestId('order-status');
      await expect(status).toHaveText(/^(Confirmed|Rejected: .*stock.*)$/);
      return (await status.textContent())!;
    }),
  );
  expect(outcomes.map((o) => o.split(':')[0]).sort()).toEqual(['Confirmed', 'Rejected']);
  const rejected = pages[outcomes.findIndex((o) => o.startsWith('Rejected'))];
  await finalScreenshot(rejected, '4-race-rejected');
});

test('a dropped socket mid-order recovers the final state without duplicate steps', async ({ page, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const product = await apiProduct(request, seller.token, { name: unique('Kite'), category: unique('cat'), stock: [2] });
  const buyer = await apiUser(request, ['BUYER']);

  // Proxy the page's sockets; on the first one that carries an order status, pass that first
  // status on, then drop the connection from the server side.
  let dropped = 0;
  let connections = 0;
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    connections++;
    const server = ws.connectToServer();
    server.onMessage((message) => {
      ws.send(message);
      if (!dropped && String(message).includes('"orderStatus"')) {
        dropped++;
        ws.close({ code: 1012, reason: 'test: server restart' });
      }
    });
  });

  await signInAs(page, buyer.email);
  await buy(page, product.id, 'tok_transient');
  await expect(page.getByTestId('order-status')).toHaveText('Confirmed', { timeout: 20_000 });
  expect(dropped).toBe(1);
  expect(connections).toBeGreaterThan(1);
  const steps = await timeline(page).evaluateAll((items) => items.map((li) => li.getAttribute('data-status')));
  expect(steps).toEqual(['PENDING', 'STOCK_HELD', 'PAID', 'CONFIRMED']);
  await finalScreenshot(page, '6-socket-recovered');
});
