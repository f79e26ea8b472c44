import { RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

/** The app client mercado signs users in through (provision's `mercado-web`). */
export const WEB_CLIENT_NAME = 'mercado-web';
/** Commercial roles are the pool's groups, read from `cognito:groups` (Role::as_str). */
export const ROLE_GROUPS = ['buyer', 'seller'] as const;
/** PASSWORD_MIN_CHARS in resolvers/src/auth/rules.rs. */
export const PASSWORD_MIN_LENGTH = 10;

export interface IdentityProps {
  /** The Plus feature plan (threat protection). */
  readonly plus: boolean;
}

/**
 * The Cognito user pool, its public app client and the role groups
 * (src/adapters/provision/cognito.rs).
 */
export class Identity extends Construct {
  readonly userPool: cognito.UserPool;
  readonly webClient: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      // Email is the user name (provision: username_attributes = [email]).
      signInAliases: { email: true },
      signInCaseSensitive: false,
      selfSignUpEnabled: true,
      // Sign-up sends an activation code by email; confirmSignUp takes it.
      autoVerify: { email: true },
      userVerification: { emailStyle: cognito.VerificationEmailStyle.CODE },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // mercado's own rule, as provision sets it: at least 10 characters with a number. A
      // stricter pool policy would refuse passwords the API has already accepted.
      passwordPolicy: {
        minLength: PASSWORD_MIN_LENGTH,
        requireDigits: true,
        requireLowercase: false,
        requireUppercase: false,
        requireSymbols: false,
      },
      // MFA stays off: the API's signIn handles no Cognito challenge (CognitoIdentity::sign_in
      // answers NOT_SUPPORTED to one), so an MFA prompt would lock every user out.
      mfa: cognito.Mfa.OFF,
      featurePlan: props.plus ? cognito.FeaturePlan.PLUS : cognito.FeaturePlan.ESSENTIALS,
      // Users and their groups are the accounts; never delete them with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });

    this.webClient = this.userPool.addClient('WebClient', {
      userPoolClientName: WEB_CLIENT_NAME,
      // Public client: the server calls SignUp/InitiateAuth with the client id only, so no
      // secret (a secret would require a SECRET_HASH mercado does not compute).
      generateSecret: false,
      // USER_PASSWORD_AUTH for signIn; CDK adds ALLOW_REFRESH_TOKEN_AUTH, used by refresh.
      authFlows: { userPassword: true },
      // No hosted UI or OAuth redirects: sign-in goes through mercado's GraphQL API.
      disableOAuth: true,
      // Unknown users answer like wrong passwords; mercado maps both to BAD_CREDENTIALS.
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });

    for (const group of ROLE_GROUPS) {
      this.userPool.addGroup(group[0].toUpperCase() + group.slice(1) + 'Group', {
        groupName: group,
      });
    }
  }
}
