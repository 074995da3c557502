// Schema: the live schema as this identity reads it from cn=Subschema: object classes (kind,
// superiors, MUST and MAY) and attribute types (syntax by name, one value or several, set by the
// server), narrowed by a search on their names; a name in a MUST or MAY list narrows to it.

import type { AttributeTypeInfo, ObjectClassInfo, SchemaAnswer } from '../../src/console/types.js';
import { get } from '../api.js';
import { dataTable, field, fill, h } from '../dom.js';

const region = (label: string) => h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: '0' });

export async function schemaPage(main: HTMLElement): Promise<void> {
  const error = h('p', { role: 'alert', class: 'error' });
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const search = h('input', { type: 'search', id: 'schema-search', placeholder: 'inetOrgPerson, AstAccount…', autocomplete: 'off' });
  const classes = region('Object classes table');
  const types = region('Attribute types table');
  let schema: SchemaAnswer = { dn: '', objectClasses: [], attributeTypes: [] };

  const look = (name: string) => () => {
    search.value = name;
    draw();
    search.focus();
  };
  const names = (list: string[]) =>
    list.length
      ? h(
          'ul',
          { class: 'names' },
          list.map((n) => h('li', {}, h('button', { type: 'button', class: 'link', 'aria-label': `Show ${n}`, onclick: look(n) }, n))),
        )
      : '—';

  const classRow = (c: ObjectClassInfo) =>
    h(
      'tr',
      { 'data-class': c.name },
      h('th', { scope: 'row' }, c.name, c.obsolete ? ' (obsolete)' : ''),
      h('td', {}, c.kind.toLowerCase()),
      h('td', {}, c.sup.join(', ') || '—'),
      h('td', { class: 'must' }, names(c.must)),
      h('td', { class: 'may' }, names(c.may)),
      h('td', { class: 'small' }, c.oid),
    );
  const typeRow = (a: AttributeTypeInfo) =>
    h(
      'tr',
      { 'data-type': a.name },
      h('th', { scope: 'row' }, a.name, a.obsolete ? ' (obsolete)' : ''),
      h('td', { class: 'syntax' }, a.syntax),
      h('td', {}, a.singleValue ? 'one' : 'several'),
      h('td', {}, a.readOnly ? 'the server' : a.usage === 'userApplications' ? 'clients' : `clients (${a.usage})`),
      h('td', {}, a.sup ?? '—'),
      h('td', {}, a.desc ?? ''),
    );

  const draw = () => {
    const q = search.value.trim().toLowerCase();
    // An exact name shows just that one; otherwise every name containing the text.
    const pick = <T extends { name: string; oid: string }>(xs: T[]) => {
      if (!q) return xs;
      const exact = xs.filter((x) => x.name.toLowerCase() === q || x.oid === q);
      return exact.length ? exact : xs.filter((x) => x.name.toLowerCase().includes(q));
    };
    const oc = pick(schema.objectClasses);
    const at = pick(schema.attributeTypes);
    status.textContent = `${oc.length} object class(es), ${at.length} attribute type(s)${q ? ` matching "${search.value.trim()}"` : ''}`;
    fill(
      classes,
      dataTable(
        'object-classes',
        `Object classes of ${schema.dn}`,
        ['Object class', 'Kind', 'Superior', 'MUST', 'MAY', 'OID'],
        oc.map(classRow),
      ),
    );
    fill(
      types,
      dataTable(
        'attribute-types',
        `Attribute types of ${schema.dn}`,
        ['Attribute type', 'Syntax', 'Values', 'Set by', 'Superior', 'Description'],
        at.map(typeRow),
      ),
    );
  };

  search.addEventListener('input', draw);
  fill(
    main,
    h('h1', {}, 'Schema'),
    error,
    field('Search the schema', search, 'A name or an OID'),
    status,
    h('h2', {}, 'Object classes'),
    classes,
    h('h2', {}, 'Attribute types'),
    types,
  );
  try {
    schema = await get<SchemaAnswer>('subschema');
    draw();
  } catch (e) {
    error.textContent = (e as Error).message;
  }
}
