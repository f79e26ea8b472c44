import { randomUUID } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { apiProduct, apiUser, finalScreenshot, png, signInAs, signUpInBrowser, unique } from './support';

test('a seller signs up, creates a product with two variants and stock, and uploads its image', async ({ page }) => {
  await signUpInBrowser(page, { seller: true });

  await page.getByRole('link', { name: 'Sell' }).click();
  await page.getByRole('link', { name: 'New product' }).click();
  const name = unique('Lamp');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Category').fill('lighting');
  const first = page.getByRole('group', { name: 'Variant 1' });
  await first.getByLabel('SKU').fill(unique('LAMP-S'));
  await first.getByLabel('Variant name').fill('Small');
  await first.getByLabel('Price (€)').fill('19.99');
  await first.getByLabel('Units in stock').fill('5');
  await page.getByRole('button', { name: 'Add a variant' }).click();
  const second = page.getByRole('group', { name: 'Variant 2' });
  await second.getByLabel('SKU').fill(unique('LAMP-L'));
  await second.getByLabel('Variant name').fill('Large');
  await second.getByLabel('Price (€)').fill('29.50');
  await second.getByLabel('Units in stock').fill('3');
  await page.getByRole('button', { name: 'Create product' }).click();

  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(page.getByTestId('stock')).toHaveCount(2);
  await expect(page.getByTestId('stock').first()).toContainText('5 available');

  // Adjust stock with a reason: the ledger-backed numbers update.
  const large = page.getByRole('article', { name: 'Variant Large' });
  await large.getByLabel('Change').selectOption('adjust');
  await large.getByLabel('Units').fill('2');
  await large.getByLabel('Reason').fill('restock');
  await large.getByRole('button', { name: 'Update stock' }).click();
  await expect(large.getByTestId('stock')).toContainText('5 available');

  await page.getByLabel(/Upload an image/).setInputFiles({ name: 'lamp.png', mimeType: 'image/png', buffer: png(64, 48, [230, 120, 20]) });
  const image = page.getByTestId('product-image');
  await expect(image).toBeVisible({ timeout: 20_000 });
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(64);

  // The console lists it at once (consistency tokens of this tab's writes).
  await page.getByRole('link', { name: 'All your products' }).click();
  await page.getByRole('link', { name }).click();
  await expect(page.getByTestId('product-image')).toBeVisible();
  await finalScreenshot(page, '1-seller-product');
});

test('the editor says so when a product is not the seller’s: an unknown id, another seller’s', async ({ page, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const other = await apiUser(request, ['SELLER']);
  const theirs = await apiProduct(request, other.token, { name: unique('Vase'), category: 'decor', stock: [1] });
  await signInAs(page, seller.email);

  for (const id of [randomUUID(), theirs.id]) {
    await page.goto(`/sell/products/${id}`);
    await expect(page.getByRole('heading', { name: 'Product not found', level: 1 })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Save details' })).toHaveCount(0);
  }
  await expect(page).toHaveTitle(/Product not found/);
  await page.getByRole('link', { name: 'Back to your products' }).click();
  await expect(page.getByRole('heading', { name: 'Your products', level: 1 })).toBeVisible();
  await finalScreenshot(page, '1-seller-product-not-found');
});
