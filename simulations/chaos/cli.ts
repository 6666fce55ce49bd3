import type { ParsedArgs } from '../args.js';
import type { ConfigOverrides } from '../config.js';

/** Placeholder until the real-process runner lands. */
export async function runChaosCli(_args: ParsedArgs, _overrides: ConfigOverrides): Promise<number> {
  console.error('the real-process chaos runner is not built yet');
  return 2;
}
