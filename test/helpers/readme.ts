/** The fenced code blocks of the project's Markdown pages (README.md,
 *  docs/*.md), for tests that run or build them as written. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root } from './packed.js';

export interface CodeBlock {
  /** The page, relative to the repository root. */
  page: string;
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  text: string;
  /** The block's first line: a file name comment (`// worker.mjs`) names it. */
  title: string;
}

export function codeBlocks(page: string): CodeBlock[] {
  const lines = readFileSync(path.join(root, page), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i === lines.length) throw new Error(`${page}:${start + 1}: code block not closed`);
    blocks.push({ page, line: start + 1, lang: open[1]!, text: body.join('\n') + '\n', title: body[0] ?? '' });
  }
  return blocks;
}

/** The one block of `page` whose first line is `title`. */
export function block(page: string, title: string): CodeBlock {
  const found = codeBlocks(page).filter((b) => b.title === title);
  if (found.length !== 1) throw new Error(`${page}: ${found.length} code blocks start with ${JSON.stringify(title)}, expected 1`);
  return found[0]!;
}
