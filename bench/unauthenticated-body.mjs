// A 45 MB JSON body of nested objects sent without a key (issue 11): time to the 401, and the
// latency of /health/live meanwhile; one at a time, then six at once, three rounds each.
// Against a running Easel: `node bench/unauthenticated-body.mjs <port>` (see docs/BENCHMARKS.md).
import http from 'node:http';
const port = Number(process.argv[2]);
const levels = Math.floor((45 * 1024 * 1024) / 7);
const body = Buffer.from('{"a":'.repeat(levels) + '{}' + '}'.repeat(levels));
function post() {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/images/generations',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const ms = performance.now() - started;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms }));
      },
    );
    req.on('error', () => {});
    req.end(body);
  });
}
function live() {
  return new Promise((resolve) => {
    const started = performance.now();
    http.get({ host: '127.0.0.1', port, path: '/health/live' }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
  });
}
for (const parallel of [1, 6]) {
  for (let round = 0; round < 3; round++) {
    const lives = [];
    let done = false;
    const poller = (async () => {
      while (!done) {
        lives.push(await live());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const results = await Promise.all(Array.from({ length: parallel }, post));
    done = true;
    await poller;
    console.log(
      `${parallel} at once: ${results.map((r) => `${r.status} in ${r.ms.toFixed(1)} ms`).join(', ')}; /health/live max ${Math.max(...lives).toFixed(1)} ms over ${lives.length} probes`,
    );
  }
}
