/**
 * A Linux network namespace joined to this machine by a veth pair, so that a process started in it
 * (`ip netns exec`) has its own network stack, like another machine on a point-to-point link: its own
 * loopback, its own address (`innerAddress`), and this machine at `outerAddress`. Needs CAP_SYS_ADMIN
 * (root, usually): `networkNamespacesAvailable()` says whether this run may create them.
 * `close()` deletes the namespace; the veth pair goes with it. Kill the processes inside first.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
}

/** True when `ip netns add` works here (tried with a throwaway namespace); otherwise why not. */
export function networkNamespacesAvailable(): { ok: true } | { ok: false; reason: string } {
  const probe = `cm-probe-${randomBytes(3).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.error) return { ok: false, reason: `no ip command (${added.error.message})` };
  if (added.status !== 0) return { ok: false, reason: `ip netns add failed: ${added.stderr.trim()}` };
  spawnSync('ip', ['netns', 'del', probe]);
  return { ok: true };
}

export class NetworkNamespace {
  private constructor(
    readonly name: string,
    /** This machine's end of the link: what a process inside reaches the outside at. */
    readonly outerAddress: string,
    /** The namespace's own address. */
    readonly innerAddress: string,
  ) {}

  /** A namespace on its own /30 in 10.231.0.0/16 (`index` 0-16383 picks which). */
  static create(index: number): NetworkNamespace {
    const tag = randomBytes(3).toString('hex');
    const name = `cm-${tag}-${index}`;
    const base = index * 4;
    const subnet = `10.231.${Math.floor(base / 256)}`;
    const outer = `${subnet}.${(base % 256) + 1}`;
    const inner = `${subnet}.${(base % 256) + 2}`;
    // Interface names are at most 15 characters.
    const outerLink = `cmo${tag}${index}`.slice(0, 15);
    const innerLink = `cmi${tag}${index}`.slice(0, 15);
    ip('netns', 'add', name);
    const namespace = new NetworkNamespace(name, outer, inner);
    try {
      ip('link', 'add', outerLink, 'type', 'veth', 'peer', 'name', innerLink);
      ip('link', 'set', innerLink, 'netns', name);
      ip('addr', 'add', `${outer}/30`, 'dev', outerLink);
      ip('link', 'set', outerLink, 'up');
      ip('-n', name, 'addr', 'add', `${inner}/30`, 'dev', innerLink);
      ip('-n', name, 'link', 'set', innerLink, 'up');
      ip('-n', name, 'link', 'set', 'lo', 'up');
    } catch (error) {
      namespace.close();
      spawnSync('ip', ['link', 'del', outerLink]);
      throw error;
    }
    return namespace;
  }

  /** The command prefix that runs a program inside (it keeps the pid: `ip netns exec` execs it). */
  get exec(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  close(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}
