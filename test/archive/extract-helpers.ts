/**
 * Hostile and unusual tar archives for the extraction tests, written by Python's tarfile
 * (which stores names exactly as given, `..` and absolute ones included) so that the
 * archives come from an independent writer, not from abctl's own header code.
 */
import { execFileSync } from 'node:child_process';

/** One member; `data` for files, `target` for symlinks and hard links. */
export interface Member {
  readonly name: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev' | 'blockdev';
  readonly data?: string;
  readonly target?: string;
  readonly mode?: number;
  readonly mtime?: number;
  readonly devmajor?: number;
  readonly devminor?: number;
}

const SCRIPT = String.raw`
import io, json, sys, tarfile
spec = json.load(sys.stdin)
fmt = {'gnu': tarfile.GNU_FORMAT, 'pax': tarfile.PAX_FORMAT, 'ustar': tarfile.USTAR_FORMAT}[spec['format']]
mode = 'w:gz' if spec['gzip'] else 'w'
types = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE,
         'fifo': tarfile.FIFOTYPE, 'chardev': tarfile.CHRTYPE, 'blockdev': tarfile.BLKTYPE}
with tarfile.open(spec['out'], mode, format=fmt) as tar:
    for m in spec['members']:
        info = tarfile.TarInfo(m['name'])
        info.type = types[m['type']]
        info.mode = m.get('mode', 0o755 if m['type'] == 'dir' else 0o644)
        info.mtime = m.get('mtime', 1700000000)
        info.linkname = m.get('target', '')
        info.devmajor = m.get('devmajor', 0)
        info.devminor = m.get('devminor', 0)
        data = m.get('data', '').encode()
        info.size = len(data) if m['type'] == 'file' else 0
        tar.addfile(info, io.BytesIO(data) if m['type'] == 'file' else None)
`;

/** Writes `members` into the tar archive `out` (gzip when asked). */
export function writeTar(out: string, members: readonly Member[], opts: { format?: 'gnu' | 'pax' | 'ustar'; gzip?: boolean } = {}): string {
  execFileSync('python3', ['-c', SCRIPT], {
    input: JSON.stringify({ out, members, format: opts.format ?? 'pax', gzip: opts.gzip ?? false }),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  return out;
}
