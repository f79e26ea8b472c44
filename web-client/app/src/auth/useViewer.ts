import { session } from '../api';
import { useExternal } from '../lib/store';
import type { Viewer } from './jwt';

export function useViewer(): Viewer | null {
  return useExternal(session, () => session.viewer());
}
