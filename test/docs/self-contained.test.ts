/**
 * The repository explains itself: code, tests, docs and benchmarks refer only to documents that
 * are in it. A comment or a page that says "see section 4 of a contract", "as a seed asks" or
 * "issue 13" sends a newcomer to a document they do not have; it must name a file here (usually
 * one of docs/, listed in docs/README.md) or say the thing itself. Every relative link of the
 * Markdown pages, and every `*.md` file or decision record a comment names, must exist.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** This file's source: it has to spell the words it looks for. */
const SELF = join('test', 'docs', 'self-contained.test.ts');

/** What is searched: everything a newcomer reads, as checked out. */
const SCANNED_DIRS = ['src', 'test', 'docs', 'bench', 'config', 'deploy', '.ci'];
const SCANNED_FILES = ['README.md', 'CHANGELOG.md', 'Dockerfile', 'package.json'];
/** Generated or recorded output, not prose: raw benchmark results and build output. */
const SKIPPED = new Set(['node_modules', 'dist', join('bench', 'results'), '.demo']);
const TEXT = /\.(ts|mts|js|mjs|cjs|json|jsonl|md|ya?ml|sh|lua|sql|txt|conf)$|^Dockerfile$|^[^.]+$/;

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (SKIPPED.has(entry.name) || SKIPPED.has(path)) continue;
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile() && TEXT.test(entry.name) && statSync(join(ROOT, path)).size < 2_000_000) out.push(path);
  }
}

function scannedFiles(): string[] {
  const out: string[] = [];
  for (const dir of SCANNED_DIRS) if (existsSync(join(ROOT, dir))) walk(dir, out);
  for (const file of SCANNED_FILES) if (existsSync(join(ROOT, file))) out.push(file);
  return out.filter((f) => f !== SELF);
}

interface Hit {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

function grep(files: readonly string[], pattern: RegExp): Hit[] {
  const hits: Hit[] = [];
  for (const file of files) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (pattern.test(text)) hits.push({ file, line: i + 1, text: text.trim().slice(0, 160) });
    });
  }
  return hits;
}

const show = (hits: readonly Hit[]): string => hits.map((h) => `${h.file}:${h.line}: ${h.text}`).join('\n');

/** References to documents that are not in the repository. */
const OUTSIDE_REFERENCES: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: 'the original contract ("SPEC", "SPEC §2.1")', pattern: /\bSPEC\b/ },
  {
    what: 'a requirement document ("seed 003", "seeds/")',
    pattern: /\bseeds? ?(?:\d|#|\/|0\d\d)|\bseeds?\b(?= (?:asks|says|requires|writes))/i,
  },
  {
    what: 'an issue or item of the tracker ("issue 13", "issue #4", "item 3 of the issue")',
    pattern: /\bissues? ?#?\d+|\bitems? \d+ of (?:the )?issue\b/i,
  },
  {
    what: 'a document outside the repository (TESTING.md, STYLE.md, BRIEF.md, /work/…)',
    pattern: /\b(?:TESTING|STYLE|BRIEF)\.md\b|\/work\/(?:shared|wt|main)\b/,
  },
];

for (const { what, pattern } of OUTSIDE_REFERENCES) {
  test(`nothing refers to ${what}`, () => {
    const hits = grep(scannedFiles(), pattern);
    assert.equal(hits.length, 0, `name a file of the repository instead (docs/README.md lists them), or say it here:\n${show(hits)}`);
  });
}

/**
 * A `name.md` or `dir/name.md` a source file mentions: relative to it, to the root, or to docs/;
 * or, for a path a test reads at run time, relative to its compiled copy under dist/.
 */
function resolvesMention(file: string, mention: string): boolean {
  const candidates = [join(dirname(file), mention), mention, join('docs', mention), join('dist', dirname(file), mention)];
  return candidates.some((c) => existsSync(join(ROOT, c)));
}

test('every Markdown file a comment or page names exists', () => {
  const missing: Hit[] = [];
  const mention = /(?<![\w/.-])((?:\.{1,2}\/|[\w-]+\/)*[\w.-]+\.md)(?![\w/])/g;
  for (const file of scannedFiles()) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      for (const m of text.matchAll(mention)) {
        const name = m[1] ?? '';
        if (/^(?:CHANGELOG|README|LICENSE)\.md$/.test(name) && existsSync(join(ROOT, name))) continue;
        if (!resolvesMention(file, name)) missing.push({ file, line: i + 1, text: name });
      }
    });
  }
  assert.equal(missing.length, 0, `not in the repository:\n${show(missing)}`);
});

test('every decision record a comment or page names by number exists', () => {
  const records = readdirSync(join(ROOT, 'docs', 'decisions')).filter((f) => /^\d{4}-.+\.md$/.test(f));
  const numbers = new Set(records.map((f) => f.slice(0, 4)));
  const missing: Hit[] = [];
  const named = /\bdecisions?\/(\d{4})(?![\d])|\bdecision (\d{4})\b|\bdecisions\/(\d{4})-[\w.-]+\.md/g;
  for (const file of scannedFiles()) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      for (const m of text.matchAll(named)) {
        const n = m[1] ?? m[2] ?? m[3] ?? '';
        if (!numbers.has(n)) missing.push({ file, line: i + 1, text: m[0] });
      }
      for (const m of text.matchAll(/\bdocs\/decisions\/(\d{4}-[\w.-]+\.md)/g)) {
        if (!records.includes(m[1] ?? '')) missing.push({ file, line: i + 1, text: m[0] });
      }
    });
  }
  assert.equal(missing.length, 0, `no such record in docs/decisions/:\n${show(missing)}`);
});

// ---- Links of the Markdown pages

/** The Markdown pages whose links are checked: docs/, the READMEs, the changelog. */
function markdownPages(): string[] {
  return scannedFiles().filter((f) => f.endsWith('.md'));
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to `-`. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page offers: its headings (duplicates numbered) and explicit `<a id>`s. */
function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(join(ROOT, page), 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const slug = githubSlug(heading);
      const n = seen.get(slug) ?? 0;
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
      seen.set(slug, n + 1);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] ?? '');
  }
  return anchors;
}

interface Link {
  readonly page: string;
  readonly line: number;
  readonly target: string;
}

/** Relative links `[text](target)` outside code (fenced blocks and inline code spans). */
function relativeLinks(page: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  readFileSync(join(ROOT, page), 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      if (/^\s*(```|~~~)/.test(raw)) {
        fenced = !fenced;
        return;
      }
      if (fenced) return;
      const line = raw.replace(/`[^`]*`/g, '``');
      for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1] ?? '';
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        links.push({ page, line: i + 1, target });
      }
    });
  return links;
}

test('the Markdown pages have links to check (the checks below are not vacuous)', () => {
  const pages = markdownPages();
  assert.ok(pages.includes(join('docs', 'README.md')), 'docs/README.md, the index, exists');
  assert.ok(pages.length >= 12, `${pages.length} pages`);
  assert.ok(pages.flatMap(relativeLinks).length >= 50);
});

test('every relative link in the Markdown pages points to a file or folder of the repository', () => {
  const broken: string[] = [];
  for (const link of markdownPages().flatMap(relativeLinks)) {
    const path = decodeURI(link.target.split('#')[0] ?? '');
    if (path === '') continue;
    const resolved = join(dirname(link.page), path);
    if (resolved.split(sep)[0] === '..' || !existsSync(join(ROOT, resolved))) broken.push(`${link.page}:${link.line}: ${link.target}`);
  }
  assert.equal(broken.length, 0, `broken links:\n${broken.join('\n')}`);
});

test('every anchor of a link to a Markdown page is a heading or an <a id> of that page', () => {
  const broken: string[] = [];
  const cache = new Map<string, Set<string>>();
  for (const link of markdownPages().flatMap(relativeLinks)) {
    const [path = '', anchor] = link.target.split('#');
    if (anchor === undefined || anchor === '') continue;
    const page = path === '' ? link.page : join(dirname(link.page), decodeURI(path));
    if (!page.endsWith('.md') || !existsSync(join(ROOT, page))) continue;
    const anchors = cache.get(page) ?? anchorsOf(page);
    cache.set(page, anchors);
    if (!anchors.has(decodeURIComponent(anchor)))
      broken.push(`${link.page}:${link.line}: ${link.target} (${relative(ROOT, join(ROOT, page))} has no such heading)`);
  }
  assert.equal(broken.length, 0, `broken anchors:\n${broken.join('\n')}`);
});

test('docs/README.md, the index, links every page of docs/', () => {
  const index = new Set(relativeLinks(join('docs', 'README.md')).map((l) => l.target.split('#')[0]));
  const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  assert.ok(pages.length >= 10, `${pages.length} pages`);
  assert.deepEqual(
    pages.filter((p) => !index.has(p)),
    [],
    'pages docs/README.md does not link',
  );
});

test('README.md sends a newcomer to docs/README.md', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /\]\(docs\/README\.md\)/);
});

test('the slug of a heading is the one GitHub makes', () => {
  assert.equal(githubSlug('Reloading: what a reload applies'), 'reloading-what-a-reload-applies');
  assert.equal(
    githubSlug('Key protection: encryption at rest (`oauth.keyEncryptionKey`)'),
    'key-protection-encryption-at-rest-oauthkeyencryptionkey',
  );
  assert.equal(githubSlug('Change feed: every process within 1 s'), 'change-feed-every-process-within-1-s');
  assert.equal(githubSlug('0010 — Partition safety'), '0010--partition-safety');
});
