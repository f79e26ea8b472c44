// Uploads a file straight to object storage with the presigned request the API returned.
// XMLHttpRequest rather than fetch: only it reports upload progress.
export interface PresignedRequest {
  url: string;
  method: string;
  headers: readonly { name: string; value: string }[];
}

// The browser sets these itself (and refuses to be told): Content-Length is the file's size,
// the very length the upload was signed for.
const SET_BY_BROWSER = new Set(['content-length', 'host']);

export function uploadFile(req: PresignedRequest, file: Blob, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(req.method, req.url);
    // Exactly the signed headers: anything else breaks the signature.
    for (const h of req.headers) if (!SET_BY_BROWSER.has(h.name.toLowerCase())) xhr.setRequestHeader(h.name, h.value);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new Error(`storage answered ${xhr.status} ${xhr.statusText}`.trim()));
    xhr.onerror = () => reject(new Error('the upload could not reach storage'));
    xhr.send(file);
  });
}
