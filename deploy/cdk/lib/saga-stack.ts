import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { QueueWithDlq } from './queues';

/** The committed saga definition (the same steps as src/workers/saga.rs). */
export const SAGA_ASL_PATH = path.resolve(__dirname, '../../../src/workers/saga.asl.json');

/** The Amazon States Language document, as committed. */
export function readSagaDefinition(file = SAGA_ASL_PATH): string {
  return fs.readFileSync(file, 'utf8');
}

/** `${...}` placeholders the definition expects as definitionSubstitutions. */
export function placeholders(definition: string): string[] {
  return [...new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))];
}

export interface MercadoSagaStackProps extends StackProps {
  /** Values for the definition's `${...}` placeholders beyond `SagaQueueUrl` (the step queue's). */
  readonly substitutions?: Record<string, string>;
  /** The ASL file; defaults to src/workers/saga.asl.json. */
  readonly definitionFile?: string;
}

/**
 * The purchase saga as a Standard Step Functions state machine, from the committed ASL, and the
 * SQS queue (with its dead-letter queue) its step tasks go to.
 *
 * With MERCADO_SAGA_ENGINE=stepfunctions, mercado's relay starts one execution per order and
 * its `saga` workers consume the step queue, run each step and answer with the task token
 * (SendTaskSuccess / SendTaskFailure); with the default `runner` the machine stays idle.
 */
export class MercadoSagaStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  /** Where the state machine sends its step tasks (`MERCADO_SAGA_QUEUE_URL`). */
  readonly steps: QueueWithDlq;

  constructor(scope: Construct, id: string, props: MercadoSagaStackProps = {}) {
    super(scope, id, props);
    const definition = readSagaDefinition(props.definitionFile);
    const wanted = placeholders(definition);
    this.steps = new QueueWithDlq(this, 'Steps');
    const given: Record<string, string> = { SagaQueueUrl: this.steps.queue.queueUrl, ...(props.substitutions ?? {}) };
    const missing = wanted.filter((p) => !(p in given));
    if (missing.length > 0) {
      throw new Error(`saga.asl.json needs definitionSubstitutions for: ${missing.join(', ')}`);
    }

    // Vended-logs prefix: Step Functions then needs no per-log-group CloudWatch Logs resource
    // policy (whose size is limited per account).
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: '/aws/vendedlogs/states/mercado-saga',
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateMachine = new sfn.StateMachine(this, 'PurchaseSaga', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Inlined into the template, not uploaded as an asset: the definition is small and a
      // diff of the template then shows every change to it.
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions: wanted.length > 0 ? given : undefined,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
      // Holds expire after MERCADO_HOLD_TTL_SECONDS (15 min by default); a day bounds any run.
      timeout: Duration.days(1),
    });

    // The only task integration in the ASL is sqs:sendMessage.waitForTaskToken to this queue.
    this.steps.queue.grantSendMessages(this.stateMachine);

    NagSuppressions.addResourceSuppressions(
      this.stateMachine,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Step Functions logging to CloudWatch Logs goes through the log-delivery API (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups, ...), which does not support resource-level permissions, and X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) likewise only accepts "*". Both statements are written by CDK for logs and tracingEnabled; the SQS statement names the step queue.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }
}
