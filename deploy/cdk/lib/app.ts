import { App, Aspects, Tags } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MercadoConfig } from './config';
import { MercadoDataStack } from './data-stack';
import { MercadoSagaStack } from './saga-stack';
import { MercadoServiceStack } from './service-stack';

export interface MercadoStacks {
  readonly data: MercadoDataStack;
  readonly saga: MercadoSagaStack;
  readonly service: MercadoServiceStack;
}

export interface BuildOptions {
  /** Overrides the server image (tests; the default builds the repository's Dockerfile). */
  readonly image?: ecs.ContainerImage;
}

/**
 * mercado's three stacks, and cdk-nag's AWS Solutions rules over all of them, so that both
 * `cdk synth` and the tests fail on an unsuppressed finding.
 *
 * - Mercado-Data: DynamoDB, EventBridge + SQS, the images bucket, Cognito (RETAINed state).
 * - Mercado-Saga: the purchase saga's Step Functions state machine.
 * - Mercado-Service: VPC, RDS PostgreSQL, ECS cluster, the api and workers services, the ALB.
 */
export function buildMercado(app: App, config: MercadoConfig, options: BuildOptions = {}): MercadoStacks {
  // Account-agnostic, region-specific: no lookups, so synth works offline.
  const env = { region: config.region };
  const data = new MercadoDataStack(app, 'Mercado-Data', {
    env,
    config,
    description: 'mercado: DynamoDB read model, EventBridge bus and SQS queues, images bucket, Cognito user pool',
  });
  const saga = new MercadoSagaStack(app, 'Mercado-Saga', {
    env,
    description: 'mercado: the purchase saga as a Step Functions state machine (src/workers/saga.asl.json)',
  });
  const service = new MercadoServiceStack(app, 'Mercado-Service', {
    env,
    config,
    data,
    saga,
    image: options.image,
    description: 'mercado: VPC, RDS PostgreSQL, ECS Fargate services (api behind an ALB, workers)',
  });
  for (const stack of [data, saga, service]) Tags.of(stack).add('app', 'mercado');
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { data, saga, service };
}
