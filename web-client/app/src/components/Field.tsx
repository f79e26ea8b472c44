// A labelled form control with its error beside it (aria-invalid + aria-describedby), keyed by
// the API's field path so server violations land on the right input.
import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

/** The input attributes forms here use. */
interface InputProps {
  type?: 'text' | 'email' | 'password' | 'number';
  name?: string;
  required?: boolean;
  autoComplete?: string;
  inputMode?: 'text' | 'numeric' | 'decimal' | 'email';
  min?: number;
  maxLength?: number;
}

interface FieldProps extends InputProps {
  label: string;
  value: string;
  onValue: (value: string) => void;
  error?: string;
  hint?: ComponentChildren;
}

export function Field({ label, value, onValue, error, hint, type = 'text', ...input }: FieldProps) {
  const id = useId();
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      <input
        {...input}
        // Preact 11 types each input `type` separately; every one of ours takes these props.
        type={type as 'text'}
        id={id}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? `${id}-note` : undefined}
      />
      {(error || hint) && (
        <p id={`${id}-note`} class={error ? 'error' : 'hint'}>
          {error ?? hint}
        </p>
      )}
    </div>
  );
}

interface SelectProps {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: readonly (readonly [value: string, label: string])[];
  error?: string;
  name?: string;
}

export function Select({ label, value, onValue, options, error, name }: SelectProps) {
  const id = useId();
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-note` : undefined}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
      {error && <p id={`${id}-note`} class="error">{error}</p>}
    </div>
  );
}

export function TextArea({ label, value, onValue, error }: { label: string; value: string; onValue: (v: string) => void; error?: string }) {
  const id = useId();
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      <textarea id={id} value={value} rows={4} onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-note` : undefined} />
      {error && <p id={`${id}-note`} class="error">{error}</p>}
    </div>
  );
}
