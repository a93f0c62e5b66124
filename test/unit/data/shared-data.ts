// Where the real material from the field lives (../shared/data, see its README); tests skip when it is absent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = process.env.REPOSER_SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data');
export const HAVE_SHARED = existsSync(join(SHARED, 'README.md'));
export const NO_SHARED = HAVE_SHARED ? false : `no real data at ${SHARED} (set REPOSER_SHARED_DATA)`;
