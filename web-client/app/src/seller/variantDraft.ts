import { toMinor } from '../lib/money';

/** A variant as typed into a form: price in major units, stock as text. */
export interface VariantDraft {
  sku: string;
  name: string;
  price: string;
  onHand: string;
}

export const CURRENCY = 'EUR';

export const emptyVariant = (): VariantDraft => ({ sku: '', name: '', price: '', onHand: '0' });

/** The VariantInput to send; an unreadable number is sent as -1 so the server names the field. */
export function variantInput(d: VariantDraft) {
  return {
    sku: d.sku.trim(),
    name: d.name.trim() || null,
    price: { amount: toMinor(d.price, CURRENCY) ?? -1, currency: CURRENCY },
    onHand: /^\d+$/.test(d.onHand.trim()) ? Number(d.onHand) : -1,
  };
}
