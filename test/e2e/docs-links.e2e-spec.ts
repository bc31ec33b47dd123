import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The README and docs/ link to each other, to headings and to files in the repository: every
 * relative link must point to a file that exists and, with a #fragment, to a heading in it; and
 * every repository path they quote must exist, so that a moved file cannot leave them behind.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PAGES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text outside fenced code blocks and inline code, where links and headings live. */
function prose(markdown: string): string {
  return markdown
    .replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
}

/** GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** `[text](target)` links whose target is a path in the repository, with the line they are on. */
function relativeLinks(markdown: string): Array<{ target: string; line: number }> {
  const links: Array<{ target: string; line: number }> = [];
  prose(markdown)
    .split('\n')
    .forEach((text, index) => {
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!/^[a-z][a-z0-9+.-]*:/i.test(target!)) links.push({ target: target!, line: index + 1 });
      }
    });
  return links;
}

describe('links in README.md and docs/*.md', () => {
  it.each(PAGES)('%s: every relative link points to an existing file and heading', (page) => {
    const markdown = readFileSync(join(REPO_ROOT, page), 'utf8');
    const broken: string[] = [];
    for (const { target, line } of relativeLinks(markdown)) {
      const [path = '', fragment] = target.split('#');
      const file = path === '' ? join(REPO_ROOT, page) : join(REPO_ROOT, dirname(page), decodeURI(path));
      if (!existsSync(file)) {
        broken.push(`${page}:${line}: ${target} (no file ${relative(REPO_ROOT, file)})`);
      } else if (
        fragment !== undefined &&
        file.endsWith('.md') &&
        !anchorsOf(readFileSync(file, 'utf8')).has(fragment)
      ) {
        broken.push(`${page}:${line}: ${target} (no heading #${fragment} in ${relative(REPO_ROOT, file)})`);
      }
    }

    expect(broken).toEqual([]);
  });

  it.each(PAGES)('%s: every repository path it quotes (`src/…`, `test/…`, …) exists', (page) => {
    const markdown = readFileSync(join(REPO_ROOT, page), 'utf8');
    const quoted = [...markdown.matchAll(/`((?:src|test|examples|config|docs|bench|scripts|\.ci)\/[\w./-]*)`/g)];

    expect(quoted.map(([, path]) => path!).filter((path) => !existsSync(join(REPO_ROOT, path)))).toEqual([]);
  });

  it('finds the links and headings it checks', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

    expect(relativeLinks(readme).map((link) => link.target)).toContain('docs/CONFIGURATION.md');
    expect([...anchorsOf(readme)]).toEqual(expect.arrayContaining(['first-steps', 'post-v1imagesgenerations']));
    expect(relativeLinks('[a](https://example.com) [b](#x) `[c](nowhere.md)`').map((link) => link.target)).toEqual([
      '#x',
    ]);
  });
});
