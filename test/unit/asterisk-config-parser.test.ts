// The Asterisk config-file parser (src/asterisk/config-parser.ts): every grammar feature the
// converter relies on, each with the file and line it records, and each bad input named by file
// and line. The dialplan line reader is checked here too (priorities n, n(label), hint, same).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSyntaxError, lastValue, parseConfigFile, parseConfigText, type ParsedConfig } from '../../src/asterisk/config-parser.js';
import { splitApplication } from '../../src/asterisk/convert-dialplan.js';
import { ExtConfig, ResLdapMapping } from '../../src/asterisk/mapping.js';
import { useTempDir } from '../helpers/tmp.js';

const dir = useTempDir('astldap-astconf-');
const write = (name: string, text: string) => {
  const full = path.join(dir(), name);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
};
const cat = (cfg: ParsedConfig, name: string, n = 0) => cfg.categories.filter((c) => c.name === name)[n]!;
const vars = (cfg: ParsedConfig, name: string, n = 0) => cat(cfg, name, n).variables.map((v) => [v.name, v.value]);
const syntaxError = (fn: () => unknown): ConfigSyntaxError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigSyntaxError);
    return err as ConfigSyntaxError;
  }
  throw new Error('no syntax error');
};

describe('categories and variables', () => {
  it('reads [name], name = value and name => value with their lines', () => {
    const cfg = parseConfigText('[a]\nx = 1\n\ny=>2\n[b]\nz=\n', 'f.conf');
    expect(vars(cfg, 'a')).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
    expect(cat(cfg, 'a').variables[1]).toMatchObject({ object: true, origin: { file: 'f.conf', line: 4 } });
    expect(cat(cfg, 'b').origin).toEqual({ file: 'f.conf', line: 5 });
    expect(vars(cfg, 'b')).toEqual([['z', '']]);
  });

  it('keeps repeated keys in order', () => {
    const cfg = parseConfigText('[e]\nallow=ulaw\nallow=alaw\nmatch=1.2.3.4\nmatch=5.6.7.8\n', 'f.conf');
    expect(vars(cfg, 'e')).toEqual([
      ['allow', 'ulaw'],
      ['allow', 'alaw'],
      ['match', '1.2.3.4'],
      ['match', '5.6.7.8'],
    ]);
    expect(lastValue(cat(cfg, 'e'), 'allow')).toBe('alaw');
  });

  it('keeps two categories of one name apart (pjsip endpoint and aor)', () => {
    const cfg = parseConfigText('[100]\ntype=endpoint\n[100]\ntype=aor\n', 'f.conf');
    expect(cfg.categories.map((c) => lastValue(c, 'type'))).toEqual(['endpoint', 'aor']);
  });

  it('(!) makes a template, [name](tpl) copies its variables first, several templates in order', () => {
    const cfg = parseConfigText('[t1](!)\na=1\nb=1\n[t2](!)\nb=2\nc=2\n[obj](t1,t2)\nc=3\n', 'f.conf');
    expect(cat(cfg, 't1').template).toBe(true);
    const obj = cat(cfg, 'obj');
    expect(obj.template).toBe(false);
    expect(obj.inherits).toEqual(['t1', 't2']);
    expect(obj.variables.map((v) => [v.name, v.value, v.inheritedFrom])).toEqual([
      ['a', '1', 't1'],
      ['b', '1', 't1'],
      ['b', '2', 't2'],
      ['c', '2', 't2'],
      ['c', '3', undefined],
    ]);
    expect(obj.variables[0]!.origin.line).toBe(2);
    expect(lastValue(obj, 'c')).toBe('3');
  });

  it('(!,tpl): a template that inherits from another', () => {
    const cfg = parseConfigText('[base](!)\na=1\n[video](!,base)\nb=2\n[x](video)\n', 'f.conf');
    expect(cat(cfg, 'video').template).toBe(true);
    expect(vars(cfg, 'x')).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('+= appends to the last value of the name, inherited ones too, without touching the template', () => {
    const cfg = parseConfigText('[t](!)\nallow=h264\n[x](t)\nallow+=,vp8\nnew+=first\n', 'f.conf');
    expect(vars(cfg, 'x')).toEqual([
      ['allow', 'h264,vp8'],
      ['new', 'first'],
    ]);
    expect(vars(cfg, 't')).toEqual([['allow', 'h264']]);
    expect(cat(cfg, 'x').variables[0]!.origin.line).toBe(4);
  });

  it('(+) adds to the earlier category of that name', () => {
    const cfg = parseConfigText('[a]\nx=1\n[b]\n[a](+)\ny=2\n', 'f.conf');
    expect(cfg.categories).toHaveLength(2);
    expect(vars(cfg, 'a')).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
  });
});

describe('comments and escapes', () => {
  it('; ends the line, \\; is a semicolon, ;-- --; block comments span lines and nest', () => {
    const text = '[a] ; comment\nx = 1 ; comment\ny = a\\;b\n;-- block\nz=hidden ;-- inner --; still\n--; w = 2\n;------ ruler\nv=3\n';
    const cfg = parseConfigText(text, 'f.conf');
    expect(vars(cfg, 'a')).toEqual([
      ['x', '1'],
      ['y', 'a;b'],
      ['w', '2'],
      ['v', '3'],
    ]);
    expect(cat(cfg, 'a').variables[2]!.origin.line).toBe(6);
  });
});

describe('#include and #tryinclude', () => {
  it('includes relative to the directory, with globs in sorted order, continuing the category', () => {
    write('inc/top.conf', '[a]\nx=1\n#include "parts/*.conf"\n#tryinclude missing.conf\n[b]\n#include <one.conf>\n');
    write('inc/parts/2.conf', 'z=3\n');
    write('inc/parts/1.conf', 'y=2\n[c]\nq=1\n');
    write('inc/parts/skip.txt', 'bad line\n');
    write('inc/one.conf', 'w=4\n');
    const cfg = parseConfigFile(path.join(dir(), 'inc'), 'top.conf');
    expect(vars(cfg, 'a')).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
    expect(vars(cfg, 'c')).toEqual([
      ['q', '1'],
      ['z', '3'],
    ]);
    expect(cat(cfg, 'c').variables[1]!.origin).toEqual({ file: 'parts/2.conf', line: 1 });
    expect(vars(cfg, 'b')).toEqual([['w', '4']]);
    expect(cfg.files).toEqual(['top.conf', 'parts/1.conf', 'parts/2.conf', 'one.conf']);
  });

  it('a missing #include is an error at the include line; a missing #tryinclude is not', () => {
    write('miss/top.conf', '[a]\n#tryinclude nothing/*.conf\n#include nothing.conf\n');
    const err = syntaxError(() => parseConfigFile(path.join(dir(), 'miss'), 'top.conf'));
    expect([err.file, err.line]).toEqual(['top.conf', 3]);
    expect(err.message).toMatch(/^top\.conf:3: #include nothing\.conf: no such file/);
  });

  it('an include loop is an error', () => {
    write('loop/a.conf', '[x]\n#include b.conf\n');
    write('loop/b.conf', '#include a.conf\n');
    const err = syntaxError(() => parseConfigFile(path.join(dir(), 'loop'), 'a.conf'));
    expect(err.message).toMatch(/b\.conf:1: #include loop: a\.conf -> b\.conf -> a\.conf/);
  });

  it('#exec is kept as a directive, not run', () => {
    const cfg = parseConfigText('#exec /bin/echo hi\n[a]\n', 'f.conf');
    expect(cfg.directives).toEqual([{ name: 'exec', argument: '/bin/echo hi', origin: { file: 'f.conf', line: 1 } }]);
  });
});

describe('bad input names the file and line', () => {
  const cases: Array<[string, string, number, RegExp]> = [
    ['no equals sign', '[a]\nx=1\njust words\n', 3, /no "=" in "just words"/],
    ['a variable before any category', 'x=1\n[a]\n', 1, /outside any \[category\]/],
    ['an unclosed header', '[a\nx=1\n', 1, /bad category header/],
    ['junk after the header', '[a] junk\n', 1, /bad category header/],
    ['an empty category name', '[ ]\n', 1, /empty category name/],
    ['an unknown template', '[x](nosuch)\n', 1, /inherits from nosuch, which is not defined above/],
    ['(+) with nothing to add to', '[x](+)\n', 1, /no earlier category x/],
    ['an unknown directive', '[a]\n#frobnicate x\n', 2, /unknown directive #frobnicate/],
    ['#include without a name', '[a]\n#include\n', 2, /#include needs a file name/],
    ['an unclosed block comment (named where it opens)', '[a]\n;-- open\nx=1\n', 2, /block comment/],
    ['an empty name', '[a]\n = 1\n', 2, /no name before "="/],
  ];
  for (const [what, text, line, re] of cases) {
    it(what, () => {
      const err = syntaxError(() => parseConfigText(text, 'bad.conf'));
      expect(err.file).toBe('bad.conf');
      expect(err.line).toBe(line);
      expect(err.message).toMatch(re);
      expect(err.message.startsWith(`bad.conf:${line}: `)).toBe(true);
    });
  }
});

describe('dialplan lines', () => {
  it('splits App(data) and the old App,data', () => {
    expect(splitApplication('Dial(PJSIP/100,20)')).toEqual({ app: 'Dial', appdata: 'PJSIP/100,20' });
    expect(splitApplication('Hangup()')).toEqual({ app: 'Hangup', appdata: '' });
    expect(splitApplication('Answer')).toEqual({ app: 'Answer', appdata: '' });
    expect(splitApplication('Dial,SIP/1')).toEqual({ app: 'Dial', appdata: 'SIP/1' });
    expect(splitApplication('Set(X=${CUT(a,b,1)})')).toEqual({ app: 'Set', appdata: 'X=${CUT(a,b,1)}' });
  });
});

describe('res_ldap.conf and extconfig.conf', () => {
  it('maps columns case-insensitively, table first, then [_general]; the last line wins', () => {
    const m = ResLdapMapping.parse(
      '[_general]\nurl=ldap://x\nuser=cn=a\nfallback=GlobalAttr\n[t]\nadditionalFilter=(objectClass=Foo)(ou=x)\nFullContact=A\nfullcontact=B\n',
      'res.conf',
    );
    expect(m.attribute('t', 'FULLCONTACT')).toBe('B');
    expect(m.attribute('t', 'fallback')).toBe('GlobalAttr');
    expect(m.attribute('t', 'url')).toBeUndefined();
    expect(m.attribute('t', 'nothing')).toBeUndefined();
    expect(m.table('t').filterClasses).toEqual(['Foo']);
    expect(() => m.table('missing')).toThrow(/res\.conf has no \[missing\] section/);
  });

  it('reads the shipped files', () => {
    const m = ResLdapMapping.read();
    expect(m.attribute('ps_auths', 'md5_cred')).toBe('AstPjsipAuthMd5Cred');
    expect(m.table('ps_endpoints').filterClasses).toEqual(['AstldapPjsipEndpoint']);
    const e = ExtConfig.read();
    expect(e.binding('ps_endpoints')).toEqual({
      family: 'ps_endpoints',
      base: 'ou=endpoints,ou=pjsip,dc=example,dc=domain',
      table: 'ps_endpoints',
    });
    expect(e.binding('pjsip.conf').table).toBe('config');
    expect(e.has('iax.conf')).toBe(false);
  });

  it('extconfig: | for , in an unquoted base, the family as the default table', () => {
    const e = ExtConfig.parse('[settings]\nsippeers => ldap,ou=sip|dc=x\n', 'ext.conf');
    expect(e.binding('sippeers')).toEqual({ family: 'sippeers', base: 'ou=sip,dc=x', table: 'sippeers' });
  });
});
