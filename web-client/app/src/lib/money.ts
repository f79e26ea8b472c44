/** The store's currency: prices typed in forms and the search's price ranges (minor units) are in it. */
export const CURRENCY = 'EUR';

export interface Money {
  amount: number;
  currency: string;
}

function digits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Minor units to a localised price: 1999 EUR → €19.99. */
export function formatMoney(m: Money): string {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency }).format(
    m.amount / 10 ** digits(m.currency),
  );
}

/** A price typed in major units ("19.99") to minor units, or null when it is not a number. */
export function toMinor(major: string, currency: string): number | null {
  const value = Number(major.replace(',', '.'));
  if (major.trim() === '' || !Number.isFinite(value)) return null;
  return Math.round(value * 10 ** digits(currency));
}

export function toMajor(m: Money): string {
  return (m.amount / 10 ** digits(m.currency)).toFixed(digits(m.currency));
}

export function lowestPrice(variants: readonly { price: Money }[]): Money | null {
  return variants.reduce<Money | null>((low, v) => (!low || v.price.amount < low.amount ? v.price : low), null);
}
