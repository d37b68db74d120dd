// Runs the built abctl with the catalog commands registered, for as long as cli/command-table.ts
// does not list them yet (the CLI test uses bin/abctl itself once it does).
import { COMMANDS } from '../../dist/cli/command-table.js';
import { CATALOG_COMMANDS } from '../../dist/cli/catalog-commands.js';

for (const c of CATALOG_COMMANDS) if (!COMMANDS.some((x) => x.name === c.name)) COMMANDS.push(c);
const { main } = await import('../../dist/cli/main.js');
await main(process.argv.slice(2));
