// `traffic-import COMMAND --help` prints the help and exits 0 without running the command (issue 14:
// `emulator --help` used to start a server on 8443).
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/cli.js';

describe('--help after a command', () => {
  it.each([['emulator', '--help'], ['emulator', '-h'], ['run', '--help'], ['emulator', '--port', '0', '--help']])('%s %s prints the help', async (...args) => {
    const r = await runCli(args, cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^traffic-import — put mail traffic measured outside Plesk into Plesk/);
    expect(r.stdout).toContain('traffic-import emulator [--fixture FILE]');
    // No server started: nothing but the help on stdout (the emulator prints its URL there).
    expect(r.stdout).not.toMatch(/^https?:\/\//m);
  });
});
