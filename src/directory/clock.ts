// Time as the directory stamps it: generalizedTime values and OpenLDAP-form change sequence
// numbers (entryCSN), plus the subschema entry's modify time. One ChangeClock per server, so two
// servers in one process never share a CSN counter or a schema timestamp.

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

export function generalizedTime(d = new Date()): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/** This server's replica id (slapd's serverID): the sid field of every CSN it makes. */
export const SERVER_ID = '000';

export class ChangeClock {
  private counter = 0;
  private lastTime = '';
  /** When the schema last changed (the subschema entry's create/modifyTimestamp). */
  private schemaTime = generalizedTime();

  /** OpenLDAP-form change sequence number: time.usec#count#sid#mod. */
  csn(d = new Date()): string {
    const time = `${generalizedTime(d).slice(0, -1)}.${pad(d.getUTCMilliseconds() * 1000, 6)}Z`;
    this.counter = time === this.lastTime ? this.counter + 1 : 0;
    this.lastTime = time;
    return `${time}#${this.counter.toString(16).padStart(6, '0')}#${SERVER_ID}#000000`;
  }

  get subschemaTime(): string {
    return this.schemaTime;
  }

  /** The schema changed: the subschema entry's modifyTimestamp moves. */
  schemaChanged(): void {
    this.schemaTime = generalizedTime();
  }
}
