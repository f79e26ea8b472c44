// Confirms an account with the emailed code. Locally the "email" lands in the development
// mailbox (the devMailbox query), which this page can show.
import { useMutation, useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import { ConfirmSignUpMutation, DevMailboxQuery } from '../../api/ops/account';
import { Field } from '../../components/Field';
import { PageTitle } from '../../components/PageTitle';
import { ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { navigate, useLocation } from '../../router';

export function Confirm() {
  const { query } = useLocation();
  const [email, setEmail] = useState(query.get('email') ?? '');
  const [code, setCode] = useState('');
  const [mailbox, setMailbox] = useState(false);
  const [state, confirm] = useMutation(ConfirmSignUpMutation);
  const problem = problemOf(state.error);

  const submit = async (e: Event) => {
    e.preventDefault();
    const result = await confirm({ email, code: code.trim() });
    if (result.data?.confirmSignUp) navigate(`/signin?email=${encodeURIComponent(email)}&confirmed=1`);
  };

  return (
    <form class="narrow" onSubmit={submit}>
      <PageTitle title="Confirm your email">Confirm your email</PageTitle>
      <p>We sent an activation code to your email.</p>
      <ProblemNote problem={problem} />
      <Field label="Email" type="email" required value={email} onValue={setEmail} error={problem?.fields['email']} />
      <Field label="Activation code" required autoComplete="one-time-code" inputMode="numeric" value={code} onValue={setCode}
        error={problem?.fields['code']} />
      <button type="submit" disabled={state.fetching}>Confirm</button>
      <aside class="dev-hint" aria-label="Development mailbox">
        <p>
          Running mercado locally? No email is sent: the code is in the development mailbox.{' '}
          <button type="button" class="link" onClick={() => setMailbox(true)} disabled={!email}>
            Open the development mailbox
          </button>
        </p>
        {mailbox && email && <DevMailbox email={email} onCode={setCode} />}
      </aside>
    </form>
  );
}

function DevMailbox({ email, onCode }: { email: string; onCode: (code: string) => void }) {
  const [{ data, error }] = useQuery({ query: DevMailboxQuery, variables: { email }, requestPolicy: 'network-only' });
  if (error) return <ProblemNote problem={problemOf(error)} />;
  const latest = data?.devMailbox[0];
  if (!data) return null;
  if (!latest) return <p>No message for {email} yet.</p>;
  const code = latest.body.match(/\b\d{6}\b/)?.[0];
  return (
    <div class="mail">
      <p>
        <strong>{latest.subject}</strong>
      </p>
      <pre>{latest.body}</pre>
      {code && (
        <button type="button" onClick={() => onCode(code)}>
          Use code {code}
        </button>
      )}
    </div>
  );
}
