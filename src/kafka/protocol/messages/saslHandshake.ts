// SaslHandshake (key 17). Picks the SASL mechanism; the exchange then runs in SaslAuthenticate
// (v1).

import { arrayOf, type MessageDecl } from '../schema.js';

export const SaslHandshakeRequest: MessageDecl = {
  name: 'SaslHandshakeRequest',
  apiKey: 17,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [{ name: 'mechanism', type: 'string' }],
};

export const SaslHandshakeResponse: MessageDecl = {
  name: 'SaslHandshakeResponse',
  apiKey: 17,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16' },
    { name: 'mechanisms', type: arrayOf('string') },
  ],
};
