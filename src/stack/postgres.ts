/**
 * The stack's own PostgreSQL cluster: the machine's PostgreSQL programs (installed with apt-get
 * when missing), a private data directory and port, listening on 127.0.0.1 only, its socket in its
 * own directory. The system's cluster (if any) is never touched. As root it runs as the
 * `postgres` user (PostgreSQL refuses root).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findOnPath } from '../parent-death';
import { DATABASE } from './config';
import { readPid, run, tail } from './processes';

export interface PostgresPaths {
  dir: string;
  data: string;
  socketDir: string;
  logFile: string;
  passwordFile: string;
}

export function postgresPaths(stackDir: string): PostgresPaths {
  const dir = path.join(stackDir, 'postgres');
  return {
    dir,
    data: path.join(dir, 'data'),
    socketDir: path.join(dir, 'run'),
    logFile: path.join(dir, 'postgres.log'),
    // The temporal role's password: read by the stack only (the server's config file has it too, mode 0600).
    passwordFile: path.join(stackDir, 'secrets', 'postgres-password'),
  };
}

const asRoot = () => process.getuid?.() === 0;

/** The directory of initdb, pg_ctl, postgres and psql: the newest installed major version. */
export function postgresBinDir(): string | undefined {
  const lib = '/usr/lib/postgresql';
  const majors = fs.existsSync(lib)
    ? fs
        .readdirSync(lib)
        .filter((v) => fs.existsSync(path.join(lib, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length) return path.join(lib, majors[0], 'bin');
  const initdb = findOnPath('initdb');
  return initdb ? path.dirname(fs.realpathSync(initdb)) : undefined;
}

/** PostgreSQL's programs, installed with apt-get (Debian's `postgresql`) if there are none. */
export function ensurePostgresInstalled(log: (m: string) => void): string {
  const found = postgresBinDir();
  if (found) return found;
  const apt = findOnPath('apt-get');
  const hint = 'install PostgreSQL 12 or newer (Debian/Ubuntu: apt-get install -y postgresql)';
  if (!apt) throw new Error(`no PostgreSQL here and no apt-get to install it: ${hint}`);
  if (!asRoot()) throw new Error(`no PostgreSQL here; installing it needs root: ${hint}`);
  log('installing PostgreSQL with apt-get (postgresql)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync(apt, ['-q', 'install', '-y', 'postgresql'], { stdio: 'inherit', env }).status === 0;
  if (!install() && !(spawnSync(apt, ['-q', 'update'], { stdio: 'inherit', env }).status === 0 && install()))
    throw new Error(`apt-get could not install postgresql; ${hint}`);
  const dir = postgresBinDir();
  if (!dir) throw new Error(`apt-get installed postgresql but no initdb was found under /usr/lib/postgresql`);
  return dir;
}

export class Postgres {
  readonly paths: PostgresPaths;

  constructor(
    readonly stackDir: string,
    readonly port: number,
    readonly binDir: string,
  ) {
    this.paths = postgresPaths(stackDir);
  }

  /** `program args` as the user PostgreSQL runs as. */
  private pg(program: string, args: string[], what: string, input?: string): string {
    const file = path.join(this.binDir, program);
    return asRoot()
      ? run('runuser', ['-u', 'postgres', '--', file, ...args], { what, input })
      : run(file, args, { what, input });
  }

  get initialised(): boolean {
    return fs.existsSync(path.join(this.paths.data, 'PG_VERSION'));
  }

  /** The data directory, created once; the role's password is made here and kept in the stack. */
  init(log: (m: string) => void): void {
    const { dir, data, socketDir, passwordFile } = this.paths;
    for (const d of [dir, data, socketDir]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    if (asRoot()) {
      // PostgreSQL runs as `postgres`: it must own its directory and be able to reach it.
      run('chown', ['-R', 'postgres:postgres', dir], { what: 'postgres data directory' });
      for (let p = path.dirname(dir); p !== path.dirname(p); p = path.dirname(p)) {
        const mode = fs.statSync(p).mode;
        if ((mode & 0o001) === 0)
          throw new Error(
            `the stack directory ${this.stackDir} is under ${p}, which the postgres user cannot enter (mode ${(mode & 0o777).toString(8)}); ` +
              `choose another with --dir or PHASEFLOW_STACK_DIR (default for root: /var/lib/phaseflow/stack)`,
          );
      }
    }
    if (!fs.existsSync(passwordFile)) {
      fs.mkdirSync(path.dirname(passwordFile), { recursive: true, mode: 0o700 });
      fs.writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    }
    if (this.initialised) return;
    log(`initialising a PostgreSQL cluster in ${data}`);
    this.pg(
      'initdb',
      ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256'],
      'initdb',
    );
  }

  get password(): string {
    return fs.readFileSync(this.paths.passwordFile, 'utf8').trim();
  }

  /** The postmaster's pid while it runs (from postmaster.pid), else undefined. */
  pid(): number | undefined {
    const pid = readPid(path.join(this.paths.data, 'postmaster.pid'));
    if (!pid) return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  start(): void {
    if (this.pid()) return;
    const { data, socketDir, logFile } = this.paths;
    const options = [
      `-c port=${this.port}`,
      `-c listen_addresses=127.0.0.1`,
      `-c unix_socket_directories=${socketDir}`,
      // Two stores with their pools, the SQL tool and a restart's reconnections.
      `-c max_connections=200`,
    ].join(' ');
    try {
      this.pg('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '120', 'start'], 'start PostgreSQL');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nend of ${logFile}:\n${tail(logFile)}`);
    }
  }

  /** `fast` waits for nothing but a clean shutdown; `immediate` is a crash (recovery at the next start). */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    if (!this.pid()) return;
    this.pg('pg_ctl', ['-D', this.paths.data, '-m', mode, '-w', '-t', '120', 'stop'], 'stop PostgreSQL');
  }

  ready(): boolean {
    const isready = path.join(this.binDir, 'pg_isready');
    return spawnSync(isready, ['-h', '127.0.0.1', '-p', String(this.port), '-q']).status === 0;
  }

  psql(sql: string, what: string): string {
    return this.pg(
      'psql',
      [
        '-h',
        this.paths.socketDir,
        '-p',
        String(this.port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-tA',
        '-f',
        '-',
      ],
      what,
      sql,
    );
  }

  /** Temporal's role, with the stack's password (kept in step on every `up`). */
  ensureRole(): void {
    const pw = this.password.replace(/'/g, "''");
    this.psql(
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DATABASE.user}') THEN
           CREATE ROLE ${DATABASE.user} LOGIN CREATEDB PASSWORD '${pw}';
         ELSE
           ALTER ROLE ${DATABASE.user} LOGIN CREATEDB PASSWORD '${pw}';
         END IF;
       END $$;`,
      'create the temporal role',
    );
  }

  databaseExists(name: string): boolean {
    return (
      this.psql(`SELECT 1 FROM pg_database WHERE datname = '${name}';`, `look for database ${name}`).trim() === '1'
    );
  }
}
