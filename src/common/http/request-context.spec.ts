import type { FastifyReply } from 'fastify';
import { RequestContext } from './request-context.js';

/** A reply whose connection closes when the test says (as `RequestLifecycle` tells the context), finished or not. */
function replyClosing() {
  const raw = { writableFinished: false };
  return {
    reply: { raw } as unknown as FastifyReply,
    clientLeaves: (context: RequestContext) => context.connectionClosed(),
    responseSent: (context: RequestContext) => {
      raw.writableFinished = true;
      context.connectionClosed();
    },
  };
}

describe(RequestContext.name, () => {
  it('aborts its signal when the client leaves before the response is sent', () => {
    const { reply, clientLeaves } = replyClosing();
    const sut = new RequestContext('req-1', reply);

    clientLeaves(sut);

    expect(sut.signal.aborted).toBe(true);
    expect(sut.signal.reason).toMatchObject({ code: 'client_closed_request' });
  });

  it('does not abort once the response was sent', () => {
    const { reply, responseSent } = replyClosing();
    const sut = new RequestContext('req-2', reply);

    responseSent(sut);

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
    clientLeaves(sut);
    await Promise.resolve();

    expect(sut.signal.aborted).toBe(false);
    expect(sut.outlivesClient).toBe(true);
    expect(settled).toBe(false);
    finish(new Error('upstream failed'));
    await expect(sut.settled()).resolves.toBeUndefined();
    expect(settled).toBe(true);
  });
});
