import { describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { classifySystemCode } from '../../src/plesk/codes.js';
import { authHeaders, backoffDelay, classifyHttpStatus, classifyTransportError, resolveEndpoint } from '../../src/plesk/transport.js';

describe('resolveEndpoint', () => {
  it.each([
    ['plesk.example.com', 'https://plesk.example.com:8443/enterprise/control/agent.php'],
    ['https://plesk.example.com', 'https://plesk.example.com:8443/enterprise/control/agent.php'],
    ['https://plesk.example.com/', 'https://plesk.example.com:8443/enterprise/control/agent.php'],
    ['https://plesk.example.com:443', 'https://plesk.example.com/enterprise/control/agent.php'],
    ['https://plesk.example.com:9443/enterprise/control/agent.php', 'https://plesk.example.com:9443/enterprise/control/agent.php'],
    ['http://127.0.0.1:8880', 'http://127.0.0.1:8880/enterprise/control/agent.php'],
    ['http://plesk.example.com', 'http://plesk.example.com:8443/enterprise/control/agent.php'],
    ['https://proxy.example.com:8443/plesk/', 'https://proxy.example.com:8443/plesk/enterprise/control/agent.php'],
    ['https://[::1]', 'https://[::1]:8443/enterprise/control/agent.php'],
  ])('%s → %s', (raw, label) => {
    expect(resolveEndpoint(raw).label).toBe(label);
  });

  it('refuses credentials in the URL without repeating them', () => {
    let err: unknown;
    try {
      resolveEndpoint('https://admin:hunter22@plesk.example.com');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TiError);
    expect((err as TiError).code).toBe('TI_CONFIG');
    expect(String((err as Error).message)).not.toContain('hunter22');
  });

  it('refuses other schemes', () => {
    expect(() => resolveEndpoint('ftp://plesk.example.com')).toThrow(TiError);
  });
});

describe('authHeaders', () => {
  it('login/password or key, with text/xml', () => {
    expect(authHeaders({ login: 'admin', password: 'pw' })).toEqual({ 'content-type': 'text/xml; charset=UTF-8', HTTP_AUTH_LOGIN: 'admin', HTTP_AUTH_PASSWD: 'pw' });
    expect(authHeaders({ secretKey: 'k-1' })).toEqual({ 'content-type': 'text/xml; charset=UTF-8', KEY: 'k-1' });
  });
  it('sends non-ASCII secrets as their UTF-8 bytes', () => {
    expect(Buffer.from(authHeaders({ login: 'a', password: 'pä€' }).HTTP_AUTH_PASSWD!, 'latin1').toString('utf8')).toBe('pä€');
  });
});

const err = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('classifyTransportError', () => {
  it.each([
    ['ECONNREFUSED', true, false],
    ['ENOTFOUND', true, false],
    ['UND_ERR_CONNECT_TIMEOUT', true, false],
    ['ECONNRESET', true, true],
    ['EPIPE', true, true],
    ['UND_ERR_SOCKET', true, true],
    ['UND_ERR_HEADERS_TIMEOUT', true, true],
    ['UND_ERR_BODY_TIMEOUT', true, true],
    ['HPE_INVALID_CONSTANT', true, true],
    ['UND_ERR_CLOSED', false, false],
  ])('%s → retryable %s, maybe delivered %s', (code, retryable, delivered) => {
    const f = classifyTransportError(err(code), 'https://h:8443/enterprise/control/agent.php');
    expect([f.retryable, f.delivered, f.fatal]).toEqual([retryable, delivered, undefined]);
    expect(f.message).toContain(code);
  });

  it('finds the code on the cause', () => {
    const wrapped = Object.assign(new Error('fetch failed'), { cause: err('ECONNREFUSED') });
    expect(classifyTransportError(wrapped, 'x').delivered).toBe(false);
  });

  it.each(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'ERR_SSL_WRONG_VERSION_NUMBER'])(
    'TLS failure %s stops the run with TI_TLS',
    (code) => {
      const f = classifyTransportError(err(code), 'https://h:8443/x');
      expect(f.retryable).toBe(false);
      expect(f.fatal?.code).toBe('TI_TLS');
    },
  );
});

describe('classifyHttpStatus', () => {
  it.each([
    [500, true, true, false],
    [502, true, true, false],
    [503, true, true, false],
    [504, true, true, false],
    [429, true, false, false],
    [408, true, false, false],
    [404, false, false, true],
    [301, false, false, true],
    [401, false, false, true],
  ])('HTTP %i → retryable %s, maybe delivered %s, fatal %s', (status, retryable, delivered, fatal) => {
    const f = classifyHttpStatus(status, 'x');
    expect([f.retryable, f.delivered, f.fatal !== undefined]).toEqual([retryable, delivered, fatal]);
  });
});

describe('classifySystemCode', () => {
  it('auth, malformed packet, transient, other', () => {
    expect([1001, 1010, 1011, 1012, 1029, 11003].map(classifySystemCode)).toEqual(Array(6).fill('auth'));
    expect([1005, 1014, 1017].map(classifySystemCode)).toEqual(Array(3).fill('packet'));
    expect([1003, 1023].map(classifySystemCode)).toEqual(['transient', 'transient']);
    expect([1006, 1013, 1019, undefined].map(classifySystemCode)).toEqual(Array(4).fill('other'));
  });
});

describe('backoffDelay', () => {
  const retry = { minDelayMs: 100, maxDelayMs: 1000 };
  it('doubles from minDelayMs, half of it jittered, capped at maxDelayMs', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, retry, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, retry, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(2, retry, () => 0.5)).toBe(150);
  });
  it('honours Retry-After up to the cap', () => {
    expect(backoffDelay(1, retry, () => 0, 700)).toBe(700);
    expect(backoffDelay(1, retry, () => 0, 60_000)).toBe(1000);
  });
});
