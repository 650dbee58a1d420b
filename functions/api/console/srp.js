// SRP as Cognito's user pools speak it (USER_SRP_AUTH, then PASSWORD_VERIFIER): the maths of the sign-in, apart
// from its screens (signin.js). The password never leaves the page: only the proof computed here does.

import { textOf } from "./page.js";

// SRP as Cognito does it (amazon-cognito-identity-js's AuthenticationHelper): RFC 5054's 3072-bit group, g = 2,
// SHA-256, hex paddings of Java's BigInteger. BigInt for the arithmetic, WebCrypto for the hashes and the HKDF.
const SRP_N = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);
const SRP_G = 2n;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Hex of a positive number as Cognito hashes it: even length, 00 in front when the top bit is set. */
function padHex(value) {
  const hex = typeof value === "string" ? value : value.toString(16);
  if (hex.length % 2 === 1) return `0${hex}`;
  return "89abcdefABCDEF".includes(hex[0]) ? `00${hex}` : hex;
}

function hexToBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const bytesToHex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (text) => new TextEncoder().encode(text);
const concatBytes = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
const base64ToBytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const bytesToBase64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function sha256Hex(bytes) {
  return bytesToHex(await crypto.subtle.digest("SHA-256", bytes));
}

function modPow(base, exponent, modulus) {
  let result = 1n;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Cognito's TIMESTAMP: "Mon Jan 2 15:04:05 UTC 2006", in UTC, the day of the month not zero-padded. */
function cognitoTimestamp(date = new Date()) {
  const two = (n) => String(n).padStart(2, "0");
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  return (
    `${WEEKDAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()} ${time} UTC ` +
    `${date.getUTCFullYear()}`
  );
}

/** A new SRP client secret a and its public A = g^a mod N (A mod N must not be 0). */
export function srpStart() {
  for (;;) {
    const a = BigInt(`0x${bytesToHex(crypto.getRandomValues(new Uint8Array(128)))}`) % SRP_N;
    const A = modPow(SRP_G, a, SRP_N);
    if (A !== 0n) return { a, A };
  }
}

/** PASSWORD_VERIFIER's answer: the HMAC, keyed with the SRP session key, of poolName|userId|SECRET_BLOCK|time. */
export async function passwordClaim({ a, A }, poolName, password, parameters) {
  const userId = textOf(parameters.USER_ID_FOR_SRP);
  const B = BigInt(`0x${textOf(parameters.SRP_B) || "0"}`);
  if (B % SRP_N === 0n) throw new Error("The sign-in service answered with an invalid challenge. Try again.");
  const k = BigInt(`0x${await sha256Hex(hexToBytes(padHex(SRP_N) + padHex(SRP_G)))}`);
  const u = BigInt(`0x${await sha256Hex(hexToBytes(padHex(A) + padHex(B)))}`);
  if (u === 0n) throw new Error("The sign-in service answered with an invalid challenge. Try again.");
  const identity = await sha256Hex(utf8(`${poolName}${userId}:${password}`));
  const x = BigInt(`0x${await sha256Hex(hexToBytes(padHex(textOf(parameters.SALT)) + identity))}`);
  const S = modPow(B - k * modPow(SRP_G, x, SRP_N), a + u * x, SRP_N);
  const ikm = await crypto.subtle.importKey("raw", hexToBytes(padHex(S)), "HKDF", false, ["deriveBits"]);
  const info = utf8("Caldera Derived Key");
  const key = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: hexToBytes(padHex(u)), info }, ikm, 128);
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const timestamp = cognitoTimestamp();
  const secretBlock = textOf(parameters.SECRET_BLOCK);
  const message = concatBytes(utf8(poolName), utf8(userId), base64ToBytes(secretBlock), utf8(timestamp));
  return {
    USERNAME: textOf(parameters.USERNAME) || userId,
    PASSWORD_CLAIM_SECRET_BLOCK: secretBlock,
    TIMESTAMP: timestamp,
    PASSWORD_CLAIM_SIGNATURE: bytesToBase64(await crypto.subtle.sign("HMAC", hmacKey, message)),
  };
}
