import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_PREFIX } from '../lib/events';
import { PASSWORD_MIN_LENGTH, ROLE_GROUPS, WEB_CLIENT_NAME } from '../lib/identity';
import { IMAGE_PREFIX } from '../lib/images';
import { MAX_RECEIVES } from '../lib/queues';
import { CATALOG_INDEXES, CATALOG_KEY, PROFILES_KEY } from '../lib/tables';
import { logicalId, repoFile, rustStrConsts, Synthesized, synthMercado } from './helpers';

let app: Synthesized;
let template: Template;

beforeAll(() => {
  app = synthMercado({ imageUploadOrigins: 'https://shop.example,https://admin.example' });
  template = Template.fromStack(app.data);
});

describe('names shared with the Rust server', () => {
  // The tables, prefixes and rules must be what `mercado provision` creates, since the server
  // queries by these names. Read them from the Rust source so a rename there fails here.
  it('catalog and profiles keys and index names match src/adapters/dynamo', () => {
    const dynamo = rustStrConsts('src/adapters/dynamo/mod.rs');
    expect(CATALOG_KEY).toBe(dynamo.ATTR_ID);
    expect(CATALOG_INDEXES).toEqual([
      { indexName: dynamo.INDEX_BY_CATEGORY, partitionKey: dynamo.ATTR_CATEGORY, sortKey: dynamo.ATTR_LISTED_SORT },
      { indexName: dynamo.INDEX_BY_LISTING, partitionKey: dynamo.ATTR_LISTING, sortKey: dynamo.ATTR_LISTED_SORT },
      { indexName: dynamo.INDEX_BY_SELLER, partitionKey: dynamo.ATTR_SELLER, sortKey: dynamo.ATTR_CREATED_SORT },
    ]);
    expect(PROFILES_KEY).toBe(rustStrConsts('src/adapters/dynamo/profiles.rs').ATTR_USER_ID);
  });

  it('image prefix, event pattern, client name and password length match the server', () => {
    expect(IMAGE_PREFIX).toBe(rustStrConsts('src/adapters/s3/mod.rs').IMAGE_PREFIX);
    expect(repoFile('src/adapters/provision/events.rs')).toContain(`{"source":[{"prefix":"${SOURCE_PREFIX}"}]}`);
    expect(repoFile('src/adapters/provision/cognito.rs')).toContain(`client_name("${WEB_CLIENT_NAME}")`);
    expect(repoFile('resolvers/src/auth/rules.rs')).toContain(`PASSWORD_MIN_CHARS: usize = ${PASSWORD_MIN_LENGTH};`);
    expect(repoFile('src/app/config.rs')).toMatch(new RegExp(`MERCADO_MAX_RECEIVES",[\\s\\S]{0,120}default_value_t = ${MAX_RECEIVES}`));
  });
});

describe('DynamoDB', () => {
  const stateful = { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' };
  const protectedTable = {
    BillingMode: 'PAY_PER_REQUEST',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true },
    DeletionProtectionEnabled: true,
  };

  it('creates exactly two tables', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  it('catalog: key id, the three GSIs with projection ALL, on-demand, PITR, encrypted, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      ...stateful,
      Properties: {
        ...protectedTable,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: Match.arrayEquals(
          ['id', 'category', 'listed_sort', 'listing', 'seller_id', 'created_sort'].map((n) => ({ AttributeName: n, AttributeType: 'S' })),
        ),
        GlobalSecondaryIndexes: [
          {
            IndexName: 'by_category',
            KeySchema: [
              { AttributeName: 'category', KeyType: 'HASH' },
              { AttributeName: 'listed_sort', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'by_listing',
            KeySchema: [
              { AttributeName: 'listing', KeyType: 'HASH' },
              { AttributeName: 'listed_sort', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'by_seller',
            KeySchema: [
              { AttributeName: 'seller_id', KeyType: 'HASH' },
              { AttributeName: 'created_sort', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  it('profiles: key user_id and no index, same protections', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      ...stateful,
      Properties: {
        ...protectedTable,
        KeySchema: [{ AttributeName: 'user_id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'user_id', AttributeType: 'S' }],
        GlobalSecondaryIndexes: Match.absent(),
      },
    });
  });
});

describe('EventBridge and SQS', () => {
  it('one custom bus and two rules matching source prefix "mercado." on it', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const rules = template.findResources('AWS::Events::Rule');
    expect(Object.keys(rules)).toHaveLength(2);
    const bus = logicalId(app.data.events.bus);
    const projector = logicalId(app.data.events.projector.queue);
    const search = logicalId(app.data.events.search.queue);
    const targets = Object.values(rules).map((r) => {
      const p = (r as { Properties: Record<string, any> }).Properties;
      expect(p.EventBusName).toEqual({ Ref: bus });
      expect(p.EventPattern).toEqual({ source: [{ prefix: 'mercado.' }] });
      expect(p.Targets).toHaveLength(1);
      return p.Targets[0].Arn['Fn::GetAtt'][0];
    });
    expect(targets.sort()).toEqual([projector, search].sort());
  });

  it('every queue is SSE-encrypted and refuses plain HTTP', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    // projector, search, images: each with its dead-letter queue
    expect(Object.keys(queues)).toHaveLength(6);
    for (const q of Object.values(queues)) {
      expect((q as any).Properties.SqsManagedSseEnabled).toBe(true);
    }
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    const enforced = new Set<string>();
    for (const p of policies) {
      const doc = (p as any).Properties;
      const denies = doc.PolicyDocument.Statement.some(
        (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      );
      if (denies) for (const q of doc.Queues) enforced.add(q.Ref);
    }
    expect([...enforced].sort()).toEqual(Object.keys(queues).sort());
  });

  it('the three working queues redrive to their own DLQ after 5 receives', () => {
    const { events, images } = app.data;
    for (const pair of [events.projector, events.search, images.notifications]) {
      const queue = logicalId(pair.queue);
      const dlq = logicalId(pair.deadLetterQueue);
      const props = template.toJSON().Resources[queue].Properties;
      expect(props.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 });
      expect(template.toJSON().Resources[dlq].Properties.RedrivePolicy).toBeUndefined();
    }
  });

  it('EventBridge may send to the event queues only from its rules', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')).flatMap(
      (p: any) => p.Properties.PolicyDocument.Statement,
    );
    const fromEvents = policies.filter((s: any) => s.Principal?.Service === 'events.amazonaws.com');
    expect(fromEvents).toHaveLength(2);
    for (const s of fromEvents) {
      // SendMessage, plus the two read-only calls CDK's SqsQueue target adds.
      expect([...s.Action].sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
      const rule = s.Condition.ArnEquals['aws:SourceArn']['Fn::GetAtt'][0];
      expect(template.toJSON().Resources[rule].Type).toBe('AWS::Events::Rule');
    }
  });
});

describe('images bucket', () => {
  let bucket: string;
  beforeAll(() => {
    bucket = logicalId(app.data.images.bucket);
  });

  it('is private, encrypted, versioned, logged and retained', () => {
    const res = template.toJSON().Resources[bucket];
    expect(res.DeletionPolicy).toBe('Retain');
    expect(res.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(res.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(res.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(res.Properties.LoggingConfiguration.DestinationBucketName).toEqual({
      Ref: logicalId(app.data.accessLogs),
    });
  });

  it('denies plain HTTP in its bucket policy', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has the CORS rule provision writes, for the configured origins', () => {
    expect(template.toJSON().Resources[bucket].Properties.CorsConfiguration).toEqual({
      CorsRules: [
        {
          AllowedOrigins: ['https://shop.example', 'https://admin.example'],
          AllowedMethods: ['PUT'],
          AllowedHeaders: ['*'],
          ExposedHeaders: ['ETag'],
          MaxAge: 3600,
        },
      ],
    });
  });

  it('notifies the images queue of every object created under products/', () => {
    const queue = logicalId(app.data.images.notifications.queue);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucket },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'products/' }] } },
            QueueArn: { 'Fn::GetAtt': [queue, 'Arn'] },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucket, 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});

describe('Cognito', () => {
  it('user pool: email sign-in, self sign-up, email verification by code, mercado password rule', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: {
        UsernameAttributes: ['email'],
        AutoVerifiedAttributes: ['email'],
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: false },
        VerificationMessageTemplate: Match.objectLike({ DefaultEmailOption: 'CONFIRM_WITH_CODE' }),
        Policies: {
          PasswordPolicy: Match.objectLike({ MinimumLength: 10, RequireNumbers: true }),
        },
      },
    });
  });

  it('app client mercado-web: public (no secret), USER_PASSWORD_AUTH + refresh, no OAuth', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    const client = Object.values(template.findResources('AWS::Cognito::UserPoolClient'))[0] as any;
    expect(client.Properties.ClientName).toBe('mercado-web');
    expect(client.Properties.GenerateSecret).toBe(false);
    expect([...client.Properties.ExplicitAuthFlows].sort()).toEqual(['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH']);
    expect(client.Properties.AllowedOAuthFlows).toBeUndefined();
    expect(client.Properties.EnableTokenRevocation).toBe(true);
  });

  it('groups buyer and seller', () => {
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map((g: any) => g.Properties.GroupName);
    expect(groups.sort()).toEqual([...ROLE_GROUPS].sort());
  });
});
