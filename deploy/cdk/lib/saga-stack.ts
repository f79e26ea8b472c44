import * as fs from 'node:fs';
import * as path from 'node:path';
import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** The committed saga definition (the same steps as src/workers/saga.rs). */
export const SAGA_ASL_PATH = path.resolve(__dirname, '../../../src/workers/saga.asl.json');

/** The Amazon States Language document, as committed. */
export function readSagaDefinition(file = SAGA_ASL_PATH): string {
  return fs.readFileSync(file, 'utf8');
}

/** The Lambda functions the definition's `lambda:invoke` tasks name, in order of appearance. */
export function lambdaFunctionNames(definition: string): string[] {
  const doc = JSON.parse(definition) as { States: Record<string, { Resource?: string; Parameters?: { FunctionName?: string } }> };
  const names = Object.values(doc.States)
    .filter((s) => s.Resource === 'arn:aws:states:::lambda:invoke' && s.Parameters?.FunctionName)
    .map((s) => s.Parameters!.FunctionName!);
  return [...new Set(names)];
}

/** `${...}` placeholders the definition expects as definitionSubstitutions. */
export function placeholders(definition: string): string[] {
  return [...new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))];
}

export interface MercadoSagaStackProps extends StackProps {
  /** Values for the definition's `${...}` placeholders, if it has any. */
  readonly substitutions?: Record<string, string>;
  /** The ASL file; defaults to src/workers/saga.asl.json. */
  readonly definitionFile?: string;
}

/**
 * The purchase saga as a Standard Step Functions state machine, from the committed ASL.
 *
 * mercado runs the saga in-process today (src/workers/saga.rs, durable in PostgreSQL); the
 * ASL maps each step one-to-one onto a Lambda task (`mercado-hold-stock`, `mercado-charge`,
 * ...). Those functions are not part of this app: until they exist, an execution fails at
 * its first task. The state machine is deployed so the definition is validated by AWS and
 * ready for the functions.
 */
export class MercadoSagaStack extends Stack {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: MercadoSagaStackProps = {}) {
    super(scope, id, props);
    const definition = readSagaDefinition(props.definitionFile);
    const wanted = placeholders(definition);
    const given = props.substitutions ?? {};
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

    // The only task integration in the ASL is lambda:invoke; grant exactly the named
    // functions (unqualified ARNs, as the definition names them without a version).
    const functionArns = lambdaFunctionNames(definition).map((name) =>
      Arn.format({ service: 'lambda', resource: 'function', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, this),
    );
    if (functionArns.length > 0) {
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: functionArns }),
      );
    }

    NagSuppressions.addResourceSuppressions(
      this.stateMachine,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Step Functions logging to CloudWatch Logs goes through the log-delivery API (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups, ...), which does not support resource-level permissions, and X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) likewise only accepts "*". Both statements are written by CDK for logs and tracingEnabled; the Lambda statement names each function.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }
}
