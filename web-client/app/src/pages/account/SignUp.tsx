import { useMutation } from '@urql/preact';
import { useState } from 'preact/hooks';
import { SignUpMutation } from '../../api/ops/account';
import { Field } from '../../components/Field';
import { PageTitle } from '../../components/PageTitle';
import { ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { Link, navigate } from '../../router';

export function SignUp() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [seller, setSeller] = useState(false);
  const [state, signUp] = useMutation(SignUpMutation);
  const problem = problemOf(state.error);

  const submit = async (e: Event) => {
    e.preventDefault();
    const roles = seller ? (['BUYER', 'SELLER'] as const) : (['BUYER'] as const);
    const result = await signUp({ input: { email, password, roles: [...roles] } });
    if (result.data) navigate(`/confirm?email=${encodeURIComponent(email)}`);
  };

  return (
    <form class="narrow" onSubmit={submit}>
      <PageTitle title="Create an account">Create an account</PageTitle>
      <ProblemNote problem={problem} />
      <Field label="Email" type="email" autoComplete="email" required value={email} onValue={setEmail} error={problem?.fields['input.email']} />
      <Field label="Password" type="password" autoComplete="new-password" required value={password} onValue={setPassword}
        error={problem?.fields['input.password']} hint="10 or more characters, with a letter and a digit." />
      <label class="check">
        <input type="checkbox" checked={seller} onChange={(e) => setSeller(e.currentTarget.checked)} /> I also want to sell
      </label>
      <button type="submit" disabled={state.fetching}>Sign up</button>
      <p>
        Already have an account? <Link href="/signin">Sign in</Link>
      </p>
    </form>
  );
}
