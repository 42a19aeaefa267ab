// SaslAuthenticate (key 36). Carries opaque SASL tokens once a mechanism is chosen.

import type { MessageDecl } from '../schema.js';

export const SaslAuthenticateRequest: MessageDecl = {
  name: 'SaslAuthenticateRequest',
  apiKey: 36,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [{ name: 'authBytes', type: 'bytes' }],
};

export const SaslAuthenticateResponse: MessageDecl = {
  name: 'SaslAuthenticateResponse',
  apiKey: 36,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'errorCode', type: 'int16' },
    { name: 'errorMessage', type: 'string', nullable: '0+' },
    { name: 'authBytes', type: 'bytes' },
    { name: 'sessionLifetimeMs', type: 'int64', versions: '1+' },
  ],
};
