// A plain WebSocket relay, the reference peer for tests/bench/chat_fanout.py.
//
// Every text (or binary) message received from any client is sent to every connected
// client, one send per message per client: no batching, no coalescing, no compression.
// Usage: node relay.js PORT [HOST]   (PORT 0 picks a free one; HOST defaults to 127.0.0.1)
// Prints "listening PORT" on stdout when ready; exits on SIGTERM or SIGINT.
'use strict';

const { WebSocketServer, WebSocket } = require('ws');

const port = Number.parseInt(process.argv[2] ?? '0', 10);
const host = process.argv[3] ?? '127.0.0.1';

const wss = new WebSocketServer({ host, port, perMessageDeflate: false, clientTracking: true });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    }
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stdout.write(`listening ${wss.address().port}\n`);
});

wss.on('error', (err) => {
  process.stderr.write(`relay: ${err.message}\n`);
  process.exit(2);
});

function stop() {
  for (const client of wss.clients) client.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
