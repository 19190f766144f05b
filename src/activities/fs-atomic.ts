/**
 * Atomic file writes: a reader (or a crash) never sees a half-written file, because the new
 * content goes to a temp file in the same directory and is renamed over the target.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function writeFileAtomic(absPath: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(absPath);
  await fs.mkdir(dir, { recursive: true });
  // Keep the mode of a file we replace (an edited script stays executable), never setuid/setgid.
  const mode = await fs.stat(absPath).then(
    (s) => s.mode & 0o1777,
    () => undefined,
  );
  const tmp = path.join(dir, `.${path.basename(absPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      if (mode !== undefined) await fh.chmod(mode); // exact, whatever the umask
      await fh.writeFile(data);
      await fh.sync(); // the rename must not land before the data does
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, absPath);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Appends one line and flushes it to disk: a transcript line survives a machine crash too. */
export async function appendLineDurable(absPath: string, line: string): Promise<void> {
  await fs.mkdir(path.dirname(absPath), { recursive: true });
  const fh = await fs.open(absPath, 'a');
  try {
    await fh.writeFile(`${line}\n`);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
