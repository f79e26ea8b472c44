import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Deliveries of one message before SQS moves it to the dead-letter queue. mercado's consumer
 * resets a poison message's visibility to 0 so it reaches this count quickly; the server's
 * MERCADO_MAX_RECEIVES (default 5) is the same number for JetStream, and `provision` sets it
 * as the redrive policy's maxReceiveCount.
 */
export const MAX_RECEIVES = 5;

/** A queue and its dead-letter queue, both encrypted (SSE-SQS) and refusing plain HTTP. */
export class QueueWithDlq extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // SSE-SQS rather than a KMS key: EventBridge and S3 can send to it with no key policy,
    // and the consumers need no kms:Decrypt.
    this.deadLetterQueue = new sqs.Queue(this, 'Dlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: time to look at poison messages and redrive them.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The consumer long-polls for up to 20 s itself (MERCADO_SQS_WAIT_SECONDS); this makes
      // any other reader long-poll too.
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
    });
  }
}
