// Shipping address inputs, shared by the profile and checkout. `prefix` is the API path of the
// address (e.g. `input.shippingAddress`) so violations land beside the right input.
import { Field } from '../../components/Field';

export interface AddressDraft {
  name: string;
  line1: string;
  line2: string;
  city: string;
  postalCode: string;
  country: string;
}

export const EMPTY_ADDRESS: AddressDraft = { name: '', line1: '', line2: '', city: '', postalCode: '', country: '' };

export function draftOf(a: { name: string; line1: string; line2?: string | null; city: string; postalCode: string; country: string } | null | undefined): AddressDraft {
  return a ? { ...a, line2: a.line2 ?? '' } : EMPTY_ADDRESS;
}

/** The AddressInput to send: line2 omitted when blank, country upper-cased. */
export function addressInput(d: AddressDraft) {
  return { ...d, line2: d.line2.trim() || null, country: d.country.trim().toUpperCase() };
}

export function isBlank(d: AddressDraft): boolean {
  return Object.values(d).every((v) => !v.trim());
}

interface Props {
  legend: string;
  value: AddressDraft;
  onChange: (next: AddressDraft) => void;
  prefix: string;
  errors: Record<string, string>;
}

export function AddressFields({ legend, value, onChange, prefix, errors }: Props) {
  const field = (key: keyof AddressDraft, label: string, extra: { autoComplete: string; maxLength?: number }) => (
    <Field label={label} value={value[key]} onValue={(v) => onChange({ ...value, [key]: v })}
      error={errors[`${prefix}.${key}`]} {...extra} />
  );
  return (
    <fieldset>
      <legend>{legend}</legend>
      {errors[prefix] && <p class="error" role="alert">{errors[prefix]}</p>}
      {field('name', 'Recipient name', { autoComplete: 'name' })}
      {field('line1', 'Street and number', { autoComplete: 'address-line1' })}
      {field('line2', 'Flat, floor (optional)', { autoComplete: 'address-line2' })}
      {field('city', 'City', { autoComplete: 'address-level2' })}
      {field('postalCode', 'Postal code', { autoComplete: 'postal-code' })}
      {field('country', 'Country code (e.g. ES)', { autoComplete: 'country', maxLength: 2 })}
    </fieldset>
  );
}
