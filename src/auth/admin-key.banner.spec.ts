import { jest } from '@jest/globals';
import { AdminKeyBanner, adminKeyBlock } from './admin-key.banner.js';

describe(AdminKeyBanner.name, () => {
  it('writes the block to stderr as it is, not through the JSON logger', () => {
    const sut = new AdminKeyBanner();
    const written: string[] = [];
    const stderr = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    try {
      sut.print('the block\n');
    } finally {
      stderr.mockRestore();
    }

    expect(written).toEqual(['the block\n']);
  });
});

describe(adminKeyBlock.name, () => {
  const key = 'sk-easel-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ABCDEFG';

  it('puts the key on a line of its own and a one-line curl that uses it against the public URL', () => {
    const lines = adminKeyBlock(key, 'https://easel.example.com', 'default').split('\n');

    expect(lines).toContain(key);
    expect(lines).toContain(
      `curl -s https://easel.example.com/admin/keys -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" -d '{"name":"my-app","team":"default"}'`,
    );
    expect(lines).toContain('or: npm run keys -- create --name my-app --team default');
  });
});
