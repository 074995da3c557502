// The rows the Asterisk tools list (endpoint, peer, mailbox, queue and dialplan commands), as plain
// data: the CLI prints them and the console sends them as JSON, so they are declared here once. It
// imports nothing, so that the console's page (ui/, whose type check has no Node types) can read
// it through src/console/types.ts.

/** A PJSIP endpoint with its AORs, auth and registered contacts. Never a secret. */
export interface EndpointInfo {
  name: string;
  context?: string;
  aors: string[];
  auth?: string;
  callerid?: string;
  authType?: string;
  username?: string;
  realm?: string;
  maxContacts?: string;
  contacts: string[];
  state: 'registered' | 'unregistered';
}

/** A chan_sip or IAX peer, with the registration chan_sip/chan_iax2 write back. Never a secret. */
export interface PeerInfo {
  kind: 'sip' | 'iax';
  name: string;
  context?: string;
  host?: string;
  callerid?: string;
  mailbox?: string;
  address?: string;
  userAgent?: string;
  /** When the registration expires (ISO time), if the peer registered. */
  expires?: string;
  state: 'registered' | 'unregistered';
}

/** A voicemail box (app_voicemail's realtime columns) and its entry. Never its password. */
export interface MailboxInfo {
  mailbox: string;
  context: string;
  fullname?: string;
  email?: string;
  dn: string;
}

/** A queue (app_queue's realtime columns) with its static members, and its entry. */
export interface QueueInfo {
  name: string;
  strategy?: string;
  timeout?: string;
  musiconhold?: string;
  members: Array<{ interface: string; membername?: string; penalty?: string; paused?: string }>;
  dn: string;
}

/** A realtime dialplan row (pbx_realtime's columns) and its entry. */
export interface DialplanRow {
  context: string;
  exten: string;
  priority: string;
  app: string;
  appdata?: string;
  dn: string;
}
