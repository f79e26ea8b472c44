import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { QueueWithDlq } from './queues';

/**
 * Where uploads go: the server presigns PUTs under this prefix (IMAGE_PREFIX in
 * src/adapters/s3/mod.rs, keys `products/<seller>/<product>/<uuid>.<ext>`), and provision
 * filters the object-created notification on it.
 */
export const IMAGE_PREFIX = 'products/';

export interface ImageStoreProps {
  /** Origins allowed to PUT from a browser (MERCADO_IMAGE_UPLOAD_ORIGINS). */
  readonly uploadOrigins: string[];
  /** Where the bucket's server access logs go. */
  readonly accessLogs: s3.IBucket;
}

/**
 * The images bucket, its CORS rule and its object-created notifications to an SQS queue
 * (src/adapters/provision/images.rs).
 */
export class ImageStore extends Construct {
  readonly bucket: s3.Bucket;
  /** MERCADO_IMAGE_QUEUE_URL: the bucket's object-created notifications. */
  readonly notifications: QueueWithDlq;

  constructor(scope: Construct, id: string, props: ImageStoreProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // Private: mercado streams images itself (MERCADO_IMAGE_BASE_URL=/images) or a CDN
      // with origin access control does; nothing reads the bucket anonymously.
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Keys never repeat (each upload gets a new uuid), so versioning only guards against
      // deletes and overwrites by mistake; old versions go after 30 days.
      versioned: true,
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 's3/images/',
      // The same CORS rule provision writes: browsers PUT straight to the bucket with the
      // presigned URL, sending the signed content-type and content-length headers.
      cors: [
        {
          allowedOrigins: props.uploadOrigins,
          allowedMethods: [s3.HttpMethods.PUT],
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3600,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.notifications = new QueueWithDlq(this, 'Uploaded');
    // SqsDestination adds the queue policy for s3.amazonaws.com, conditioned on this bucket.
    this.bucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.SqsDestination(this.notifications.queue),
      { prefix: IMAGE_PREFIX },
    );
  }
}
