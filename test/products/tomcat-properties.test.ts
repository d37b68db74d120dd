/**
 * How the tomcat plugin follows `${name}` in server.xml: the Java .properties reader, the -D scan of
 * setenv.sh and Tomcat's reference rules (plugins/tomcat/lib/properties.js) on text, then the
 * introspection of a real private CATALINA_BASE (test/support/tomcat.mjs, not started) whose
 * ports come from catalina.properties and setenv.sh, with one reference set nowhere.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dehydrate, lifecycle, rehydrate } from '../../services/authoring/testkit.js';
import { freePort } from '../support/sshd.mjs';
import { answers, prepareTomcatBase, TOMCAT_HOME, type TomcatBase } from '../support/tomcat.mjs';
// @ts-expect-error: the plugin is plain JavaScript without declarations
import { parseProperties, resolveReferences, scanJavaOptions } from '../../plugins/tomcat/lib/properties.js';

const TOMCAT = resolve(import.meta.dirname, '../../plugins/tomcat');

interface Entry { key: string; value: string; valueStart: number; end: number }
const parse = parseProperties as (text: string) => Entry[];
const scan = scanJavaOptions as (text: string) => Entry[];
const resolveRefs = resolveReferences as (value: string, lookup: (n: string) => string | undefined) => { value: string; refs: { name: string; found: boolean; fallback?: string; whole: boolean }[] };

describe('Java .properties', () => {
  it('reads the three separators, comments, blanks, continuations and escapes as java.util.Properties does', () => {
    const text = [
      '# a comment',
      '   ! another one, indented',
      '',
      'a=1',
      'b : 2',
      'c 3',
      '  d\t=\t  4  ',
      'long = 80\\',
      '       80',
      'esc = x\\ty\\u0041\\:',
      'key\\ with\\=odd\\:chars = v',
      '# a comment ending in a backslash is not continued \\',
      'e=5',
      'empty=',
      'a=last wins',
    ].join('\r\n');
    const entries = parse(text);
    expect(entries.map((e) => [e.key, e.value])).toEqual([
      ['a', '1'], ['b', '2'], ['c', '3'], ['d', '4  '], ['long', '8080'], ['esc', 'x\tyA:'], ['key with=odd:chars', 'v'], ['e', '5'], ['empty', ''], ['a', 'last wins'],
    ]);
    // Each value's place in the text, which the template replaces (continuation lines included).
    const at = (key: string) => entries.filter((e) => e.key === key).map((e) => text.slice(e.valueStart, e.end));
    expect(at('c')).toEqual(['3']);
    expect(at('long')).toEqual(['80\\\r\n       80']);
    expect(at('empty')).toEqual(['']);
  });

  it('finds the literal -D options of a setenv.sh, the last of a name winning, skipping comments and shell values', () => {
    const text = '#!/bin/sh\n# JAVA_OPTS="-Dhttp.port=1"\nJAVA_OPTS="$JAVA_OPTS -Dhttp.port=8081 -Dfrom.env=$PORT"\nexport CATALINA_OPTS=-Dshutdown.port=8005\nCATALINA_OPTS="$CATALINA_OPTS -Dhttp.port=8082"\n';
    const found = scan(text);
    expect(found.map((e) => [e.key, e.value])).toEqual([['http.port', '8081'], ['shutdown.port', '8005'], ['http.port', '8082']]);
    expect(found.map((e) => text.slice(e.valueStart, e.end))).toEqual(['8081', '8005', '8082']);
  });

  it('resolves ${name} and ${name:-default}, whole or embedded, and leaves an unset one as written', () => {
    const props: Record<string, string> = { 'http.port': '8080', host: 'web' };
    const lookup = (n: string) => props[n];
    expect(resolveRefs('${http.port}', lookup)).toMatchObject({ value: '8080', refs: [{ name: 'http.port', found: true, whole: true }] });
    expect(resolveRefs('${nope:-9090}', lookup)).toMatchObject({ value: '9090', refs: [{ name: 'nope', found: false, fallback: '9090' }] });
    expect(resolveRefs('${host}-${http.port}', lookup).value).toBe('web-8080');
    expect(resolveRefs('${missing}', lookup)).toMatchObject({ value: '${missing}', refs: [{ name: 'missing', found: false, fallback: undefined }] });
    expect(resolveRefs('8080', lookup)).toEqual({ value: '8080', refs: [] });
  });
});

describe('introspecting ports given as ${name}', () => {
  let tmp: string;
  let ref: TomcatBase;
  let ports: number[];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'abctl-tomcatprops-'));
    await chmod(tmp, 0o755);
    ports = [await freePort(), await freePort(), await freePort()];
    ref = await prepareTomcatBase({ dir: tmp, httpPort: ports[0]!, extraHttpPort: ports[1]!, portProperty: 'http.port', webapp: false });
    // The second connector takes its port from setenv.sh, a third names a property set nowhere.
    const serverXml = join(ref.base, 'conf', 'server.xml');
    const text = (await readFile(serverXml, 'utf8')).replace(`port="${ports[1]}"`, 'port="${alt.port}"').replace('<Engine', `<Connector port="\${nowhere.port}" protocol="HTTP/1.1" />\n    <Engine`);
    await writeFile(serverXml, text);
    await mkdir(join(ref.base, 'bin'));
    await writeFile(join(ref.base, 'bin', 'setenv.sh'), `# written by the test\nCATALINA_OPTS="$CATALINA_OPTS -Dalt.port=${ports[1]}"\n`);
  }, 120_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('gives inputs to the connectors whose property is set, templates where each value lives, and warns about the missing one', async () => {
    const d = await dehydrate({ plugin: TOMCAT, capture: false, parameters: { 'catalina-base': ref.base, 'catalina-home': TOMCAT_HOME } });
    try {
      const a = d.appliance;
      expect(a.inputs.map((i) => [i.name, i.port, i.portProperty])).toEqual([
        ['http', ports[0], 'connector.http.port'],
        ['http-2', ports[1], 'connector.http-2.port'],
      ]);
      expect(a.properties.get('connector.http.port')!.description).toContain(`${ref.base}/conf/catalina.properties (http.port)`);
      expect(a.properties.get('connector.http-2.port')!.description).toContain(`${ref.base}/bin/setenv.sh (alt.port)`);
      expect(d.log.join('\n')).toMatch(/<Connector port="\$\{nowhere\.port\}">: nowhere\.port is set neither in .*conf\/catalina\.properties and .*bin\/setenv\.sh/);
      const text = (n: string) => Buffer.from(d.content.get(a.name)!.get(n)!).toString('utf8');
      expect(a.contentResources.map((r) => r.name).sort()).toEqual(['base-bin~setenv.sh', 'catalina.properties', 'server.xml']);
      // server.xml keeps the references; the values are variables where they are set.
      expect(text('server.xml')).toContain('<Connector port="${http.port}" address="{{xml [connector.http.address]}}"');
      expect(text('server.xml')).toContain('<Connector port="${alt.port}"');
      expect(text('server.xml')).toContain('<Connector port="${nowhere.port}"');
      expect(text('catalina.properties')).toContain('\nhttp.port = {{[connector.http.port]}}\n');
      expect(text('base-bin~setenv.sh')).toContain('-Dalt.port={{[connector.http-2.port]}}"');
      // The rest of catalina.properties is Debian's, byte for byte.
      expect(text('catalina.properties').replace('{{[connector.http.port]}}', String(ports[0]))).toBe(await readFile(join(ref.base, 'conf', 'catalina.properties'), 'utf8'));
    } finally {
      await d.dispose();
    }
  }, 60_000);

  it('rehydrates with the plan\'s ports into catalina.properties and setenv.sh, and the real Tomcat listens there', async () => {
    // Without the connector set nowhere: Tomcat would not start with a port it cannot read.
    const serverXml = join(ref.base, 'conf', 'server.xml');
    await writeFile(serverXml, (await readFile(serverXml, 'utf8')).replace(/ *<Connector port="\$\{nowhere\.port\}"[^>]*>\n/, ''));
    const d = await dehydrate({ plugin: TOMCAT, parameters: { 'catalina-base': ref.base, 'catalina-home': TOMCAT_HOME } });
    const root = join(tmp, 'root');
    await mkdir(root, { mode: 0o755 });
    const [port, port2] = [await freePort(), await freePort()];
    let bundleDir: string | undefined;
    try {
      const done = await rehydrate(d, { root, properties: { 'connector.http.port': String(port), 'connector.http-2.port': String(port2) } });
      bundleDir = done.bundleDir;
      const base = join(root, ref.base);
      expect(await readFile(join(base, 'conf', 'server.xml'), 'utf8')).toContain('<Connector port="${http.port}" address="127.0.0.1"');
      expect(await readFile(join(base, 'conf', 'catalina.properties'), 'utf8')).toContain(`\nhttp.port = ${port}\n`);
      expect(await readFile(join(base, 'bin', 'setenv.sh'), 'utf8')).toContain(`-Dalt.port=${port2}"`);
      await lifecycle(bundleDir, 'start');
      expect(await answers(`http://127.0.0.1:${port}/`)).toBe(true);
      expect(await answers(`http://127.0.0.1:${port2}/`)).toBe(true);
      expect(await answers(`http://127.0.0.1:${ports[0]}/`)).toBe(false);
      expect(await answers(`http://127.0.0.1:${ports[1]}/`)).toBe(false);
      expect((await lifecycle(bundleDir, 'ping')).health).toMatchObject({ healthy: true });
    } finally {
      if (bundleDir) await lifecycle(bundleDir, 'stop').catch(() => undefined);
      await d.dispose();
    }
  }, 180_000);
});
