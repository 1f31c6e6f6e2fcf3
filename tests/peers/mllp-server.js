#!/usr/bin/env node
// A third-party MLLP server for the interoperability tests: simple-hl7's TCP server.
// Usage: node mllp-server.js [PORT]     (default 0: a free port)
// Listens on 127.0.0.1 only, prints "LISTENING <port>", answers every message with simple-hl7's
// own ACK (MSA|AA|<MSH-10>) and prints "RECEIVED <MSH-10> <segment count>" for each.
// Exits when stdin closes (the test stops it so) or after MLLP_SERVER_MAX_SECONDS (default 120).
'use strict';
const net = require('net');
const hl7 = require('simple-hl7');

const port = Number(process.argv[2] || 0);
const maxSeconds = Number(process.env.MLLP_SERVER_MAX_SECONDS || 120);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node mllp-server.js [PORT]\n');
  process.exit(2);
}

// Two shims around simple-hl7's TcpServer, nothing else changed:
// - its start() listens on every interface: hand it a server bound to loopback;
// - it takes everything read up to a chunk ending in FS CR for one message, so two frames that
//   arrive in one read (a sender that does not wait, e.g. MSH-15 NE) become one: hand it one
//   frame per 'data' event.
const createServer = net.createServer;
let listening = null;
net.createServer = function (onConnection) {
  const server = createServer.call(net, (socket) => {
    const on = socket.on.bind(socket);
    socket.on = (event, fn) => on(event, event !== 'data' ? fn : (data) => {
      for (const piece of String(data).split(/(?<=\x1c\r)/)) if (piece.length > 0) fn(piece);
    });
    onConnection(socket);
  });
  const listen = server.listen.bind(server);
  server.listen = (p) => listen(p, '127.0.0.1');
  listening = server;
  return server;
};

const app = hl7.tcp();
app.use((req, res, next) => {
  const controlId = req.msg.header.getField(8).toString();
  process.stdout.write(`RECEIVED ${controlId} ${1 + req.msg.segments.length}\n`);
  next();
});
app.use((req, res) => res.end());
app.use((err, req, res, next) => {
  process.stderr.write(`mllp-server: ${err && err.message ? err.message : err}\n`);
  if (res) res.end();
});
app.start(port);
net.createServer = createServer;

listening.on('listening', () => process.stdout.write(`LISTENING ${listening.address().port}\n`));
listening.on('error', (e) => { process.stderr.write(`mllp-server: ${e.message}\n`); process.exit(1); });

function stop() {
  listening.close();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
setTimeout(() => { process.stderr.write(`mllp-server: stopping after ${maxSeconds} s\n`); stop(); }, maxSeconds * 1000).unref();
