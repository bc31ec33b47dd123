import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** How long a closing connection waits for the client to read the answer before it is destroyed. */
const LINGER_MS = 1_000;

/**
 * For an answer sent before the request's body was read (401, 413, 415, 429): the connection is
 * closed rather than kept, or Node would read the rest of the body, however large, to reuse it.
 * Closed gently (RFC 9112 §9.6): Node destroys a `Connection: close` socket as soon as the answer
 * is written, and a socket destroyed with unread data makes the kernel send a reset, which can
 * reach a client still sending its body before it has read the answer (it then sees EPIPE or
 * "socket hang up" instead of the 401). Here the socket is half-closed after the answer and stops
 * reading (the client's writes stall, nothing is read or parsed), and is destroyed LINGER_MS
 * later, by when the client has read the answer.
 */
export function closeWithoutReading(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('connection', 'close');
  const socket = request.raw.socket as Socket & { destroySoon?: () => void };
  if (typeof socket.destroySoon !== 'function') return;
  // What Node calls once a `Connection: close` answer is written.
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    // A lingering socket does not hold a stopping process.
    this.unref();
    // After Node's own resume of the unread request (next tick), which would read on.
    setImmediate(() => this.pause());
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref();
    this.once('close', () => clearTimeout(timer));
  };
}
