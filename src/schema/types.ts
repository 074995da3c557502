// The schema model: syntaxes, matching rules, attribute types and object classes as resolved
// objects (references, not names), so the directory core never re-parses definitions.

export interface Syntax {
  oid: string;
  desc: string;
  /** Binary syntaxes (Octet String, JPEG, certificates...) keep values as latin1 strings (1 char = 1 byte). */
  binary: boolean;
  /** Values go out with the ;binary transfer option (certificates: RFC 4522). */
  binaryTransfer?: boolean;
  /** True when the value is a valid member of the syntax. */
  validate(value: string): boolean;
}

export interface MatchingRule {
  oid: string;
  names: string[];
  /** Canonical name (first NAME, else OID). */
  name: string;
  kind: 'equality' | 'ordering' | 'substrings';
  /** Assertion syntax OID. */
  syntax: string;
  /**
   * Canonical form for comparison. Equal normalized strings means the values match.
   * Returns undefined when the value cannot be normalized (the filter item is then Undefined).
   * For substrings rules this normalizes one substring component (no outer trimming of inner parts).
   */
  normalize(value: string): string | undefined;
  /** Ordering rules only: compare two normalized values (<0, 0, >0). */
  compare?(a: string, b: string): number;
  /** RFC 4512 MatchingRuleDescription. */
  definition: string;
}

export type AttributeUsage = 'userApplications' | 'directoryOperation' | 'distributedOperation' | 'dSAOperation';

export interface AttributeType {
  oid: string;
  names: string[];
  /** Canonical name: the first NAME (as written), else the OID. */
  name: string;
  /** Lowercase canonical name: the key used for attributes in stored entries. */
  key: string;
  desc?: string;
  sup?: AttributeType;
  /** Resolved (inherited from sup when not set on the type). */
  equality?: MatchingRule;
  ordering?: MatchingRule;
  substr?: MatchingRule;
  syntax: Syntax;
  syntaxLength?: number;
  singleValue: boolean;
  collective: boolean;
  noUserModification: boolean;
  obsolete: boolean;
  usage: AttributeUsage;
  /** True for usage other than userApplications. */
  operational: boolean;
  /** RFC 4512 AttributeTypeDescription as the subschema entry shows it. */
  definition: string;
  /** Where it came from: 'builtin', a schema file name, or a cn=config schema entry name. */
  source: string;
}

export type ObjectClassKind = 'STRUCTURAL' | 'AUXILIARY' | 'ABSTRACT';

export interface ObjectClass {
  oid: string;
  names: string[];
  name: string;
  key: string;
  desc?: string;
  sup: ObjectClass[];
  kind: ObjectClassKind;
  obsolete: boolean;
  /** Own MUST/MAY lists. */
  must: AttributeType[];
  may: AttributeType[];
  /** Including everything inherited from superclasses. */
  allMust: Set<AttributeType>;
  allMay: Set<AttributeType>;
  definition: string;
  source: string;
}

/** Result of validating a whole entry against the schema. */
export interface EntryCheck {
  /** The entry's structural object class (the most specific of the one structural chain). */
  structural: ObjectClass;
}
