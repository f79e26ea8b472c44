import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QueueWithDlq } from './queues';

/**
 * Every mercado event has `Source` = `mercado.<context>` (src/adapters/bus/eventbridge.rs);
 * provision's rule pattern is `{"source":[{"prefix":"mercado."}]}`.
 */
export const SOURCE_PREFIX = 'mercado.';

/**
 * The event route (src/adapters/provision/events.rs): a custom bus, the projector's queue and
 * the search feed's queue, each with its own rule matching every mercado event, each queue
 * with a dead-letter queue.
 */
export class EventRoutes extends Construct {
  readonly bus: events.EventBus;
  /** MERCADO_QUEUE_URL: the projector's queue (catalog read model). */
  readonly projector: QueueWithDlq;
  /** MERCADO_SEARCH_QUEUE_URL: the search feed's queue, shared by the worker instances. */
  readonly search: QueueWithDlq;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus');
    this.projector = new QueueWithDlq(this, 'Projector');
    this.search = new QueueWithDlq(this, 'Search');
    // Two rules rather than one rule with two targets: like provision, each queue has a rule
    // of its own, so either can be disabled or changed alone.
    this.route('ToProjector', this.projector.queue);
    this.route('ToSearch', this.search.queue);
  }

  private route(id: string, queue: sqs.IQueue): events.Rule {
    // targets.SqsQueue also writes the queue policy letting events.amazonaws.com send,
    // conditioned on this rule's ARN (what provision's ensure_queue does by hand).
    return new events.Rule(this, id, {
      eventBus: this.bus,
      eventPattern: { source: events.Match.prefix(SOURCE_PREFIX) },
      targets: [new targets.SqsQueue(queue)],
    });
  }
}
