import { expect, test, type Page } from '@playwright/test';
import { UpdateMerchantMutation } from '../src/api/ops/account';
import { apiProduct, apiUser, finalScreenshot, gql, signInAs, unique, uniqueWord, untilSearchable } from './support';

const capitalized = (w: string) => w[0].toUpperCase() + w.slice(1);

/** `word` with one letter changed: one typo, which search forgives on words of 5+ letters. */
function misspelled(word: string): string {
  const i = 4;
  const other = word[i] === 'k' ? 'm' : 'k';
  return word.slice(0, i) + other + word.slice(i + 1);
}

const searchBox = (page: Page) => page.getByRole('search', { name: 'Products' }).getByRole('searchbox', { name: 'Search products' });
const cardNames = (page: Page) => page.getByRole('list', { name: 'Results, page 1' }).locator('.card-name');
const total = (page: Page) => page.locator('.search-bar').getByRole('status');

test('a buyer finds products by a misspelled word, narrows by category and sorts by price', async ({ page, request }) => {
  // A seller with a store name and three products sharing a made-up word: two lights, one teapot.
  const seller = await apiUser(request, ['SELLER']);
  const store = unique('Lumen store');
  await gql(request, UpdateMerchantMutation, { input: { storeName: store } }, seller.token);
  const word = uniqueWord();
  const Word = capitalized(word);
  const lights = unique('lighting');
  const kitchen = unique('kitchen');
  await apiProduct(request, seller.token, { name: `${Word} lantern`, category: lights, price: 2950, stock: [4] });
  await apiProduct(request, seller.token, { name: `${Word} desk lamp`, category: lights, price: 1999, stock: [4] });
  await apiProduct(request, seller.token, { name: `${Word} teapot`, category: kitchen, price: 1200, stock: [4] });
  await untilSearchable(request, word, 3);

  const buyer = await apiUser(request, ['BUYER']);
  await signInAs(page, buyer.email);
  const typo = misspelled(word);
  await searchBox(page).fill(typo);
  await searchBox(page).press('Enter');
  await expect(page).toHaveURL(`/search?q=${typo}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Results for “${typo}”`);
  await expect(total(page)).toHaveText('3 results');
  await expect(cardNames(page)).toHaveCount(3);

  // The facets count every match; the seller shows by store name.
  const categories = page.getByRole('region', { name: 'Category' });
  await expect(categories.getByRole('link', { name: `${kitchen} (1)` })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Seller' }).getByRole('link', { name: `${store} (3)` })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Price' }).getByRole('link', { name: '€10 to €50 (3)' })).toBeVisible();

  await categories.getByRole('link', { name: `${lights} (2)` }).click();
  await expect(page).toHaveURL(`/search?q=${typo}&category=${lights}`);
  await expect(total(page)).toHaveText('2 results');
  await expect(categories.locator('[aria-current="true"]')).toHaveText(`${lights} (2)`);
  await expect(categories.getByRole('link', { name: 'All categories' })).toBeVisible();
  await expect(cardNames(page)).toHaveCount(2);

  await page.getByLabel('Sort by').selectOption('PRICE_LOW_TO_HIGH');
  await expect(page).toHaveURL(/&sort=PRICE_LOW_TO_HIGH$/);
  await expect(cardNames(page)).toHaveText([`${Word} desk lamp`, `${Word} lantern`]);
  await page.getByLabel('Sort by').selectOption('PRICE_HIGH_TO_LOW');
  await expect(cardNames(page)).toHaveText([`${Word} lantern`, `${Word} desk lamp`]);

  // The URL holds the search: a reload keeps it, Back returns to the previous order.
  await page.reload();
  await expect(page.getByLabel('Sort by')).toHaveValue('PRICE_HIGH_TO_LOW');
  await expect(searchBox(page)).toHaveValue(typo);
  await expect(cardNames(page)).toHaveText([`${Word} lantern`, `${Word} desk lamp`]);
  await page.goBack();
  await expect(page.getByLabel('Sort by')).toHaveValue('PRICE_LOW_TO_HIGH');
  await expect(cardNames(page)).toHaveText([`${Word} desk lamp`, `${Word} lantern`]);
  await finalScreenshot(page, '8-search');

  await page.getByRole('link', { name: `${Word} desk lamp` }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${Word} desk lamp`);
});

test('"More results" pages on with the cursor, and a search without matches says so', async ({ page, request }) => {
  const seller = await apiUser(request, ['SELLER']);
  const word = uniqueWord();
  const category = unique('cat');
  await Promise.all(
    Array.from({ length: 25 }, (_, i) =>
      apiProduct(request, seller.token, { name: `${capitalized(word)} cup ${i}`, category, price: 500 + i, stock: [1] }),
    ),
  );
  await untilSearchable(request, word, 25);

  await page.goto('/');
  await searchBox(page).fill(word);
  await page.getByRole('search', { name: 'Products' }).getByRole('button', { name: 'Search' }).click();
  await expect(total(page)).toHaveText('25 results');
  await page.getByLabel('Sort by').selectOption('PRICE_LOW_TO_HIGH');
  await expect(cardNames(page)).toHaveCount(24);
  await expect(cardNames(page).first()).toHaveText(`${capitalized(word)} cup 0`);
  await page.getByRole('button', { name: 'More results' }).click();
  const second = page.getByRole('list', { name: 'Results, page 2' });
  await expect(second.getByRole('listitem')).toHaveCount(1);
  await expect(second.locator('.card-name')).toHaveText(`${capitalized(word)} cup 24`);
  await expect(second.getByRole('link')).toBeFocused();
  await expect(page.getByRole('button', { name: 'More results' })).toHaveCount(0);

  const nothing = uniqueWord(11);
  await searchBox(page).fill(nothing);
  await searchBox(page).press('Enter');
  await expect(page.getByText(`No products match “${nothing}”.`)).toBeVisible();
  await expect(total(page)).toHaveText('0 results');
});

test('search text the server refuses is explained beside the search box', async ({ page }) => {
  const long = 'a'.repeat(201);
  await page.goto(`/search?q=${long}`);
  await expect(page.getByRole('alert')).toHaveText('Your search must be at most 200 characters.');
  await expect(searchBox(page)).toHaveAttribute('aria-invalid', 'true');
  await expect(searchBox(page)).toHaveAccessibleDescription('Your search must be at most 200 characters.');

  // Blanks pass the browser's `required` check; the server's message says what is wrong.
  await searchBox(page).fill('   ');
  await searchBox(page).press('Enter');
  await expect(page.getByRole('alert')).toHaveText('Your search must not be empty.');

  await searchBox(page).fill('lamp');
  await searchBox(page).press('Enter');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(searchBox(page)).not.toHaveAttribute('aria-invalid');
});
