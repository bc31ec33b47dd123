import { Injectable } from '@nestjs/common';

/**
 * Where the one-time admin key goes: straight to the terminal (stderr), as plain text to copy,
 * never through the JSON logger. Injectable, so a test can capture the block.
 */
@Injectable()
export class AdminKeyBanner {
  print(block: string): void {
    process.stderr.write(block);
  }
}

/** The block printed when Easel creates the first admin key: the key, and a curl line that uses it. */
export function adminKeyBlock(key: string, baseUrl: string, team: string): string {
  const rule = '='.repeat(78);
  return [
    '',
    rule,
    'Easel created an admin key. It is shown only this once: store it now.',
    '',
    key,
    '',
    'Create an API key for an application (copy and run):',
    '',
    `curl -s ${baseUrl}/admin/keys -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" -d '{"name":"my-app","team":"${team}"}'`,
    '',
    `or: npm run keys -- create --name my-app --team ${team}`,
    rule,
    '',
    '',
  ].join('\n');
}
