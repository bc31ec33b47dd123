import { EventEmitter } from 'node:events';
import type { FastifyReply } from 'fastify';
import { RequestContext } from './request-context.js';

/** A reply whose raw response closes when the test says, finished or not. */
function replyClosing() {
  const raw = Object.assign(new EventEmitter(), { writableFinished: false });
  return {
    reply: { raw } as unknown as FastifyReply,
    clientLeaves: () => raw.emit('close'),
    responseSent: () => {
      raw.writableFinished = true;
      raw.emit('close');
    },
  };
}

describe(RequestContext.name, () => {
  it('aborts its signal when the client leaves before the response is sent', () => {
    const { reply, clientLeaves } = replyClosing();
    const sut = new RequestContext('req-1', reply);

    clientLeaves();

    expect(sut.signal.aborted).toBe(true);
    expect(sut.signal.reason).toMatchObject({ code: 'client_closed_request' });
  });

  it('does not abort once the response was sent', () => {
    const { reply, responseSent } = replyClosing();
    const sut = new RequestContext('req-2', reply);

    responseSent();

    expect(sut.signal.aborted).toBe(false);
  });

  it('is settled at once when its work does not outlive the client', async () => {
    const sut = new RequestContext('req-3', replyClosing().reply);

    expect(sut.outlivesClient).toBe(false);
    await expect(sut.settled()).resolves.toBeUndefined();
  });

  it('lets work that must outlive its client run on, and is settled when it ends, even when it fails', async () => {
    const { reply, clientLeaves } = replyClosing();
    const sut = new RequestContext('req-4', reply);
    let finish!: (error: Error) => void;
    const work = new Promise<never>((_, reject) => (finish = reject));
    work.catch(() => undefined);
    let settled = false;

    sut.outliveClient(work);
    void sut.settled().then(() => (settled = true));
    clientLeaves();
    await Promise.resolve();

    expect(sut.signal.aborted).toBe(false);
    expect(sut.outlivesClient).toBe(true);
    expect(settled).toBe(false);
    finish(new Error('upstream failed'));
    await expect(sut.settled()).resolves.toBeUndefined();
    expect(settled).toBe(true);
  });
});
