import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { MercadoConfig } from './config';
import { MercadoDataStack } from './data-stack';
import { MercadoSagaStack } from './saga-stack';
import { IMAGE_PREFIX } from './images';
import { MAX_RECEIVES } from './queues';

/** The repository root: the Docker build context of the server image. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/**
 * What the image asset leaves out of the build context (besides what the root .dockerignore
 * lists, which CDK also honours). Dependencies and build output are rebuilt inside the image;
 * deploy/ (this app, its node_modules and cdk.out) has nothing the image needs.
 */
export const IMAGE_ASSET_EXCLUDE = [
  '.git',
  'target',
  '**/node_modules',
  'web-client/app/dist',
  'deploy',
  '.mercado',
  '.venv',
  '**/cdk.out',
];

/** The port mercado listens on (MERCADO_LISTEN_ADDR default 0.0.0.0:8080). */
export const HTTP_PORT = 8080;
/** The PostgreSQL user and database created with the instance. */
export const DB_USER = 'mercado';
export const DB_NAME = 'mercado';

export interface MercadoServiceStackProps extends StackProps {
  readonly config: MercadoConfig;
  readonly data: MercadoDataStack;
  /** The saga's state machine and step queue (used with `sagaEngine=stepfunctions`). */
  readonly saga: MercadoSagaStack;
  /**
   * The server image. Defaults to building the repository's Dockerfile as an asset: synth
   * only stages the directory (no Docker needed); `cdk deploy` builds and pushes it.
   */
  readonly image?: ecs.ContainerImage;
}

/** One group of mercado modules run as one Fargate service. */
export interface ServiceGroup {
  readonly name: 'api' | 'workers';
  /** MERCADO_MODULES: the parts of `mercado serve` this group runs. */
  readonly modules: readonly string[];
  readonly desiredCount: number;
  readonly environment: Record<string, string>;
}

/** The module groups, one Fargate service each. */
export const API_MODULES = ['api'] as const;
export const WORKER_MODULES = ['relay', 'consumer', 'saga', 'reconciler'] as const;

/**
 * The compute side: VPC, RDS PostgreSQL (the source of truth), an ECS cluster and one Fargate
 * service per module group, today two:
 *
 * - `api` (MERCADO_MODULES=api): `mercado serve` behind an
 *   internet-facing ALB. Answers GraphQL/REST/WebSockets and serves the web client; never
 *   relays or consumes.
 * - `workers` (MERCADO_MODULES=relay,consumer,saga,reconciler):
 *   `mercado serve` with no load balancer: the outbox relay (PutEvents), the SQS consumers
 *   (projector, search feed, image uploads), the saga runner and the reconciler. All of those
 *   coordinate through PostgreSQL (SKIP LOCKED, advisory locks), so more than one task is
 *   safe; one is enough to start.
 *
 * A new group is one more entry in `groups` below (its modules, its grants).
 *
 * Networking: two AZs, public subnets for the ALB and the NAT gateway, private subnets with
 * egress for the tasks, isolated subnets for RDS. One NAT gateway by default rather than VPC
 * interface endpoints: the tasks call ECR, CloudWatch Logs, Secrets Manager, SQS,
 * EventBridge, Cognito and Cognito's public JWKS URL (and OpenSearch, or a real payment
 * gateway later); endpoints for all of them cost more than one NAT gateway and still leave
 * the JWKS fetch and third parties without a route. S3 and DynamoDB, where most bytes go,
 * use free gateway endpoints. One NAT gateway is a single-AZ dependency for egress: raise
 * `natGateways` to 2 for AZ-independent egress.
 */
export class MercadoServiceStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly database: rds.DatabaseInstance;
  readonly cluster: ecs.Cluster;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly api: ecs.FargateService;
  readonly workers: ecs.FargateService;

  constructor(scope: Construct, id: string, props: MercadoServiceStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const search = config.opensearchUrl ? 'opensearch' : 'off';

    // ---- network -------------------------------------------------------------------------
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });

    // ---- PostgreSQL ----------------------------------------------------------------------
    this.database = new rds.DatabaseInstance(this, 'Postgres', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
      instanceType: new ec2.InstanceType(config.dbInstanceType),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      // A generated password in Secrets Manager ({username, password, host, ...} JSON).
      credentials: rds.Credentials.fromGeneratedSecret(DB_USER),
      databaseName: DB_NAME,
      multiAz: config.multiAz,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: 20,
      maxAllocatedStorage: 200,
      backupRetention: Duration.days(7),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      autoMinorVersionUpgrade: true,
      publiclyAccessible: false,
    });
    const dbSecret = this.database.secret!;

    // ---- cluster and image ---------------------------------------------------------------
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'Dockerfile',
        exclude: IMAGE_ASSET_EXCLUDE,
        // The task definitions ask for X86_64; build for it even on an arm64 workstation.
        platform: Platform.LINUX_AMD64,
      });

    // ---- configuration shared by every group --------------------------------------------
    const { tables, events, images, identity } = data;
    const common: Record<string, string> = {
      // mercado reads DATABASE_URL as one URL. The URL carries no password: sqlx (0.9,
      // PgConnectOptions::parse_from_url over new_without_pgpass) takes the password from
      // PGPASSWORD when the URL has none, and PGPASSWORD is injected from the generated
      // secret below, so the password never appears in the task definition.
      // No sslmode: mercado's sqlx is built without a TLS feature (Cargo.toml), so it
      // connects in plain text inside the VPC; RDS PostgreSQL 15 does not force SSL.
      DATABASE_URL: `postgres://${DB_USER}@${this.database.dbInstanceEndpointAddress}:${this.database.dbInstanceEndpointPort}/${DB_NAME}`,
      AWS_REGION: this.region,
      MERCADO_LOG_FORMAT: 'json',
      MERCADO_LISTEN_ADDR: `0.0.0.0:${HTTP_PORT}`,
      MERCADO_BUS: 'eventbridge',
      MERCADO_EVENT_BUS_NAME: events.bus.eventBusName,
      // Needed by every instance with bus eventbridge (start-up refuses without it); the api
      // only pings it for /readyz, the workers consume it.
      MERCADO_QUEUE_URL: events.projector.queue.queueUrl,
      MERCADO_MAX_RECEIVES: String(MAX_RECEIVES),
      MERCADO_CATALOG_TABLE: tables.catalog.tableName,
      MERCADO_PROFILES_TABLE: tables.profiles.tableName,
      MERCADO_IMAGES_BUCKET: images.bucket.bucketName,
      MERCADO_IMAGE_UPLOAD_ORIGINS: config.imageUploadOrigins.join(','),
      // Every instance validates the saga settings at start-up; only the workers use them.
      MERCADO_SAGA_ENGINE: config.sagaEngine,
      ...(config.sagaEngine === 'stepfunctions'
        ? {
            MERCADO_SAGA_STATE_MACHINE_ARN: props.saga.stateMachine.stateMachineArn,
            MERCADO_SAGA_QUEUE_URL: props.saga.steps.queue.queueUrl,
          }
        : {}),
      MERCADO_AUTH: 'cognito',
      MERCADO_COGNITO_USER_POOL_ID: identity.userPool.userPoolId,
      MERCADO_COGNITO_CLIENT_ID: identity.webClient.userPoolClientId,
      // Search: with Tantivy each index lives in the process that applies the events (the
      // workers), so the api tasks would answer UNAVAILABLE and the workers' index would
      // serve nobody. A shared OpenSearch index is the engine that fits this split; without
      // one, search is off rather than half-working.
      MERCADO_SEARCH: search,
      ...(config.opensearchUrl ? { MERCADO_OPENSEARCH_URL: config.opensearchUrl } : {}),
    };

    const groups: ServiceGroup[] = [
      { name: 'api', modules: API_MODULES, desiredCount: config.apiDesiredCount, environment: {} },
      {
        name: 'workers',
        modules: WORKER_MODULES,
        desiredCount: 1,
        environment: {
          // Only instances that run the workers consume uploads and the search feed.
          MERCADO_IMAGE_QUEUE_URL: images.notifications.queue.queueUrl,
          ...(search === 'opensearch' ? { MERCADO_SEARCH_QUEUE_URL: events.search.queue.queueUrl } : {}),
        },
      },
    ];

    const [api, workers] = groups.map((group) => {
      const task = new ecs.FargateTaskDefinition(this, `${cap(group.name)}Task`, {
        cpu: 512,
        memoryLimitMiB: 1024,
        runtimePlatform: {
          cpuArchitecture: ecs.CpuArchitecture.X86_64,
          operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        },
      });
      const logGroup = new logs.LogGroup(this, `${cap(group.name)}Logs`, {
        retention: logs.RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      task.addContainer('mercado', {
        image,
        command: ['serve'],
        environment: {
          ...common,
          ...group.environment,
          MERCADO_MODULES: group.modules.join(','),
        },
        secrets: { PGPASSWORD: ecs.Secret.fromSecretsManager(dbSecret, 'password') },
        portMappings: [{ containerPort: HTTP_PORT, name: 'http' }],
        logging: ecs.LogDrivers.awsLogs({ streamPrefix: group.name, logGroup }),
        // The image's own check (GET /healthz over bash's /dev/tcp; no curl in the image).
        // It matters most for the workers, which have no load balancer to notice a hang.
        healthCheck: {
          command: ['CMD', '/usr/local/bin/mercado-healthcheck'],
          interval: Duration.seconds(30),
          timeout: Duration.seconds(5),
          retries: 3,
          // Start-up applies migrations before listening.
          startPeriod: Duration.seconds(60),
        },
        // SIGTERM first: mercado closes WebSockets and drains within
        // MERCADO_SHUTDOWN_GRACE_SECONDS (10 s), well inside this.
        stopTimeout: Duration.seconds(30),
      });

      const service = new ecs.FargateService(this, `${cap(group.name)}Service`, {
        cluster: this.cluster,
        taskDefinition: task,
        desiredCount: group.desiredCount,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        assignPublicIp: false,
        circuitBreaker: { enable: true, rollback: true },
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        ...(group.name === 'api' ? { healthCheckGracePeriod: Duration.seconds(90) } : {}),
      });
      this.database.connections.allowDefaultPortFrom(service, `mercado ${group.name} tasks`);
      return service;
    });
    this.api = api;
    this.workers = workers;

    // ---- load balancer (api only) --------------------------------------------------------
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: this.vpc,
      internetFacing: true,
      dropInvalidHeaderFields: true,
      // Subscriptions (orderStatus, productChanged) hold WebSockets open with no traffic for
      // minutes, and the server sends no pings: the default 60 s would cut them.
      idleTimeout: Duration.seconds(300),
    });
    this.loadBalancer.logAccessLogs(data.accessLogs, 'alb');

    const listener = config.certificateArn
      ? this.loadBalancer.addListener('Https', {
          port: 443,
          certificates: [elbv2.ListenerCertificate.fromArn(config.certificateArn)],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        })
      : // Without a certificate: plain HTTP. Fine for a first look; passwords then cross the
        // internet in clear text, so give `certificateArn` before real users arrive.
        this.loadBalancer.addListener('Http', { port: 80 });
    if (config.certificateArn) {
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    }
    listener.addTargets('Api', {
      port: HTTP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.api],
      healthCheck: {
        path: '/healthz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      // In-flight requests get this long after a task leaves the target group; mercado's own
      // shutdown grace (10 s) follows the SIGTERM ECS sends after it.
      deregistrationDelay: Duration.seconds(30),
    });
    const scaling = this.api.autoScaleTaskCount({
      minCapacity: config.apiDesiredCount,
      maxCapacity: Math.max(config.apiDesiredCount * 3, 2),
    });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    // ---- least-privilege IAM, per service ------------------------------------------------
    this.grantApi(this.api.taskDefinition.taskRole, props);
    this.grantWorkers(this.workers.taskDefinition.taskRole, props, search === 'opensearch');

    this.suppressNagFindings(props);
  }

  /**
   * The api answers reads (catalog, profiles), writes profiles, presigns uploads, streams
   * images, and signs users up and in. It never relays or consumes events: the bus and the
   * projector queue are only pinged by /readyz.
   */
  private grantApi(role: iam.IRole, props: MercadoServiceStackProps): void {
    const { tables, events, images, identity } = props.data;
    // DynamoCatalog: GetItem (product, consistent reads), BatchGetItem (consistency tokens),
    // Query (the three browsing indexes), DescribeTable (readiness ping).
    tables.catalog.grant(role, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable');
    // DynamoProfiles: GetItem, BatchGetItem (dataloader), UpdateItem (every profile write is
    // an update expression; PutItem is never called, so it is not granted).
    tables.profiles.grant(role, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');
    // S3Images: presigned PUT (signed with this role, so it needs PutObject) and GetObject for
    // /images/<key>; both only under the uploads prefix.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [images.bucket.arnForObjects(`${IMAGE_PREFIX}*`)],
      }),
    );
    // CognitoIdentity: AdminAddUserToGroup is the one IAM-authorized call (roles on sign-up
    // and addRole). SignUp, ConfirmSignUp, InitiateAuth, RevokeToken, GlobalSignOut and
    // GetUser (the token verifier's email lookup) are public operations authorized by the
    // client id or the user's token, but the SDK signs them with the task role when it has
    // credentials, so they are granted too, on this pool only.
    identity.userPool.grant(
      role,
      'cognito-idp:AdminAddUserToGroup',
      'cognito-idp:SignUp',
      'cognito-idp:ConfirmSignUp',
      'cognito-idp:InitiateAuth',
      'cognito-idp:RevokeToken',
      'cognito-idp:GlobalSignOut',
      'cognito-idp:GetUser',
    );
    // /readyz: DescribeEventBus (EventBridgePublisher::ping), GetQueueAttributes
    // (SqsInbox::ping).
    this.grantBusPing(role, props);
    events.projector.queue.grant(role, 'sqs:GetQueueAttributes');
    this.grantOpenSearch(role, props.config, ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut']);
  }

  /**
   * The workers relay the outbox to the bus, consume the three queues, write the catalog
   * (projector and reconciler) and, with OpenSearch, feed the shared index. Image
   * notifications only update PostgreSQL, so no S3 access.
   */
  private grantWorkers(role: iam.IRole, props: MercadoServiceStackProps, searchFeed: boolean): void {
    const { tables, events, images } = props.data;
    // DynamoCatalog as a read model: conditional PutItem (upserts and tombstones), Scan
    // (reconciler), GetItem/BatchGetItem/Query (reads made by the same adapter),
    // DescribeTable (readiness ping).
    tables.catalog.grant(
      role,
      'dynamodb:PutItem',
      'dynamodb:Scan',
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:DescribeTable',
    );
    events.bus.grantPutEventsTo(role);
    this.grantBusPing(role, props);
    // SqsInbox: ReceiveMessage, DeleteMessage(Batch), ChangeMessageVisibility (poison
    // fast-track), GetQueueAttributes (ping).
    events.projector.queue.grantConsumeMessages(role);
    images.notifications.queue.grantConsumeMessages(role);
    if (searchFeed) events.search.queue.grantConsumeMessages(role);
    if (props.config.sagaEngine === 'stepfunctions') {
      // The relay starts executions; the saga module consumes the step queue and answers
      // each task (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat).
      const { stateMachine, steps } = props.saga;
      stateMachine.grantStartExecution(role);
      stateMachine.grantTaskResponse(role);
      steps.queue.grantConsumeMessages(role);
    }
    this.grantOpenSearch(role, props.config, [
      'es:ESHttpGet',
      'es:ESHttpHead',
      'es:ESHttpPost',
      'es:ESHttpPut',
      'es:ESHttpDelete',
    ]);
  }

  private grantBusPing(role: iam.IRole, props: MercadoServiceStackProps): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['events:DescribeEventBus'], resources: [props.data.events.bus.eventBusArn] }),
    );
  }

  private grantOpenSearch(role: iam.IRole, config: MercadoConfig, actions: string[]): void {
    if (!config.opensearchDomainArn) return;
    // ESHttp* actions are authorized per path under the domain: `<domain>/*` is the index
    // and its documents.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [`${config.opensearchDomainArn}/*`] }));
  }

  /** Every cdk-nag finding this stack accepts, each with the reason it is accepted. */
  private suppressNagFindings(props: MercadoServiceStackProps): void {
    NagSuppressions.addResourceSuppressions(this.database, [
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'The standard port 5432 is kept: the instance is in isolated subnets and its security group admits only the two ECS services, so a non-standard port would add no protection.',
      },
      ...(props.config.multiAz
        ? []
        : [
            {
              id: 'AwsSolutions-RDS3',
              reason:
                'Multi-AZ was turned off for this deployment with the multiAz context flag (a non-production environment); the default deployment is Multi-AZ.',
            },
          ]),
    ]);
    NagSuppressions.addResourceSuppressions(
      this.database,
      [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'The tasks receive the password once, at start (ECS secret injection into PGPASSWORD), and open new pool connections with it for their whole life; automatic rotation would break every new connection until the tasks restart. Rotate by hand, followed by a rolling restart of both services.',
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(
      this.loadBalancer,
      [
        {
          id: 'AwsSolutions-EC23',
          reason:
            'The internet-facing ALB is the public entry point of the API and web client, so its listener accepts 80/443 from anywhere. The tasks behind it accept traffic only from the ALB security group.',
        },
      ],
      true,
    );
    for (const service of [this.api, this.workers]) {
      const task = service.taskDefinition;
      NagSuppressions.addResourceSuppressions(task, [
        {
          id: 'AwsSolutions-ECS2',
          reason:
            'The environment holds only non-secret configuration (resource names, queue URLs, the database URL without a password, flags); the one secret, the database password, is injected from Secrets Manager through `secrets`.',
        },
      ]);
      // The catalog and bucket ARNs come from the data stack: cdk-nag renders them as
      // <ReadModelCatalogXXXXXXXX.Arn> when it first runs, and as the cross-stack
      // Fn::GetStackOutput (whose output name embeds the same logical id) when the app is
      // synthesized again, as the assertions library does; the patterns accept both.
      NagSuppressions.addResourceSuppressions(
        task.taskRole,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              "Granted by Table.grant with the catalog's own actions: `<catalog>/index/*` covers the catalog's three GSIs (by_category, by_listing, by_seller), which the catalog adapter queries; no other table or action is included.",
            appliesTo: [{ regex: '/^Resource::.*ReadModelCatalog[0-9A-F]{8}.*\\/index\\/\\*$/g' }],
          },
          {
            id: 'AwsSolutions-IAM5',
            reason:
              'Uploads and image reads are per object under the products/ prefix, with keys generated per upload (products/<seller>/<product>/<uuid>.<ext>), so the grant names the prefix, not the keys; nothing outside it is granted.',
            appliesTo: [{ regex: '/^Resource::.*ImagesBucket[0-9A-F]{8}.*\\/products\\/\\*$/g' }],
          },
          ...(props.config.opensearchDomainArn
            ? [
                {
                  id: 'AwsSolutions-IAM5',
                  reason:
                    "OpenSearch's es:ESHttp* actions are authorized per request path; `<domain>/*` is that domain's path space (the mercado index and its documents), and only the HTTP verbs the service uses are granted.",
                  appliesTo: [`Resource::${props.config.opensearchDomainArn}/*`],
                },
              ]
            : []),
        ],
        true,
      );
      NagSuppressions.addResourceSuppressions(
        task.obtainExecutionRole(),
        [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              'The ECS task execution role written by CDK needs ecr:GetAuthorizationToken, which accepts no resource but "*"; its other statements name the asset repository, the log group and the database secret.',
            appliesTo: ['Resource::*'],
          },
        ],
        true,
      );
    }
  }
}

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
