/**
 * Which processes a capture records: by name (glob), user and cgroup. Within one kind any entry may
 * match; across kinds all must (`--name 'postgres*' --user postgres` is postgres's own postgres
 * processes). `--exclude` names are never recorded.
 */
import { compileGlob, type GlobMatcher } from '../engine/glob.ts';
import { inCgroup } from './cgroup.ts';

export interface FilterSpec {
  /** name globs (`*` any run, `?` one character); empty = every name */
  names?: readonly string[];
  /** name globs never recorded */
  exclude?: readonly string[];
  /** user names (or uids as text, for users the passwd file does not name); empty = every user */
  users?: readonly string[];
  /** cgroup paths; a process in one of them or below is kept; empty = every cgroup */
  cgroups?: readonly string[];
}

export type ProcessFilter = (process: { name: string; owner: string; cgroup: string }) => boolean;

/** Compiles the filter once; it runs for every new process of every reading. */
export function compileFilter(spec: FilterSpec): ProcessFilter {
  const names = (spec.names ?? []).map(compileGlob);
  const exclude = (spec.exclude ?? []).map(compileGlob);
  const users = new Set(spec.users ?? []);
  const cgroups = spec.cgroups ?? [];
  const any = (matchers: GlobMatcher[], name: string) => matchers.some((match) => match(name));
  return ({ name, owner, cgroup }) =>
    (names.length === 0 || any(names, name)) &&
    !any(exclude, name) &&
    (users.size === 0 || users.has(owner)) &&
    (cgroups.length === 0 || cgroups.some((prefix) => inCgroup(cgroup, prefix)));
}

/** The filter as the options list of a recording shows it. */
export function describeFilter(spec: FilterSpec): string[] {
  return [
    ...(spec.names ?? []).map((name) => `--name ${name}`),
    ...(spec.exclude ?? []).map((name) => `--exclude ${name}`),
    ...(spec.users ?? []).map((user) => `--user ${user}`),
    ...(spec.cgroups ?? []).map((cgroup) => `--cgroup ${cgroup}`),
  ];
}
