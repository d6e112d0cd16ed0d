/**
 * The built CLI (dist/src/cli/main.js, the package's `chunkmill` bin) run as a user runs it, against a
 * real chunkmill: output and exit codes. `npm run build` first.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { startProducerHarness } from '../utils/producer-harness';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'dist/src/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, input = '', command: string[] = [process.execPath, BIN]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const { CHUNKMILL_TOKEN: _token, ...inherited } = process.env;
    const child = spawn(command[0], [...command.slice(1), ...args], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('chunkmill CLI', () => {
  let chunkmill: ChunkmillHarness;
  let env: Record<string, string>;
  beforeAll(async () => {
    chunkmill = await startChunkmill('cli');
    env = { CHUNKMILL_URL: chunkmill.api.baseUrl };
  });
  afterAll(async () => chunkmill.close());

  it("submits the notebook's workload, watches it to the end, reads its results", async () => {
    const args = ['submit', 'sumSquares', ...new Array(20).fill('2000'), '--reduce', 'sum'];
    const submitted = await runCli(args, env);
    expect(submitted).toMatchObject({ code: 0, stderr: '' });
    const answer = JSON.parse(submitted.stdout);
    expect(answer).toMatchObject({ id: expect.any(String), status: 'queued', total: 20 });

    const watched = await runCli(['watch', answer.id, '--interval-ms', '0'], env);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split('\n');
    // Not a terminal: plain lines, the last progress line at 20/20, then the summary.
    expect(lines.at(-2)).toMatch(/^completed 20\/20 items \(0 failed\), [\d.]+ items\/s, ETA 0s$/);
    expect(lines.at(-1)).toMatch(/^completed: 20 completed, 0 failed of 20 in [\d.]+ s$/);

    // Watching it again, finished: one progress line, not the same one twice, then the summary.
    const again = await runCli(['watch', answer.id, '--interval-ms', '0'], env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^completed 20\/20 items \(0 failed\), [\d.]+ items\/s, ETA 0s$/),
      expect.stringMatching(/^completed: 20 completed, 0 failed of 20 in [\d.]+ s$/),
    ]);

    const results = await runCli(['results', answer.id], env);
    expect(results.code).toBe(0);
    expect(JSON.parse(results.stdout)).toEqual({
      id: answer.id,
      status: 'completed',
      total: 20,
      offset: 0,
      results: new Array(20).fill(2664667000),
      errors: [],
      reduced: 53293340000,
    });

    const ndjson = await runCli(['results', answer.id, '--format', 'ndjson'], env);
    const items = ndjson.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(items).toHaveLength(20);
    expect(items[19]).toEqual({ index: 19, value: 2664667000 });

    const status = await runCli(['status', answer.id], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: answer.id, status: 'completed', completed: 20 });
  });

  it('on a terminal, watch draws a progress bar (run under a pseudo-terminal from util-linux `script`)', async () => {
    const submitted = await runCli(['submit', 'sleep', ...new Array(6).fill('{"ms":150}'), '--chunk-size', '1', '-q'], env);
    const id = submitted.stdout.trim();
    const quoted = [process.execPath, BIN, 'watch', id].map((word) => `'${word}'`).join(' ');
    const watched = await runCli(['-qec', quoted, '/dev/null'], env, '', ['script']);
    expect(watched.code).toBe(0);
    // cli-progress redraws the line in place: the last frame shows all items done, then the summary.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal's escape sequences
    const screen = watched.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(screen).toMatch(/[█░]+ 100% \| 6\/6 items \| 0 failed \| [\d.]+ items\/s \| ETA 0s/);
    expect(screen).toMatch(/completed: 6 completed, 0 failed of 6 in [\d.]+ s/);
    expect(screen).not.toMatch(/^running \d+\/6 items/m);
  });

  it('reads inputs from stdin (NDJSON) and a file; --wait prints the results', async () => {
    const piped = await runCli(['submit', 'countPrimes', '--wait', '-q'], env, '10\n100\n');
    expect(piped.code).toBe(0);
    const [id, results] = piped.stdout.trim().split('\n');
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(results)).toMatchObject({ status: 'completed', results: [4, 25] });

    const fromFile = await runCli(['submit', 'mulArrays', '--file', '-', '--wait'], env, JSON.stringify([{ x: [1, 2], y: [3, 4] }]));
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout.trim().split('\n')[1]).results).toEqual([[3, 8]]);
  });

  it('exit codes: 1 failed, 2 usage and invalid, 3 not found, 5 unreachable, 6 not finished, 7 conflict', async () => {
    const failed = await runCli(['submit', 'throwsOn', '1', '-2', '--attempts', '1', '--watch', '-q'], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/failed: 1 completed, 1 failed of 2/);
    const id = failed.stdout.split('\n')[0];
    expect((await runCli(['results', id, '--format', 'ndjson'], env)).code).toBe(1);

    const invalid = await runCli(['submit', 'sumSquares', '"x"'], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/VALIDATION_FAILED/);
    expect((await runCli(['submit'], env)).code).toBe(2);
    expect((await runCli(['frobnicate'], env)).code).toBe(2);
    expect((await runCli(['submit', 'sumSquares', '1', '--chunk-size', 'zero'], env)).code).toBe(2);

    const missing = await runCli(['status', 'no-such-id'], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/NOT_FOUND/);

    expect((await runCli(['tasks'], { CHUNKMILL_URL: 'http://127.0.0.1:1' })).code).toBe(5);

    const slow = await runCli(['submit', 'sleep', '{"ms":20000}', '-q'], env);
    const slowId = slow.stdout.trim();
    expect((await runCli(['results', slowId, '--wait', '100'], env)).code).toBe(6);
    const cancelled = await runCli(['cancel', slowId], env);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout).status).toBe('cancelled');
    expect((await runCli(['watch', slowId], env)).code).toBe(1);
    expect((await runCli(['cancel', id], env)).code).toBe(7);
  });

  it('results of a workload bigger than one page: NDJSON streamed, the JSON document written page by page', async () => {
    const total = 150_000;
    const inputs = Array.from({ length: total }, (_, i) => (i === 120_000 ? -1 : i));
    const submitted = await runCli(['submit', 'throwsOn', '--file', '-', '--chunk-size', '5000', '--attempts', '1', '-q'], env, inputs.join('\n'));
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();

    const ndjson = await runCli(['results', id, '--wait', '120000', '--format', 'ndjson'], env);
    expect(ndjson.code).toBe(1);
    const lines = ndjson.stdout.trim().split('\n');
    expect(lines).toHaveLength(total);
    lines.forEach((line, index) => {
      const expected = index === 120_000 ? `{"index":${index},"value":null,"error":{"code":"TASK_ERROR",` : `{"index":${index},"value":${index}}`;
      if (!line.startsWith(expected)) throw new Error(`line ${index} is ${line}`);
    });

    const json = await runCli(['results', id], env);
    expect(json.code).toBe(1);
    expect(json.stdout.endsWith('}\n')).toBe(true);
    const document = JSON.parse(json.stdout);
    expect(Object.keys(document)).toEqual(['id', 'status', 'total', 'offset', 'results', 'errors', 'reduced']);
    expect(document).toMatchObject({ id, status: 'failed', total, offset: 0, reduced: null });
    expect(document.results).toEqual(inputs.map((input) => (input < 0 ? null : input)));
    expect(document.errors).toEqual([{ index: 120_000, code: 'TASK_ERROR', message: expect.stringContaining('negative input -1') }]);
  }, 180_000);

  it('tasks lists the tasks, workers the worker hosts; --help and --version exit 0; npx chunkmill runs the bin', async () => {
    const tasks = await runCli(['tasks'], env);
    expect(tasks.code).toBe(0);
    expect(tasks.stdout).toMatch(/^sumSquares\s+/m);
    expect(JSON.parse((await runCli(['tasks', '--json'], env)).stdout).tasks.length).toBeGreaterThanOrEqual(5);
    const workers = await runCli(['workers'], env);
    expect(workers.code).toBe(0);
    expect(workers.stdout).toMatch(/^\S+ {2}compute,fetch {2}2x1 threads {2}active compute \d+ fetch \d+ {2}seen \d+s ago$/m);
    expect(JSON.parse((await runCli(['workers', '--json'], env)).stdout).workers).toHaveLength(1);
    expect((await runCli(['--help'], env)).code).toBe(0);
    const version = await runCli(['--version'], env, '', ['npx', '--no-install', 'chunkmill']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });

  it('exit 4 for a missing or wrong token (CHUNKMILL_TOKEN)', async () => {
    const producer = await startProducerHarness('cli-auth', { API_TOKENS: 'sesame' });
    try {
      const url = producer.api.baseUrl;
      expect((await runCli(['tasks'], { CHUNKMILL_URL: url })).code).toBe(4);
      expect((await runCli(['tasks'], { CHUNKMILL_URL: url, CHUNKMILL_TOKEN: 'wrong' })).code).toBe(4);
      expect((await runCli(['tasks'], { CHUNKMILL_URL: url, CHUNKMILL_TOKEN: 'sesame' })).code).toBe(0);
    } finally {
      await producer.close();
    }
  });
});
