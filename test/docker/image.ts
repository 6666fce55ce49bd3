/**
 * Reads docker/Dockerfile the way `docker build` would, for the instructions the Docker tests need
 * (FROM, WORKDIR, ENV, COPY, ENTRYPOINT, CMD, HEALTHCHECK, EXPOSE, VOLUME, USER), so that they run
 * the image's own configuration outside a container instead of a copy of it. Also maps a path in
 * the final image back to the file of the repository it comes from, following COPY instructions
 * through the build stages.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface CopyInstruction {
  /** The stage named by --from, or undefined for the build context (the repository root). */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Absolute in the image (resolved against the WORKDIR in force); ends with '/' when written so. */
  readonly dest: string;
  readonly line: number;
}

export interface Healthcheck {
  readonly options: Readonly<Record<string, string>>;
  /** The command as `docker` runs it: exec form as written, shell form as ['/bin/sh', '-c', text]. */
  readonly command: readonly string[];
}

export interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  /** The WORKDIR in force at the end of the stage ('/' when none). */
  workdir: string;
  readonly env: Record<string, string>;
  readonly copies: CopyInstruction[];
  entrypoint: string[];
  cmd: string[];
  healthcheck: Healthcheck | undefined;
  readonly expose: string[];
  readonly volumes: string[];
  user: string | undefined;
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
  /** The last stage: the image `docker build` produces. */
  readonly image: Stage;
}

/** Splits a line into words the way Dockerfile ENV/COPY do: quotes group, backslash escapes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text.charAt(++i);
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text.charAt(++i);
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} in ${JSON.stringify(text)}`);
  if (inWord) words.push(word);
  return words;
}

/** Exec form (a JSON array of strings) as written; shell form wrapped in /bin/sh -c, as docker does. */
function commandForm(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
      throw new Error(`exec form must be a JSON array of strings: ${trimmed}`);
    }
    return parsed;
  }
  return trimmed.length === 0 ? [] : ['/bin/sh', '-c', trimmed];
}

/** Leading `--name=value` options of an instruction, and what follows them. */
function takeOptions(text: string): { options: Record<string, string>; rest: string } {
  const options: Record<string, string> = {};
  let rest = text.trim();
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); m !== null; m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    options[m[1] ?? ''] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { options, rest };
}

/** Logical instructions: comments and blank lines dropped, backslash continuations joined. */
function instructions(text: string): Array<{ keyword: string; args: string; line: number }> {
  const out: Array<{ keyword: string; args: string; line: number }> = [];
  let pending = '';
  let startLine = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line.length === 0 && pending.length === 0)) return;
    if (pending.length === 0) startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    pending += line;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(pending.trim());
    if (m !== null) out.push({ keyword: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', line: startLine });
    pending = '';
  });
  if (pending.trim().length > 0) throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

export function parseDockerfile(text: string): Dockerfile {
  const stages: Stage[] = [];
  for (const { keyword, args, line } of instructions(text)) {
    if (keyword === 'FROM') {
      const words = splitWords(takeOptions(args).rest);
      const base = words[0];
      if (base === undefined) throw new Error(`line ${line}: FROM without an image`);
      const inherited = stages.find((s) => s.name !== undefined && s.name === base);
      stages.push({
        name: words[1]?.toUpperCase() === 'AS' ? words[2] : undefined,
        base,
        workdir: inherited?.workdir ?? '/',
        env: { ...inherited?.env },
        copies: [],
        entrypoint: [...(inherited?.entrypoint ?? [])],
        cmd: [...(inherited?.cmd ?? [])],
        healthcheck: inherited?.healthcheck,
        expose: [...(inherited?.expose ?? [])],
        volumes: [...(inherited?.volumes ?? [])],
        user: inherited?.user,
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === 'ARG') continue;
      throw new Error(`line ${line}: ${keyword} before FROM`);
    }
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = path.posix.resolve(stage.workdir, args.trim());
        break;
      case 'ENV': {
        const words = splitWords(args);
        if (words.length > 0 && words.every((w) => w.includes('='))) {
          for (const w of words) stage.env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
        } else {
          // Legacy `ENV NAME value with spaces`.
          const m = /^(\S+)\s+([\s\S]*)$/.exec(args.trim());
          if (m === null) throw new Error(`line ${line}: cannot read ENV ${args}`);
          stage.env[m[1] ?? ''] = m[2] ?? '';
        }
        break;
      }
      case 'COPY':
      case 'ADD': {
        const { options, rest } = takeOptions(args);
        const words = rest.startsWith('[') ? commandForm(rest) : splitWords(rest);
        const dest = words.at(-1);
        if (dest === undefined || words.length < 2) throw new Error(`line ${line}: ${keyword} needs a source and a destination`);
        const resolved = path.posix.resolve(stage.workdir, dest);
        stage.copies.push({
          from: options.from,
          sources: words.slice(0, -1),
          dest: dest.endsWith('/') || dest === '.' ? `${resolved.replace(/\/$/, '')}/` : resolved,
          line,
        });
        break;
      }
      case 'ENTRYPOINT':
        stage.entrypoint = commandForm(args);
        stage.cmd = []; // docker: setting ENTRYPOINT resets an inherited CMD
        break;
      case 'CMD':
        stage.cmd = commandForm(args);
        break;
      case 'HEALTHCHECK': {
        const { options, rest } = takeOptions(args);
        if (/^NONE$/i.test(rest.trim())) stage.healthcheck = undefined;
        else {
          const m = /^CMD\s+([\s\S]*)$/i.exec(rest.trim());
          if (m === null) throw new Error(`line ${line}: HEALTHCHECK must be NONE or CMD ...`);
          stage.healthcheck = { options, command: commandForm(m[1] ?? '') };
        }
        break;
      }
      case 'EXPOSE':
        stage.expose.push(...splitWords(args));
        break;
      case 'VOLUME':
        stage.volumes.push(...(args.trim().startsWith('[') ? commandForm(args) : splitWords(args)));
        break;
      case 'USER':
        stage.user = args.trim();
        break;
      default:
        break; // RUN, ARG, LABEL, ...: nothing the tests run
    }
  }
  const image = stages.at(-1);
  if (image === undefined) throw new Error('no FROM in Dockerfile');
  return { stages, image };
}

export function readDockerfile(file: string): Dockerfile {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

/**
 * The repository file behind `imagePath` in `stage`: follows the stage's COPY instructions (the
 * last one that covers the path wins), into earlier stages for `--from`. In a stage reached by
 * `--from`, a path no COPY covers but under the stage's WORKDIR is taken as built in place from the
 * repository copied there (dist/ from `tsc`), so it maps to the same path relative to the root.
 * Returns undefined when nothing in the Dockerfile puts a file there.
 */
export function repoPathOf(dockerfile: Dockerfile, imagePath: string, repoRoot: string, stage: Stage = dockerfile.image): string | undefined {
  const target = path.posix.normalize(imagePath);
  for (const copy of [...stage.copies].reverse()) {
    const toDir = copy.dest.endsWith('/') || copy.sources.length > 1;
    for (const source of copy.sources) {
      const sourcePath = (p: string): string | undefined => {
        if (copy.from === undefined) return path.join(repoRoot, p);
        const from = dockerfile.stages.find((s) => s.name === copy.from);
        if (from === undefined) throw new Error(`COPY --from=${copy.from} (line ${copy.line}) names no stage`);
        return repoPathOf(dockerfile, path.posix.resolve(from.workdir, p), repoRoot, from);
      };
      const whole = sourcePath(source);
      if (whole === undefined) continue;
      const isDir = existsSync(whole) && statSync(whole).isDirectory();
      // A directory's contents land in dest; a file lands at dest, or in it when dest is a directory.
      const landing = isDir ? copy.dest.replace(/\/$/, '') : toDir ? path.posix.join(copy.dest, path.posix.basename(source)) : copy.dest;
      if (target === landing) return whole;
      if (isDir && target.startsWith(`${landing}/`)) return sourcePath(path.posix.join(source, target.slice(landing.length + 1)));
    }
  }
  if (stage !== dockerfile.image && (target === stage.workdir || target.startsWith(`${stage.workdir.replace(/\/$/, '')}/`))) {
    return path.join(repoRoot, path.posix.relative(stage.workdir, target));
  }
  return undefined;
}

/** The build-context sources of every COPY/ADD, in every stage (repository-relative). */
export function contextSources(dockerfile: Dockerfile): Array<{ source: string; line: number }> {
  return dockerfile.stages.flatMap((s) => s.copies.filter((c) => c.from === undefined).flatMap((c) => c.sources.map((source) => ({ source, line: c.line }))));
}
