import { afterEach, describe, expect, it } from 'vitest';
import { captureStacks } from '../src/serve.js';

describe('stack traces while serving', () => {
  const saved = Error.stackTraceLimit;
  afterEach(() => {
    Error.stackTraceLimit = saved;
  });

  it('are captured only with error_log at debug level', () => {
    captureStacks('error');
    expect(new Error('x').stack).toBe('Error: x');
    captureStacks('debug');
    expect(new Error('x').stack).toMatch(/^Error: x\n\s+at /);
    captureStacks('info');
    expect(Error.stackTraceLimit).toBe(0);
  });
});
