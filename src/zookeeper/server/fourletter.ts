// Four-letter words on the client port. The text formats follow ZooKeeper 3.8 exactly.

/** Known commands, keyed by their first four bytes read as a big-endian int. */
export const FOUR_LETTER_WORDS = [
  'conf',
  'cons',
  'crst',
  'dump',
  'envi',
  'ruok',
  'srst',
  'srvr',
  'stat',
  'wchs',
  'wchc',
  'wchp',
  'mntr',
  'isro',
  'gtmk',
  'stmk',
  'dirs',
  'hash',
] as const;

export const fourLetterCodes = new Map<number, string>(FOUR_LETTER_WORDS.map((w) => [Buffer.from(w, 'latin1').readInt32BE(0), w]));
