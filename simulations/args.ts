/** A small `--name value` / `--flag` command-line reader shared by the simulator's CLIs. */

export class ArgError extends Error {}

export interface ParsedArgs {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
}

/** Reads argv; `flagNames` take no value. Unknown names are rejected with the list of known ones. */
export function parseArgs(argv: readonly string[], valueNames: readonly string[], flagNames: readonly string[]): ParsedArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new ArgError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (flagNames.includes(name)) {
      flags.add(name);
      continue;
    }
    if (!valueNames.includes(name)) {
      throw new ArgError(`unknown option --${name}; known: ${[...valueNames, ...flagNames].map((n) => `--${n}`).join(' ')}`);
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ArgError(`--${name} needs a value`);
    values.set(name, value);
  }
  return { values, flags };
}

export function intArg(args: ParsedArgs, name: string): number | undefined {
  const raw = args.values.get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ArgError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return n;
}

export function numberArg(args: ParsedArgs, name: string): number | undefined {
  const raw = args.values.get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ArgError(`--${name} must be a number, got ${JSON.stringify(raw)}`);
  return n;
}
