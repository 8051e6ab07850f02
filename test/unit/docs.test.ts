/**
 * The documentation stays navigable: every relative link of README.md and docs/*.md reaches a file
 * of the repository, every #anchor a heading of its page, and the index links every page.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = resolve(ROOT, 'docs');
const PAGES = [resolve(ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => resolve(DOCS, f))];

/** The text outside fenced code blocks, where a `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped (except - and _), spaces to -. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    anchors.add(heading!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-'));
  }
  return anchors;
}

function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/i.test(target));
}

describe('documentation links', () => {
  it('finds the pages and their links (guards the checks below against vacuity)', () => {
    assert.ok(PAGES.length >= 10, `only ${PAGES.length} pages found`);
    assert.ok(linksOf(readFileSync(PAGES[0]!, 'utf8')).length >= 10, 'README.md links fewer than 10 pages');
  });

  for (const page of PAGES) {
    const name = relative(ROOT, page);
    it(`${name}: every relative link reaches a file, every anchor a heading`, () => {
      const problems: string[] = [];
      for (const target of linksOf(readFileSync(page, 'utf8'))) {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const file = path ? resolve(dirname(page), decodeURI(path)) : page;
        if (!existsSync(file)) problems.push(`${target}: no file ${relative(ROOT, file)}`);
        else if (anchor && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) problems.push(`${target}: no heading with the anchor #${anchor} in ${relative(ROOT, file)}`);
      }
      assert.deepEqual(problems, []);
    });
  }

  it('docs/README.md (the index) and README.md link every page of docs/', () => {
    for (const index of ['docs/README.md', 'README.md']) {
      const base = dirname(resolve(ROOT, index));
      const linked = new Set(linksOf(readFileSync(resolve(ROOT, index), 'utf8')).map((t) => resolve(base, t.split('#')[0]!)));
      const unlinked = PAGES.filter((p) => p.startsWith(DOCS + '/') && !p.endsWith('/docs/README.md') && !linked.has(p)).map((p) => relative(ROOT, p));
      assert.deepEqual(unlinked, [], `${index} does not link these pages`);
    }
  });
});

describe('anchorsOf', () => {
  it('derives the anchors GitHub gives headings', () => {
    const anchors = anchorsOf("# Title\n\n## The add-on's log\n\n```\n# not a heading\n```\n\n### Graph alerts input (`defender_xdr_alerts`)\n## Limits and guarantees: how collection stays complete\n");
    assert.deepEqual([...anchors], ['title', 'the-add-ons-log', 'graph-alerts-input-defender_xdr_alerts', 'limits-and-guarantees-how-collection-stays-complete']);
  });
});
