import assert from 'node:assert/strict';
import { refusedPort, callsOf } from './helpers/listeners';
import { everyMode, failed } from './helpers/modes';

// Bound to port P and connecting to the same address:P with nobody
// listening, TCP's simultaneous open lets the socket connect to itself. The
// kernel says success; getsockname == getpeername says otherwise.
describe('self-connect is a failure: ESELFCONNECT', () => {
  for (const host of ['127.0.0.1', '::1']) {
    for (const { label, attempt } of everyMode()) {
      it(`${host}, ${label}`, async () => {
        const port = await refusedPort(host);
        const error = failed(await attempt({ host, port }, { localAddress: host, localPort: port }));
        assert.equal(error.code, 'ESELFCONNECT');
        assert.equal(error.errno, undefined);
        assert.match(error.message, new RegExp(`^connect ESELFCONNECT ${host.replace(/\./g, '\\.')}:${port}`));
        const calls = callsOf(error.steps);
        assert.ok(calls.includes('bind'));
        // The kernel's word stays in the trace: SO_ERROR 0 (or connect 0).
        const soError = error.steps.find((s) => s.arg === 'SO_ERROR');
        if (soError) assert.equal(soError.value, 0);
        else assert.equal(error.steps.find((s) => s.call === 'connect')!.ret, 0);
        assert.deepEqual(calls.slice(-3), ['getsockname', 'getpeername', 'close']);
      });
    }
  }
});
