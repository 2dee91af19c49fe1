/**
 * What `gcloud functions deploy --source DIR` uploads: the files under DIR
 * that `.gcloudignore` does not exclude. gcloud reads the file with
 * gitignore syntax (comments, `!` negation, `dir/` for directories only, a
 * leading or inner `/` anchoring to the source root, `*`, `?`, `**`, `[...]`);
 * an ignored directory is not descended into, so nothing under it can be
 * re-included. `#!include:` directives are not supported here and throw.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';

interface Rule {
  negate: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

export function parseGcloudignore(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#!include:'))
      throw new Error(
        `#!include directives are not handled by this test helper: ${raw}`,
      );
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    rules.push({
      negate,
      dirOnly,
      regex: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${globToRegex(line)}$`),
    });
  }
  return rules;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` any leading dirs, `/**` everything inside, `**` alone anything.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      out += end > i ? `[${glob.slice(i + 1, end).replace(/^!/, '^')}]` : '\\[';
      if (end > i) i = end;
    } else if (c === '\\' && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return out;
}

function ignored(rules: Rule[], path: string, isDir: boolean): boolean {
  let result = false;
  for (const r of rules) {
    if (r.dirOnly && !isDir) continue;
    if (r.regex.test(path)) result = !r.negate;
  }
  return result;
}

/** Relative paths (posix) of the files gcloud would upload from `root`. */
export function filesForUpload(root: string): string[] {
  let rules: Rule[] = [];
  try {
    rules = parseGcloudignore(
      readFileSync(join(root, '.gcloudignore'), 'utf8'),
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), {withFileTypes: true})) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const isDir =
        entry.isDirectory() ||
        (entry.isSymbolicLink() && statSync(join(root, path)).isDirectory());
      if (ignored(rules, path, isDir)) continue;
      if (isDir) walk(path);
      else out.push(path);
    }
  };
  walk('');
  return out.sort();
}
