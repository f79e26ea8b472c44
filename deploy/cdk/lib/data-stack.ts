import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { MercadoConfig } from './config';
import { EventRoutes } from './events';
import { Identity } from './identity';
import { ImageStore } from './images';
import { ReadModelTables } from './tables';

export interface MercadoDataStackProps extends StackProps {
  readonly config: MercadoConfig;
}

/**
 * The serverless state mercado talks to: everything `mercado provision` creates (DynamoDB
 * tables, EventBridge bus + rules + SQS queues, the images bucket + its notification queue,
 * the Cognito user pool), plus the bucket for access logs. Kept apart from the compute stack
 * so that the services can be replaced without touching data; the tables, the bucket and the
 * user pool are RETAINed.
 */
export class MercadoDataStack extends Stack {
  readonly tables: ReadModelTables;
  readonly events: EventRoutes;
  readonly images: ImageStore;
  readonly identity: Identity;
  /** S3 server access logs of the images bucket, and the ALB's access logs. */
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: MercadoDataStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // ALB access logs can only be written to SSE-S3 buckets, not SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'This is the access-log bucket itself: logging its own access into itself would loop, and another log bucket would only move the question.',
      },
    ]);

    this.tables = new ReadModelTables(this, 'ReadModel');
    this.events = new EventRoutes(this, 'Events');
    this.images = new ImageStore(this, 'Images', {
      uploadOrigins: config.imageUploadOrigins,
      accessLogs: this.accessLogs,
    });
    this.identity = new Identity(this, 'Identity', { plus: config.cognitoPlus });

    if (!config.cognitoPlus) {
      NagSuppressions.addResourceSuppressions(this.identity.userPool, [
        {
          id: 'AwsSolutions-COG8',
          reason:
            'The Plus plan (threat protection) is billed per monthly active user; it is one context flag away (-c cognitoPlus=true) for deployments that want it. mercado itself throttles sign-in attempts per account (PgSignInThrottle).',
        },
      ]);
    }
    NagSuppressions.addResourceSuppressions(this.identity.userPool, [
      {
        id: 'AwsSolutions-COG1',
        reason:
          "The pool enforces mercado's own password rule (at least 10 characters with a digit, resolvers/src/auth/rules.rs), as `mercado provision` does; requiring symbols or cases in Cognito alone would refuse passwords the API has already validated. Length over character classes follows NIST SP 800-63B.",
      },
      {
        id: 'AwsSolutions-COG2',
        reason:
          "mercado's signIn uses USER_PASSWORD_AUTH and answers NOT_SUPPORTED to any Cognito challenge (src/adapters/auth/cognito.rs), so requiring MFA would lock every user out until the API handles the MFA challenge.",
      },
    ]);

    // S3 notifications are configured by CDK's own BucketNotificationsHandler custom
    // resource (a singleton Lambda this stack does not write), whose role has the
    // AWSLambdaBasicExecutionRole managed policy by construction.
    const handler = this.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (handler) {
      NagSuppressions.addResourceSuppressions(
        handler,
        [
          {
            id: 'AwsSolutions-IAM4',
            reason:
              "CDK's BucketNotificationsHandler (applies the images bucket's notification configuration at deploy time) uses AWSLambdaBasicExecutionRole for its CloudWatch log writes; the role is CDK-managed and used only during deployments.",
            appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          },
        ],
        true,
      );
    }
  }
}
