/**
 * The PostgreSQL plugin's config handling on its own (plugins/postgresql/conf.js, scram.js):
 * the parser's quoting rules, the templates rendered by abctl's real template engine, the
 * pg_hba expansion and its error, and the errors of a --cluster that names no cluster. The round trip through a real server (and the SCRAM verifier,
 * with a password holding quotes and a non-ASCII letter) is in postgresql.test.ts.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../core/templates/templates.js';
import { dehydrate } from '../../services/authoring/testkit.js';
import { examplePlugins } from '../introspection/helpers.js';
// @ts-expect-error plain JavaScript module of the plugin, without type declarations
import { expandHba, hbaTemplate, managedHostLines, parseConf, parseSettingLine, postgresqlConfTemplate } from '../../plugins/postgresql/conf.js';

describe('postgresql.conf', () => {
  it('reads quoted values with doubled and escaped quotes, bare values, and drops trailing comments', () => {
    expect(parseSettingLine("log_line_prefix = '%m [%p] it''s \\'x\\' # not a comment'  # comment")).toEqual({ name: 'log_line_prefix', value: "%m [%p] it's 'x' # not a comment" });
    expect(parseSettingLine('Port 5433 # two')).toEqual({ name: 'port', value: '5433' });
    expect(parseSettingLine('#port = 5432')).toBeUndefined();
    expect(parseConf("port = 1\nport = 2\n").get('port')).toBe('2');
  });

  it('renders with the properties at the end and paths following the file sets', () => {
    const text = "data_directory = '/var/lib/pg/main'\nhba_file = '/etc/pg/main/pg_hba.conf'\nport = 5432\t# the port\ninclude_dir = 'conf.d'\nlog_line_prefix = '{{not a variable}}'\n";
    const template = postgresqlConfTemplate(text, { dataDir: '/var/lib/pg/main', configDir: '/etc/pg/main', ssl: true });
    const out = renderTemplate(
      { name: 'postgresql.conf', text: template },
      { port: 6000, listen_addresses: '*', max_connections: 20, ssl: false, 'data.directory': '/r/var/lib/pg/main', 'config.directory': '/r/etc/pg/main' },
    );
    expect(out).toBe(
      [
        "data_directory = '/r/var/lib/pg/main'",
        "hba_file = '/r/etc/pg/main/pg_hba.conf'",
        '#port = 5432\t# the port\t# abctl: set at the end of this file',
        "include_dir = 'conf.d'",
        "log_line_prefix = '{{not a variable}}'",
        '',
        "# Set by abctl at deployment from the appliance's properties; later than any include, so these win.",
        "listen_addresses = '*'",
        'port = 6000',
        'max_connections = 20',
        'ssl = off',
        '',
      ].join('\n'),
    );
  });
});

describe('pg_hba.conf', () => {
  const hba = 'local all all peer\nhost all all 127.0.0.1 255.255.255.0 md5\nhost all all ::1/128 md5\nhost replication all 10.0.0.0/8 md5\nhostssl app bob 10.1.0.0/16 md5\n';

  it('finds the address ranges for every database and user (netmasks as CIDR), and their method', () => {
    expect(managedHostLines(hba)).toEqual({ addresses: ['127.0.0.1/24', '::1/128'], method: 'md5' });
  });

  it('renders one line per client in place of those lines and keeps the others', () => {
    const out = expandHba(renderTemplate({ name: 'pg_hba.conf', text: hbaTemplate(hba) }, { 'hba.clients': '0.0.0.0/0, 10.2.0.0/16', 'hba.method': 'scram-sha-256' }), isIP);
    expect(out.split('\n').map((l: string) => l.split(/\s+/).join(' '))).toEqual([
      'local all all peer',
      'host all all 0.0.0.0/0 scram-sha-256',
      'host all all 10.2.0.0/16 scram-sha-256',
      'host replication all 10.0.0.0/8 md5',
      'hostssl app bob 10.1.0.0/16 md5',
      '',
    ]);
  });

  it('refuses a client that is not a CIDR, saying how to write one', () => {
    const rendered = renderTemplate({ name: 'pg_hba.conf', text: hbaTemplate(hba) }, { 'hba.clients': '10.0.0.1', 'hba.method': 'md5' });
    expect(() => expandHba(rendered, isIP)).toThrow(expect.objectContaining({ code: 'POSTGRESQL_HBA_CLIENT', message: 'hba.clients: "10.0.0.1" is not an address range in CIDR form' }));
  });
});

describe('the cluster parameter', () => {
  const plugin = join(examplePlugins, 'postgresql');
  const refusal = (cluster: string) =>
    dehydrate({ plugin, parameters: { cluster }, capture: false }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string; hint?: string },
    );

  it('says what it takes when it names no cluster', async () => {
    expect(await refusal('/nonexistent/pg')).toMatchObject({ code: 'POSTGRESQL_NO_CLUSTER', message: expect.stringContaining('/nonexistent/pg holds neither postgresql.conf nor PG_VERSION') });
    expect(await refusal('main')).toMatchObject({ code: 'POSTGRESQL_CLUSTER_PARAM', hint: expect.stringContaining('15/main') });
    expect(await refusal('99/none')).toMatchObject({ code: 'POSTGRESQL_NO_CLUSTER', message: 'no Debian cluster 99/none: /etc/postgresql/99/none/postgresql.conf does not exist' });
  });
});
