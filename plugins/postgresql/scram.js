// The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as in its
// scram_build_secret). Sending the verifier instead of the password in ALTER ROLE means the clear
// value never reaches the server, so no server log (log_statement = all) can hold it. Written here:
// node:crypto has every primitive, and the plugin carries no dependencies.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096;

// SASLprep (RFC 4013) as PostgreSQL applies it: non-ASCII spaces become spaces, characters
// "mapped to nothing" go, then NFKC. A password it would reject (prohibited or unassigned
// characters) is used as raw bytes by the server; we do the same for control characters.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
const PROHIBITED = /[\u0000-\u001F\u007F-\u009F\uE000-\uF8FF\uFFF9-\uFFFD]/;

export function saslprep(password) {
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7E]*$/.test(password)) return password;
  const mapped = password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  return PROHIBITED.test(mapped) ? password : mapped;
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 fields, fresh salt. */
export function scramVerifier(password, salt = randomBytes(16)) {
  const salted = pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
