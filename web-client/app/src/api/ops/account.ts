import { graphql } from '../graphql';

export const SessionFields = graphql(`
  fragment SessionFields on AuthSession { accessToken refreshToken expiresIn }
`);

export const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { userId confirmationRequired }
  }
`);

export const ConfirmSignUpMutation = graphql(`
  mutation ConfirmSignUp($email: String!, $code: String!) {
    confirmSignUp(email: $email, code: $code)
  }
`);

export const SignInMutation = graphql(
  `
  mutation SignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) { ...SessionFields }
  }
`,
  [SessionFields],
);

export const RefreshSessionMutation = graphql(
  `
  mutation RefreshSession($refreshToken: String!) {
    refreshSession(refreshToken: $refreshToken) { ...SessionFields }
  }
`,
  [SessionFields],
);

export const SignOutMutation = graphql(`
  mutation SignOut($refreshToken: String) {
    signOut(refreshToken: $refreshToken)
  }
`);

export const BecomeSellerMutation = graphql(`
  mutation BecomeSeller { becomeSeller }
`);

export const DevMailboxQuery = graphql(`
  query DevMailbox($email: String!) {
    devMailbox(email: $email) { subject body sentAt }
  }
`);

export const ProfileFields = graphql(`
  fragment ProfileFields on Me {
    id
    email
    roles
    profile {
      displayName
      shippingAddress { name line1 line2 city postalCode country }
      preferences { favoriteCategories }
      merchant { storeName description }
    }
  }
`);

export const MeQuery = graphql(
  `
  query Me { me { ...ProfileFields } }
`,
  [ProfileFields],
);

export const UpdateProfileMutation = graphql(
  `
  mutation UpdateMyProfile($input: UpdateProfileInput!) {
    updateMyProfile(input: $input) { ...ProfileFields }
  }
`,
  [ProfileFields],
);

export const UpdatePreferencesMutation = graphql(
  `
  mutation UpdateMyPreferences($input: PreferencesInput!) {
    updateMyPreferences(input: $input) { ...ProfileFields }
  }
`,
  [ProfileFields],
);

export const UpdateMerchantMutation = graphql(
  `
  mutation UpdateMerchantInfo($input: MerchantInfoInput!) {
    updateMerchantInfo(input: $input) { ...ProfileFields }
  }
`,
  [ProfileFields],
);
