import { expect, test } from '@playwright/test';
import { apiProduct, apiUser, finalScreenshot, signInAs, unique } from './support';

test('a stale edit shows the conflict, and reloading brings the newer version', async ({ context, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const product = await apiProduct(request, seller.token, { name: unique('Chair'), category: 'furniture', stock: [1] });
  const first = await context.newPage();
  await signInAs(first, seller.email);
  const second = await context.newPage(); // a second tab of the same session
  for (const tab of [first, second]) {
    await tab.goto(`/sell/products/${product.id}`);
    await expect(tab.getByRole('button', { name: 'Save details' })).toBeVisible();
  }

  await second.getByLabel('Name', { exact: true }).fill('Chair from the second tab');
  await first.getByLabel('Name', { exact: true }).fill('Chair from the first tab');
  await first.getByRole('button', { name: 'Save details' }).click();
  await expect(first.getByRole('heading', { level: 1 })).toHaveText('Chair from the first tab');

  await second.getByRole('button', { name: 'Save details' }).click();
  const conflict = second.getByRole('alert');
  await expect(conflict).toContainText('Someone saved this product after you opened it');
  await conflict.getByRole('button', { name: 'Reload the latest version' }).click();
  await expect(second.getByLabel('Name', { exact: true })).toHaveValue('Chair from the first tab');
  await expect(second.getByRole('alert')).toHaveCount(0);

  // Editing again from the reloaded version works.
  await second.getByLabel('Name', { exact: true }).fill('Chair, agreed');
  await second.getByRole('button', { name: 'Save details' }).click();
  await expect(second.getByRole('heading', { level: 1 })).toHaveText('Chair, agreed');
  await finalScreenshot(second, '5-stale-edit-reloaded');
});
