import { Field } from '../../components/Field';
import type { VariantDraft } from '../../seller/variantDraft';

interface Props {
  legend: string;
  value: VariantDraft;
  onChange: (next: VariantDraft) => void;
  /** API path of this variant's input, e.g. `input.variants.0` or `input`. */
  prefix: string;
  errors: Record<string, string>;
  withStock?: boolean;
}

export function VariantFields({ legend, value, onChange, prefix, errors, withStock = true }: Props) {
  const set = (key: keyof VariantDraft) => (v: string) => onChange({ ...value, [key]: v });
  const err = (key: string) => errors[`${prefix}.${key}`];
  return (
    <fieldset class="variant-fields">
      <legend>{legend}</legend>
      <Field label="SKU" required value={value.sku} onValue={set('sku')} error={err('sku')} />
      <Field label="Variant name" value={value.name} onValue={set('name')} error={err('name')} />
      <Field label="Price (€)" required inputMode="decimal" value={value.price} onValue={set('price')}
        error={err('price.amount') ?? err('price')} />
      {withStock && (
        <Field label="Units in stock" inputMode="numeric" value={value.onHand} onValue={set('onHand')} error={err('onHand')} />
      )}
    </fieldset>
  );
}
