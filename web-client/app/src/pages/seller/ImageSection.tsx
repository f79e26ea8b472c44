// The product image: ask for a presigned upload, PUT the file straight to storage with its
// signed headers (with progress), then wait for storage's notification to set the image; the
// product's live subscription shows it when it lands.
import { useMutation } from '@urql/preact';
import { useState } from 'preact/hooks';
import { RequestImageUploadMutation } from '../../api/ops/inventory';
import { ProblemNote } from '../../components/Status';
import { problemOf, type Problem } from '../../lib/errors';
import { uploadFile } from '../../lib/upload';
import type { Product } from './Editor';

type Phase = { at: 'idle' } | { at: 'uploading'; progress: number } | { at: 'processing'; previous: string | null };

export function ImageSection({ product }: { product: Product }) {
  const [, requestUpload] = useMutation(RequestImageUploadMutation);
  const [phase, setPhase] = useState<Phase>({ at: 'idle' });
  const [problem, setProblem] = useState<Problem | null>(null);
  const waiting = phase.at === 'processing' && product.imageUrl === phase.previous;

  const upload = async (file: File) => {
    setProblem(null);
    const result = await requestUpload({ productId: product.id, contentType: file.type, contentLength: file.size });
    if (!result.data) return setProblem(problemOf(result.error));
    setPhase({ at: 'uploading', progress: 0 });
    try {
      await uploadFile(result.data.requestProductImageUpload, file, (progress) => setPhase({ at: 'uploading', progress }));
      setPhase({ at: 'processing', previous: product.imageUrl ?? null });
    } catch (e) {
      setPhase({ at: 'idle' });
      setProblem({ code: 'UPLOAD', message: `Upload failed: ${(e as Error).message}`, fields: {} });
    }
  };

  return (
    <section aria-labelledby="image-h">
      <h2 id="image-h">Image</h2>
      {product.imageUrl ? (
        <img class="product-image" src={product.imageUrl} alt={`${product.name}`} data-testid="product-image" />
      ) : (
        <p class="muted">No image yet.</p>
      )}
      <ProblemNote problem={problem} />
      <label class="file">
        {product.imageUrl ? 'Replace the image' : 'Upload an image'} (JPEG, PNG or WebP)
        <input type="file" accept="image/jpeg,image/png,image/webp" disabled={phase.at === 'uploading'}
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) upload(file);
            e.currentTarget.value = '';
          }} />
      </label>
      {phase.at === 'uploading' && (
        <progress max={1} value={phase.progress} aria-label="Upload progress">
          {Math.round(phase.progress * 100)}%
        </progress>
      )}
      {waiting && <p role="status">Uploaded. Processing the image…</p>}
    </section>
  );
}
