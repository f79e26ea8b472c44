import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { actions, logicalId, policyStatements, REPO, repoFile, resources, Statement, Synthesized, synthMercado } from './helpers';

interface Container {
  Environment: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
  [key: string]: unknown;
}

/** The one container of a service's task definition. */
function container(template: Template, taskDefinition: IConstruct): Container {
  const defs = template.toJSON().Resources[logicalId(taskDefinition)].Properties.ContainerDefinitions as Container[];
  expect(defs).toHaveLength(1);
  return defs[0];
}

/** Every .rs file under a directory of the repository, concatenated. */
function rustSources(dir: string): string {
  return (fs.readdirSync(path.join(REPO, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.rs'))
    .map((f) => fs.readFileSync(path.join(REPO, dir, f), 'utf8'))
    .join('\n');
}

function env(c: Container): Record<string, unknown> {
  return Object.fromEntries(c.Environment.map((e) => [e.Name, e.Value]));
}

/** Statements of the default policy attached to a role. */
function roleStatements(template: Template, role: IConstruct): Statement[] {
  const roleId = logicalId(role);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function allowed(statements: Statement[]): string[] {
  return [...new Set(statements.filter((s) => s.Effect === 'Allow').flatMap(actions))].sort();
}

let app: Synthesized;
let template: Template;

beforeAll(() => {
  app = synthMercado();
  template = Template.fromStack(app.service);
});

describe('network', () => {
  it('two AZs, one NAT gateway, S3 and DynamoDB gateway endpoints, flow logs', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    // public, app and db subnets in each of the two AZs
    template.resourceCountIs('AWS::EC2::Subnet', 6);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e: any) =>
      JSON.stringify(e.Properties.ServiceName),
    );
    expect(endpoints).toHaveLength(2);
    expect(endpoints.some((e) => e.includes('.s3'))).toBe(true);
    expect(endpoints.some((e) => e.includes('.dynamodb'))).toBe(true);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
  });
});

describe('PostgreSQL', () => {
  it('RDS PostgreSQL 15, encrypted, Multi-AZ, deletion-protected, in isolated subnets, generated secret', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      Properties: Match.objectLike({
        Engine: 'postgres',
        EngineVersion: '15',
        StorageEncrypted: true,
        MultiAZ: true,
        DeletionProtection: true,
        PubliclyAccessible: false,
        DBName: 'mercado',
        BackupRetentionPeriod: 7,
      }),
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"mercado"}', GenerateStringKey: 'password' }),
    });
  });

  it('admits only the two services on its port', () => {
    const sg = logicalId(app.service.database.connections.securityGroups[0]);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter(
      (r: any) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === sg,
    ) as any[];
    expect(ingress).toHaveLength(2);
    for (const rule of ingress) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(rule.Properties.SourceSecurityGroupId).toBeDefined();
    }
    const sources = ingress.map((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).sort();
    expect(sources).toEqual(
      [app.service.api, app.service.workers].map((s) => logicalId(s.connections.securityGroups[0])).sort(),
    );
    const inline = template.toJSON().Resources[sg].Properties.SecurityGroupIngress;
    expect(inline ?? []).toEqual([]);
  });

  it('Multi-AZ follows the multiAz context flag', () => {
    const single = synthMercado({ multiAz: 'false' });
    Template.fromStack(single.service).hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false });
  });
});

describe('ECS services', () => {
  it('one cluster with Container Insights and two Fargate services', () => {
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    template.resourceCountIs('AWS::ECS::Service', 2);
  });

  it('api: MERCADO_MODULES=api, behind the ALB on 8080; workers: the rest, no load balancer, one task', () => {
    const api = env(container(template, app.service.api.taskDefinition));
    const workers = env(container(template, app.service.workers.taskDefinition));
    expect(api.MERCADO_MODULES).toBe('api');
    expect(workers.MERCADO_MODULES).toBe('relay,consumer,saga,reconciler');

    const services = template.toJSON().Resources;
    const apiService = services[logicalId(app.service.api)].Properties;
    const workersService = services[logicalId(app.service.workers)].Properties;
    expect(apiService.LaunchType).toBe('FARGATE');
    expect(apiService.LoadBalancers).toEqual([expect.objectContaining({ ContainerName: 'mercado', ContainerPort: 8080 })]);
    expect(apiService.DesiredCount).toBe(2);
    expect(workersService.LaunchType).toBe('FARGATE');
    expect(workersService.LoadBalancers ?? []).toEqual([]);
    expect(workersService.DesiredCount).toBe(1);
    for (const s of [apiService, workersService]) {
      expect(s.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
      expect(s.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({ Enable: true, Rollback: true });
    }
  });

  it('both run `mercado serve` with the AWS adapters: EventBridge, Cognito, the tables, bucket and queues', () => {
    const data = app.data;
    for (const task of [app.service.api.taskDefinition, app.service.workers.taskDefinition]) {
      const c = container(template, task);
      expect(c.Command).toEqual(['serve']);
      const e = env(c);
      expect(e).toMatchObject({ MERCADO_BUS: 'eventbridge', MERCADO_AUTH: 'cognito', MERCADO_SEARCH: 'off', AWS_REGION: 'eu-west-1' });
      // Cross-stack values arrive as references to the data stack's resources.
      const refs = JSON.stringify(e);
      for (const construct of [
        data.tables.catalog,
        data.tables.profiles,
        data.events.bus,
        data.events.projector.queue,
        data.images.bucket,
        data.identity.userPool,
        data.identity.webClient,
      ]) {
        expect(refs).toContain(logicalId(construct));
      }
      for (const name of [
        'MERCADO_EVENT_BUS_NAME',
        'MERCADO_QUEUE_URL',
        'MERCADO_CATALOG_TABLE',
        'MERCADO_PROFILES_TABLE',
        'MERCADO_IMAGES_BUCKET',
        'MERCADO_COGNITO_USER_POOL_ID',
        'MERCADO_COGNITO_CLIENT_ID',
      ]) {
        expect(e[name], name).toBeDefined();
      }
    }
  });

  it('only the workers consume image uploads', () => {
    const api = env(container(template, app.service.api.taskDefinition));
    const workers = env(container(template, app.service.workers.taskDefinition));
    expect(api.MERCADO_IMAGE_QUEUE_URL).toBeUndefined();
    expect(JSON.stringify(workers.MERCADO_IMAGE_QUEUE_URL)).toContain(logicalId(app.data.images.notifications.queue));
    expect(workers.MERCADO_SEARCH_QUEUE_URL).toBeUndefined(); // search is off without OpenSearch
  });

  it('DATABASE_URL carries no password; PGPASSWORD comes from the generated secret', () => {
    for (const task of [app.service.api.taskDefinition, app.service.workers.taskDefinition]) {
      const c = container(template, task);
      const url = JSON.stringify(env(c).DATABASE_URL);
      expect(url).toContain('postgres://mercado@');
      expect(url).toContain('/mercado');
      expect(c.Secrets).toHaveLength(1);
      expect(c.Secrets![0].Name).toBe('PGPASSWORD');
      expect(JSON.stringify(c.Secrets![0].ValueFrom)).toContain(':password::');
    }
  });

  it('every MERCADO_* variable set is one the server reads (README configuration table)', () => {
    const documented = new Set([...repoFile('README.md').matchAll(/`(MERCADO_[A-Z_]+)`/g)].map((m) => m[1]));
    const sources = rustSources('src');
    const known = (name: string) => documented.has(name) && sources.includes(`"${name}"`);
    expect(known('MERCADO_MODULES'), 'MERCADO_MODULES read by the server').toBe(true);
    for (const task of [app.service.api.taskDefinition, app.service.workers.taskDefinition]) {
      for (const name of Object.keys(env(container(template, task)))) {
        if (!name.startsWith('MERCADO_')) continue;
        expect(documented.has(name), `${name} in README.md`).toBe(true);
        expect(sources.includes(`"${name}"`), `${name} read somewhere in src/`).toBe(true);
      }
    }
  });

  it('containers log to CloudWatch and have the image health check', () => {
    for (const task of [app.service.api.taskDefinition, app.service.workers.taskDefinition]) {
      const c = container(template, task) as any;
      expect(c.LogConfiguration.LogDriver).toBe('awslogs');
      expect(c.HealthCheck.Command).toEqual(['CMD', '/usr/local/bin/mercado-healthcheck']);
      expect(c.PortMappings).toEqual([expect.objectContaining({ ContainerPort: 8080 })]);
    }
    expect(repoFile('Dockerfile')).toContain('/usr/local/bin/mercado-healthcheck');
  });
});

describe('load balancer', () => {
  it('internet-facing ALB with access logs, HTTP 80 without a certificate', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    const alb = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0] as any;
    expect(alb.Properties.Scheme).toBe('internet-facing');
    const attributes = Object.fromEntries(alb.Properties.LoadBalancerAttributes.map((a: any) => [a.Key, a.Value]));
    expect(attributes).toMatchObject({
      'access_logs.s3.enabled': 'true',
      'access_logs.s3.prefix': 'alb',
      'routing.http.drop_invalid_header_fields.enabled': 'true',
      'idle_timeout.timeout_seconds': '300',
    });
    expect(JSON.stringify(attributes['access_logs.s3.bucket'])).toContain(logicalId(app.data.accessLogs));
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
  });

  it('target group: the api tasks on 8080, health check GET /healthz', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: '/healthz',
      Matcher: { HttpCode: '200' },
    });
  });

  it('with a certificate: HTTPS 443 and a redirect from 80', () => {
    const tls = synthMercado({ certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc' });
    const t = Template.fromStack(tls.service);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc' }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443', Protocol: 'HTTPS' }) })],
    });
  });
});

describe('least privilege', () => {
  it('no statement anywhere allows a service-wide action or "*"', () => {
    for (const stack of [app.data, app.saga, app.service]) {
      for (const { statement } of policyStatements(Template.fromStack(stack))) {
        if (statement.Effect !== 'Allow') continue;
        for (const a of actions(statement)) {
          expect(a).not.toBe('*');
          expect(a).not.toMatch(/^[a-z0-9-]+:\*$/);
        }
      }
    }
  });

  it('in this stack, "*" resources appear only for ecr:GetAuthorizationToken', () => {
    for (const { statement } of policyStatements(template)) {
      if (resources(statement).includes('*')) expect(actions(statement)).toEqual(['ecr:GetAuthorizationToken']);
    }
  });

  it('api: reads the catalog, reads and updates profiles, presigns/streams images, calls Cognito; no relay or consumer rights', () => {
    const s = roleStatements(template, app.service.api.taskDefinition.taskRole);
    expect(allowed(s)).toEqual(
      [
        'cognito-idp:AdminAddUserToGroup',
        'cognito-idp:ConfirmSignUp',
        'cognito-idp:GetUser',
        'cognito-idp:GlobalSignOut',
        'cognito-idp:InitiateAuth',
        'cognito-idp:RevokeToken',
        'cognito-idp:SignUp',
        'dynamodb:BatchGetItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:DescribeEventBus',
        's3:GetObject',
        's3:PutObject',
        'sqs:GetQueueAttributes',
      ].sort(),
    );
    // Profile writes only on the profiles table; catalog reads only.
    const update = s.find((x) => actions(x).includes('dynamodb:UpdateItem'))!;
    expect(JSON.stringify(update.Resource)).toContain(logicalId(app.data.tables.profiles));
    expect(JSON.stringify(update.Resource)).not.toContain(logicalId(app.data.tables.catalog));
    // Objects under products/ only.
    const s3 = s.find((x) => actions(x).includes('s3:PutObject'))!;
    expect(JSON.stringify(s3.Resource)).toContain('/products/*');
  });

  it('workers: publish to the bus, consume their queues, write the catalog; no S3, profiles or Cognito', () => {
    const s = roleStatements(template, app.service.workers.taskDefinition.taskRole);
    const granted = allowed(s);
    expect(granted).toEqual(
      expect.arrayContaining(['events:PutEvents', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'dynamodb:PutItem', 'dynamodb:Scan']),
    );
    expect(granted.filter((a) => a.startsWith('s3:') || a.startsWith('cognito-idp:'))).toEqual([]);
    expect(JSON.stringify(s)).not.toContain(logicalId(app.data.tables.profiles));
    const consume = s.find((x) => actions(x).includes('sqs:ReceiveMessage'))!;
    const queues = JSON.stringify(consume.Resource);
    expect(queues).toContain(logicalId(app.data.events.projector.queue));
    expect(queues).toContain(logicalId(app.data.images.notifications.queue));
    expect(queues).not.toContain(logicalId(app.data.events.search.queue)); // search off
    const put = s.find((x) => actions(x).includes('events:PutEvents'))!;
    expect(JSON.stringify(put.Resource)).toContain(logicalId(app.data.events.bus));
  });
});

describe('with sagaEngine=stepfunctions', () => {
  let sf: Synthesized;
  let t: Template;
  beforeAll(() => {
    sf = synthMercado({ sagaEngine: 'stepfunctions' });
    t = Template.fromStack(sf.service);
  });

  it('every instance is told the engine, the state machine and the step queue', () => {
    for (const group of [sf.service.api, sf.service.workers]) {
      const e = env(container(t, group.taskDefinition));
      expect(e.MERCADO_SAGA_ENGINE).toBe('stepfunctions');
      expect(JSON.stringify(e.MERCADO_SAGA_STATE_MACHINE_ARN)).toContain('PurchaseSaga');
      expect(JSON.stringify(e.MERCADO_SAGA_QUEUE_URL)).toContain('Steps');
    }
  });

  it('only the workers may start executions, answer tasks and consume the step queue', () => {
    const workers = allowed(roleStatements(t, sf.service.workers.taskDefinition.taskRole));
    expect(workers).toEqual(
      expect.arrayContaining(['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']),
    );
    const api = allowed(roleStatements(t, sf.service.api.taskDefinition.taskRole));
    expect(api.filter((a) => a.startsWith('states:'))).toEqual([]);
    const consume = roleStatements(t, sf.service.workers.taskDefinition.taskRole).filter((x) =>
      actions(x).includes('sqs:ReceiveMessage'),
    );
    expect(JSON.stringify(consume.map((x) => x.Resource))).toContain('Steps');
  });

  it('by default (runner) no instance gets Step Functions rights, and the engine is runner', () => {
    const e = env(container(template, app.service.workers.taskDefinition));
    expect(e.MERCADO_SAGA_ENGINE).toBe('runner');
    const workers = allowed(roleStatements(template, app.service.workers.taskDefinition.taskRole));
    expect(workers.filter((a) => a.startsWith('states:'))).toEqual([]);
  });

  it('refuses an unknown engine', () => {
    expect(() => synthMercado({ sagaEngine: 'lambda' })).toThrow(/sagaEngine/);
  });
});

describe('with OpenSearch', () => {
  const domain = 'arn:aws:es:eu-west-1:111111111111:domain/mercado';
  let os: Synthesized;
  let t: Template;
  beforeAll(() => {
    os = synthMercado({ opensearchUrl: 'https://search-mercado.eu-west-1.es.amazonaws.com', opensearchDomainArn: domain });
    t = Template.fromStack(os.service);
  });

  it('every instance runs MERCADO_SEARCH=opensearch; the workers feed it from the search queue', () => {
    const api = env(container(t, os.service.api.taskDefinition));
    const workers = env(container(t, os.service.workers.taskDefinition));
    for (const e of [api, workers]) {
      expect(e.MERCADO_SEARCH).toBe('opensearch');
      expect(e.MERCADO_OPENSEARCH_URL).toBe('https://search-mercado.eu-west-1.es.amazonaws.com');
    }
    expect(api.MERCADO_SEARCH_QUEUE_URL).toBeUndefined();
    expect(JSON.stringify(workers.MERCADO_SEARCH_QUEUE_URL)).toContain(logicalId(os.data.events.search.queue));
  });

  it('grants es:ESHttp* on the domain only; DELETE only to the workers', () => {
    const api = roleStatements(t, os.service.api.taskDefinition.taskRole).filter((s) => actions(s).some((a) => a.startsWith('es:')));
    const workers = roleStatements(t, os.service.workers.taskDefinition.taskRole).filter((s) =>
      actions(s).some((a) => a.startsWith('es:')),
    );
    expect(api).toHaveLength(1);
    expect(workers).toHaveLength(1);
    expect(api[0].Resource).toBe(`${domain}/*`);
    expect(actions(api[0])).not.toContain('es:ESHttpDelete');
    expect(actions(workers[0])).toContain('es:ESHttpDelete');
  });
});

describe('server image', () => {
  it('is built from the repository Dockerfile for linux/amd64, without node_modules, target, .git or deploy/', () => {
    const assembly = app.app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${app.service.artifactId}.assets.json`), 'utf8'));
    const images = Object.values(manifest.dockerImages ?? {}) as any[];
    expect(images).toHaveLength(1);
    expect(images[0].source.dockerFile).toBe('Dockerfile');
    expect(images[0].source.platform).toBe('linux/amd64');
    const staged = path.join(assembly.directory, images[0].source.directory);
    const top = fs.readdirSync(staged);
    expect(top).toEqual(expect.arrayContaining(['Dockerfile', 'Cargo.toml', 'Cargo.lock', 'src', 'resolvers', 'migrations', 'web-client']));
    for (const gone of ['.git', 'target', 'deploy', 'node_modules']) expect(top).not.toContain(gone);
    expect(fs.existsSync(path.join(staged, 'web-client/app/node_modules'))).toBe(false);
    expect(fs.existsSync(path.join(staged, 'web-client/app/package-lock.json'))).toBe(true);
    expect(fs.existsSync(path.join(staged, 'web-client/graphiql/index.html'))).toBe(true);
  });
});
