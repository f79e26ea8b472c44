import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MercadoSagaStack, placeholders, readSagaDefinition } from '../lib/saga-stack';
import { actions, policyStatements, resources, synthMercado } from './helpers';

const asl = JSON.parse(readSagaDefinition()) as { StartAt: string; States: Record<string, unknown> };

let template: Template;
beforeAll(() => {
  template = Template.fromStack(synthMercado().saga);
});

function definition(t: Template): string {
  const machine = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
  const body = machine.Properties.DefinitionString;
  // A definition without tokens is rendered as the plain string.
  expect(typeof body).toBe('string');
  return body as string;
}

describe('purchase saga state machine', () => {
  it('is one STANDARD state machine with tracing and ALL-level logging to its own log group', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }],
      },
    });
  });

  it('inlines the committed ASL unchanged, its step queue passed as the SagaQueueUrl substitution', () => {
    const deployed = JSON.parse(definition(template)) as typeof asl;
    expect(deployed).toEqual(asl);
    expect(Object.keys(deployed.States)).toEqual(
      expect.arrayContaining(['Hold', 'Pay', 'Finalize', 'Compensate', 'Route', 'Done', 'Stranded']),
    );
    expect(deployed.StartAt).toBe('Hold');
    expect(placeholders(readSagaDefinition())).toEqual(['SagaQueueUrl']);
    const queue = Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } }))[0];
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: { SagaQueueUrl: { Ref: queue } },
    });
  });

  it('every task is an SQS task with a callback token to that queue, with a timeout, retries and a catch', () => {
    const tasks = Object.values(asl.States as Record<string, any>).filter((s) => s.Type === 'Task');
    expect(tasks).toHaveLength(4);
    for (const t of tasks) {
      expect(t.Resource).toBe('arn:aws:states:::sqs:sendMessage.waitForTaskToken');
      expect(t.Parameters.QueueUrl).toBe('${SagaQueueUrl}');
      expect(t.Parameters.MessageBody['taskToken.$']).toBe('$$.Task.Token');
      expect(t.TimeoutSecondsPath).toBe('$.taskTimeoutSeconds');
      expect(t.Retry.map((r: any) => r.ErrorEquals[0])).toEqual(expect.arrayContaining(['Mercado.Unavailable', 'States.Timeout']));
      for (const r of t.Retry) expect(Number.isInteger(r.IntervalSeconds)).toBe(true);
      expect(t.Catch.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'Stranded' });
    }
  });

  it('the step queue has a dead-letter queue, and the machine may only send to it (beyond logs and X-Ray)', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
      SqsManagedSseEnabled: true,
    });
    const statements = policyStatements(template).map((p) => p.statement);
    const sqs = statements.filter((s) => actions(s).some((a) => a.startsWith('sqs:')));
    expect(sqs).toHaveLength(1);
    expect(actions(sqs[0])).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(resources(sqs[0])).toHaveLength(1);
    for (const s of statements) {
      for (const a of actions(s)) expect(a).toMatch(/^(sqs:[A-Za-z]+|logs:[A-Za-z]+|xray:[A-Za-z]+)$/);
    }
  });
});

describe('definitionSubstitutions', () => {
  function withPlaceholder(): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mercado-asl-')), 'saga.asl.json');
    const doc = {
      StartAt: 'Notify',
      States: {
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl: '${QueueUrl}', 'MessageBody.$': '$' },
          End: true,
        },
      },
    };
    fs.writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  it('refuses a definition whose placeholders are not all given', () => {
    const app = new App();
    expect(() => new MercadoSagaStack(app, 'Saga', { definitionFile: withPlaceholder() })).toThrow(/QueueUrl/);
  });

  it('passes the given values as DefinitionSubstitutions', () => {
    const app = new App();
    const stack = new MercadoSagaStack(app, 'Saga', {
      definitionFile: withPlaceholder(),
      substitutions: { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/q' },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/q' },
    });
  });
});
