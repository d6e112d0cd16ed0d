/**
 * What the documentation tests read: the README and every page under docs/, their fenced code blocks
 * (with the info string and the line they start on), their prose with code taken out, and their
 * headings as GitHub turns them into anchors.
 */
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** README.md and docs/*.md, as paths relative to the repository. */
export function documentationFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

export function readDoc(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8');
}

export interface CodeBlock {
  file: string;
  /** 1-based line of the block's first line of code. */
  line: number;
  /** The info string after the opening fence, e.g. `ts` or `ts no-check`. */
  info: string;
  code: string;
}

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;

/** Whether `line` closes a block opened with `fence`: the same character, at least as many, nothing else. */
function closes(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return trimmed.length >= fence.length && trimmed === fence[0]!.repeat(trimmed.length);
}

/** Every fenced code block of a Markdown text. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !closes(lines[end]!, fence)) end++;
    blocks.push({ file, line: start + 1, info: open[2]!.trim(), code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The text with every fenced block's lines blanked (so line numbers hold). */
export function withoutFences(text: string): string {
  const lines = text.split('\n');
  let fence: string | undefined;
  const kept = lines.map((line) => {
    const open = FENCE.exec(line);
    if (fence === undefined && open) {
      fence = open[1]!;
      return '';
    }
    if (fence !== undefined) {
      if (closes(line, fence)) fence = undefined;
      return '';
    }
    return line;
  });
  return kept.join('\n');
}

/** The text outside code: fenced blocks become blank lines and inline code spans spaces of the same length. */
export function prose(text: string): string {
  return withoutFences(text).replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (span) => ' '.repeat(span.length));
}

/** GitHub's anchor for a heading's text: inline markup dropped, lower case, punctuation removed, spaces to dashes. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\p{Pc}\s-]/gu, '').replace(/\s/g, '-');
}

/** The anchors of a Markdown text's headings, repeated names numbered as GitHub numbers them. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of withoutFences(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = githubSlug(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}
