#!/usr/bin/env node
// A third-party MLLP client for the interoperability tests: simple-hl7's TCP client.
// Usage: node mllp-client.js HOST PORT FILE…
// Sends every message of every file (LF or CRLF segment ends become CR, batch envelopes are left
// out), one at a time on one kept-alive connection, and prints each ACK's MSA segment on stdout.
// Exit 0 when every ACK is AA or CA, 1 when one is not, 2 on usage/IO errors, 3 on timeout.
'use strict';
const fs = require('fs');
const hl7 = require('simple-hl7');

const TIMEOUT_MS = Number(process.env.MLLP_CLIENT_TIMEOUT_MS || 30000);

function fail(code, text) {
  process.stderr.write(`mllp-client: ${text}\n`);
  process.exit(code);
}

const [host, portText, ...files] = process.argv.slice(2);
const port = Number(portText);
if (!host || !Number.isInteger(port) || port < 1 || port > 65535 || files.length === 0)
  fail(2, 'usage: node mllp-client.js HOST PORT FILE…');

// Messages: segments end with CR on the wire; a new MSH starts a new message; FHS/BHS/BTS/FTS dropped.
const messages = [];
for (const file of files) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { fail(2, `${file}: ${e.message}`); }
  let current = null;
  for (const segment of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    if (segment.trim() === '') continue;
    const id = segment.slice(0, 3);
    if (id === 'MSH') { current = []; messages.push({ file, segments: current }); }
    if (id === 'FHS' || id === 'BHS' || id === 'BTS' || id === 'FTS') continue;
    if (current) current.push(segment);
  }
}
if (messages.length === 0) fail(2, 'no HL7 v2 message in the files');

const watchdog = setTimeout(() => fail(3, `timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);
const client = hl7.Server.createTcpClient({ host, port, keepalive: true });
let notAccepted = 0;

function sendNext(i) {
  if (i === messages.length) {
    client.close();
    clearTimeout(watchdog);
    process.exitCode = notAccepted === 0 ? 0 : 1;
    return;
  }
  const raw = messages[i].segments.join('\r');
  client.send(raw, (err, ack) => {
    if (err) fail(1, `${messages[i].file}: ${err.message}`);
    const msa = ack.getSegment('MSA');
    if (!msa) {
      notAccepted++;
      process.stdout.write(`no MSA segment in the answer: ${ack.toString()}\n`);
    } else {
      const code = msa.getField(1).toString();
      if (code !== 'AA' && code !== 'CA') notAccepted++;
      process.stdout.write(msa.toString(ack.header.delimiters) + '\n');
    }
    // simple-hl7 clears its "awaiting response" flag only after this callback returns.
    setImmediate(() => sendNext(i + 1));
  });
}

sendNext(0);
