// Name, description and category, saved with optimistic concurrency: the form remembers the
// version it was loaded from and sends it as expectedVersion. A save over someone else's newer
// save answers CONFLICT; the seller then reloads the newest version and edits again.
import { useMutation } from '@urql/preact';
import { useEffect, useState } from 'preact/hooks';
import { UpdateProductMutation } from '../../api/ops/inventory';
import { Field, TextArea } from '../../components/Field';
import { ProblemNote } from '../../components/Status';
import { problemOf, type Problem } from '../../lib/errors';
import type { OnSaved, Product } from './Editor';

type Values = { name: string; description: string; category: string };

const valuesOf = (p: Product): Values => ({ name: p.name, description: p.description, category: p.category });
const same = (a: Values, b: Values) => a.name === b.name && a.description === b.description && a.category === b.category;

export function DetailsForm({ latest, onSaved }: { latest: Product; onSaved: OnSaved }) {
  const [base, setBase] = useState(latest);
  const [values, setValues] = useState(valuesOf(latest));
  const [reloadTo, setReloadTo] = useState<number | null>(null);
  const [state, update] = useMutation(UpdateProductMutation);
  const [problem, setProblem] = useState<Problem | null>(null);
  const dirty = !same(values, valuesOf(base));
  const conflict = problem?.code === 'CONFLICT' ? problem : null;

  // Follow newer versions while nothing is typed, or once a reload asked for one.
  useEffect(() => {
    if (latest.version <= base.version) return;
    if (!dirty || (reloadTo !== null && latest.version >= reloadTo)) {
      setBase(latest);
      setValues(valuesOf(latest));
      setReloadTo(null);
    }
  }, [latest.version, reloadTo]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const result = await update({ id: base.id, expectedVersion: base.version, input: values });
    setProblem(problemOf(result.error));
    if (!result.data) return;
    onSaved(result.data.updateProduct);
    setBase(result.data.updateProduct);
    setValues(valuesOf(result.data.updateProduct));
  };

  const set = (key: keyof Values) => (v: string) => setValues({ ...values, [key]: v });
  return (
    <form onSubmit={submit} aria-labelledby="details-h">
      <h2 id="details-h">Details</h2>
      {latest.version > base.version && dirty && !conflict && (
        <p role="status" class="muted">This product was changed elsewhere since you started editing.</p>
      )}
      {conflict ? (
        <div class="problem" role="alert">
          <p>
            Someone saved this product after you opened it (now version {conflict.currentVersion ?? 'newer'}). Your
            changes were not saved.
          </p>
          <button type="button" onClick={() => {
            setProblem(null);
            setReloadTo(conflict.currentVersion ?? latest.version);
          }}>
            Reload the latest version
          </button>
        </div>
      ) : (
        <ProblemNote problem={problem} />
      )}
      {reloadTo !== null && <p role="status">Loading the latest version…</p>}
      <Field label="Name" required value={values.name} onValue={set('name')} error={problem?.fields['input.name']} />
      <TextArea label="Description" value={values.description} onValue={set('description')} error={problem?.fields['input.description']} />
      <Field label="Category" required value={values.category} onValue={set('category')} error={problem?.fields['input.category']} />
      <button type="submit" disabled={state.fetching || !dirty}>Save details</button>
    </form>
  );
}
