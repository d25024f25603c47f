'use strict';
// The nonblocking connect one syscall at a time, with nbconnect/raw. Each
// call returns what the kernel said; none throws for a kernel error.
const net = require('node:net');
const raw = require('nbconnect/raw');

const server = net
  .createServer((s) => s.destroy())
  .listen(0, '127.0.0.1', () => {
    const show = (call, r) => console.log(`${call.padEnd(28)} ret ${r.ret}${r.code ? ` ${r.code}` : ''}`);
    const fd = raw.socket(4);
    show('socket(AF_INET)', fd);
    const flags = raw.getFlags(fd.ret);
    show('fcntl(F_GETFL)', flags);
    show('fcntl(F_SETFL, O_NONBLOCK)', raw.setNonblocking(fd.ret, flags.ret));
    show('connect()', raw.connect(fd.ret, { host: '127.0.0.1', port: server.address().port }));
    const polled = raw.poll([{ fd: fd.ret, events: ['POLLOUT'] }], 1000);
    console.log(`${'poll(POLLOUT, 1000 ms)'.padEnd(28)} ret ${polled.ret} [${polled.revents[0].join('|')}]`);
    const soError = raw.getSoError(fd.ret);
    console.log(`${'getsockopt(SO_ERROR)'.padEnd(28)} ret ${soError.ret}, pending error ${soError.value}`);
    const peer = raw.getpeername(fd.ret);
    console.log(`${'getpeername()'.padEnd(28)} ret ${peer.ret}, ${peer.address}:${peer.port}`);
    show('close()', raw.close(fd.ret));
    server.close();
  });
