/**
 * The README and docs/*.md link only to what exists: every relative link and image names a file of this
 * repository, and an `#anchor` names a heading of its target (GitHub's anchor rules). Every absolute link
 * is https to a public site: never localhost, a private address or a file outside the repository. Local
 * addresses (127.0.0.1, localhost) may appear in code blocks, as commands to run, never as links.
 */
import fs from 'node:fs';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { ROOT, anchors, documentationFiles, prose, readDoc } from './markdown';

interface Link {
  file: string;
  line: number;
  target: string;
}

/** Every link target in a Markdown text's prose: inline links and images, reference definitions, autolinks, bare URLs. */
function linksOf(file: string, text: string): Link[] {
  const links: Link[] = [];
  prose(text)
    .split('\n')
    .forEach((line, index) => {
      const add = (target: string) => links.push({ file, line: index + 1, target: target.trim() });
      for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) add(match[1]!);
      const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/.exec(line);
      if (definition) add(definition[1]!);
      for (const match of line.matchAll(/<((?:https?|ftp|file):[^>\s]+)>/g)) add(match[1]!);
      // Bare URLs (GitHub links them too), outside the links found above.
      const rest = line.replace(/!?\[[^\]]*\]\([^)]*\)/g, '').replace(/<[^>\s]+>/g, '');
      for (const match of rest.matchAll(/\b(?:https?|ftp|file):\/\/[^\s)>\]|]+/g)) add(match[0]);
    });
  return links;
}

/** A name or address only this machine or its network knows: loopback, private, link-local, .local. */
function isLocalHost(hostname: string): boolean {
  if (/^(localhost|.*\.localhost|.*\.local|.*\.internal)$/i.test(hostname)) return true;
  const address = hostname.replace(/^\[|\]$/g, '');
  return ipaddr.isValid(address) && ipaddr.process(address).range() !== 'unicast';
}

/** Why an absolute link is not allowed, or undefined when it is. */
function absoluteLinkProblem(target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'https:') return `${url.protocol} link: only https links to public sites`;
  if (isLocalHost(url.hostname) || !url.hostname.includes('.')) return `${url.hostname} is not a public site`;
  return undefined;
}

/** Why a relative link from `file` does not resolve, or undefined when it does. */
function relativeLinkProblem(file: string, target: string): string | undefined {
  const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined];
  const linkPath = decodeURIComponent(rawPath);
  if (/^[a-z][a-z0-9+.-]*:/i.test(linkPath)) return `a ${linkPath.split(':')[0]}: link`;
  if (linkPath.startsWith('/')) return 'an absolute path: link relative to the page';
  const resolved = path.resolve(ROOT, path.dirname(file), linkPath);
  const inside = path.relative(ROOT, resolved);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return 'points outside the repository';
  if (/(^|\/)\.\.\/shared/.test(linkPath)) return 'points at ../shared';
  if (!fs.existsSync(resolved)) return `${inside || '.'} does not exist`;
  if (anchor !== undefined) {
    const targetFile = linkPath === '' ? path.join(ROOT, file) : resolved;
    if (!targetFile.endsWith('.md')) return `an anchor into ${path.relative(ROOT, targetFile)}, which has no headings`;
    if (!anchors(fs.readFileSync(targetFile, 'utf8')).has(decodeURIComponent(anchor))) {
      return `no heading in ${path.relative(ROOT, targetFile)} has the anchor #${anchor}`;
    }
  }
  return undefined;
}

function linkProblem(link: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return absoluteLinkProblem(link.target);
  return relativeLinkProblem(link.file, link.target);
}

describe('documentation links', () => {
  const files = documentationFiles();
  const links = files.flatMap((file) => linksOf(file, readDoc(file)));

  test('the README and the docs pages are found, and link to each other', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/http-api.md', 'docs/configuration.md', 'docs/architecture.md', 'docs/benchmarks.md']));
    const linkedFromReadme = new Set(links.filter((link) => link.file === 'README.md').map((link) => link.target.split('#')[0]));
    for (const file of files.filter((name) => name.startsWith('docs/'))) expect(linkedFromReadme).toContain(file);
  });

  test('every link resolves: relative links to files and headings here, absolute links to public https sites', () => {
    const problems = links.flatMap((link) => {
      const problem = linkProblem(link);
      return problem ? [`${link.file}:${link.line}: ${link.target}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  test('local addresses appear only inside code blocks', () => {
    const problems = files.flatMap((file) =>
      prose(readDoc(file))
        .split('\n')
        .flatMap((line, index) => (/(\w+:\/\/)?(localhost|127\.0\.0\.1)(:\d+)?\//.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [])),
    );
    expect(problems).toEqual([]);
  });

  test('the link checks catch what they should', () => {
    expect(relativeLinkProblem('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/);
    expect(relativeLinkProblem('README.md', 'docs/http-api.md#no-such-heading')).toMatch(/no heading/);
    expect(relativeLinkProblem('docs/sdk.md', '../../shared/notes.md')).toMatch(/outside the repository/);
    expect(relativeLinkProblem('docs/sdk.md', 'http-api.md#fetch')).toBeUndefined();
    expect(absoluteLinkProblem('http://docs.bullmq.io')).toMatch(/only https/);
    expect(absoluteLinkProblem('https://localhost:3000/docs')).toMatch(/not a public site/);
    expect(absoluteLinkProblem('https://192.168.1.4/')).toMatch(/not a public site/);
    expect(absoluteLinkProblem('file:///etc/passwd')).toMatch(/only https/);
    expect(absoluteLinkProblem('https://docs.bullmq.io')).toBeUndefined();
    expect(linksOf('x.md', 'see [a](b.md#c), ![i](d.png) and <https://e.org/f>\n```sh\ncurl http://localhost:3000/\n```\n').map((link) => link.target)).toEqual(
      ['b.md#c', 'd.png', 'https://e.org/f'],
    );
  });
});
