import { useMutation } from '@urql/preact';
import { useState } from 'preact/hooks';
import { session } from '../../api';
import { SignInMutation } from '../../api/ops/account';
import { Field } from '../../components/Field';
import { PageTitle } from '../../components/PageTitle';
import { ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { Link, navigate, useLocation } from '../../router';

export function SignIn() {
  const { query } = useLocation();
  const [email, setEmail] = useState(query.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [state, signIn] = useMutation(SignInMutation);
  const problem = problemOf(state.error);

  const submit = async (e: Event) => {
    e.preventDefault();
    const result = await signIn({ email, password });
    if (!result.data) return;
    session.start(result.data.signIn);
    const next = query.get('next');
    navigate(next?.startsWith('/') ? next : '/');
  };

  return (
    <form class="narrow" onSubmit={submit}>
      <PageTitle title="Sign in">Sign in</PageTitle>
      {query.get('confirmed') && <p role="status">Your account is confirmed. Sign in to start.</p>}
      <ProblemNote problem={problem} />
      <Field label="Email" type="email" autoComplete="username" required value={email} onValue={setEmail} error={problem?.fields['email']} />
      <Field label="Password" type="password" autoComplete="current-password" required value={password} onValue={setPassword}
        error={problem?.fields['password']} />
      <button type="submit" disabled={state.fetching}>Sign in</button>
      <p>
        New here? <Link href="/signup">Create an account</Link>
      </p>
    </form>
  );
}
