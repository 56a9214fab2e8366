//! Signed QR badges: the token format, signing and verification, and QR rendering.
//!
//! A badge carries a compact token signed with the event's Ed25519 key, so any
//! desk holding the event's public keys validates it offline, even a badge
//! issued after the desk's last sync. The format is written down in
//! `docs/badge-format.md`; keep the two in step.
//!
//! Token text: `CK` + base32 (RFC 4648, A–Z2–7, no padding) of 89 bytes:
//!
//! | bytes  | field                                                       |
//! |--------|-------------------------------------------------------------|
//! | 0      | version (= 1)                                               |
//! | 1      | key id                                                      |
//! | 2..6   | event tag: first 4 bytes of SHA-256 of the event UUID bytes |
//! | 6..22  | attendee id (UUID bytes)                                    |
//! | 22..24 | days mask, u16 big-endian                                   |
//! | 24     | issue (badge generation)                                    |
//! | 25..89 | Ed25519 signature over `checkin-badge-v1` ‖ bytes 0..25     |

use std::fmt::Write as _;

use chrono::NaiveDate;
use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use qrcode::bits::Bits;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode, Version};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Text prefix of every badge token.
pub const TOKEN_PREFIX: &str = "CK";
/// The token format version this build writes and reads.
pub const TOKEN_VERSION: u8 = 1;
/// Prepended to the signed bytes (not stored in the token) so a badge
/// signature can never be confused with a signature made for anything else.
pub const SIGNING_DOMAIN: &[u8] = b"checkin-badge-v1";
/// Bytes covered by the signature: version, key id, event tag, attendee id,
/// days mask, issue.
pub const SIGNED_LEN: usize = 25;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a version-1 token in bytes.
pub const TOKEN_BYTES: usize = SIGNED_LEN + SIGNATURE_LEN;
/// Length of a version-1 token's text, prefix included.
pub const TOKEN_CHARS: usize = 145;
/// Days mask meaning "valid on every day of the event".
pub const ALL_DAYS: u16 = 0xFFFF;
/// Quiet zone around the QR, in modules, in the SVG and PNG renderings.
pub const QUIET_ZONE: usize = 4;
/// Largest pixels-per-module [`qr_png`] accepts.
pub const MAX_PX_PER_MODULE: u32 = 64;

/// What a badge token states. Signed as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BadgeClaims {
    /// Which of the event's keys signed the badge.
    pub key_id: u8,
    /// [`event_tag`] of the event the badge belongs to.
    pub event_tag: [u8; 4],
    pub attendee_id: Uuid,
    /// Bit i set: valid on the event's i-th day (see [`days_mask`]);
    /// [`ALL_DAYS`] = every day.
    pub days_mask: u16,
    /// Badge generation: raised when a badge is replaced.
    pub issue: u8,
}

impl BadgeClaims {
    /// The signed part of the token: version, then the claims.
    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut out = [0u8; SIGNED_LEN];
        out[0] = TOKEN_VERSION;
        out[1] = self.key_id;
        out[2..6].copy_from_slice(&self.event_tag);
        out[6..22].copy_from_slice(self.attendee_id.as_bytes());
        out[22..24].copy_from_slice(&self.days_mask.to_be_bytes());
        out[24] = self.issue;
        out
    }

    /// Reads the claims back from the signed part (whose version byte the
    /// caller has already checked).
    fn from_signed_bytes(bytes: &[u8; SIGNED_LEN]) -> Self {
        let mut event_tag = [0u8; 4];
        event_tag.copy_from_slice(&bytes[2..6]);
        let mut attendee = [0u8; 16];
        attendee.copy_from_slice(&bytes[6..22]);
        BadgeClaims {
            key_id: bytes[1],
            event_tag,
            attendee_id: Uuid::from_bytes(attendee),
            days_mask: u16::from_be_bytes([bytes[22], bytes[23]]),
            issue: bytes[24],
        }
    }
}

/// Short tag that ties a badge to its event: the first 4 bytes of SHA-256 of
/// the event UUID's 16 bytes.
pub fn event_tag(event_id: Uuid) -> [u8; 4] {
    let digest = Sha256::digest(event_id.as_bytes());
    let mut tag = [0u8; 4];
    tag.copy_from_slice(&digest[..4]);
    tag
}

/// The event's days in the order the mask bits count them: ascending, each
/// date once, whatever order the event stores them in.
fn ordered_days(event_days: &[NaiveDate]) -> Vec<NaiveDate> {
    let mut days = event_days.to_vec();
    days.sort_unstable();
    days.dedup();
    days
}

/// Days mask for an attendee's valid days among the event days (empty attendee days → 0xFFFF).
///
/// Bit i stands for the i-th event day in ascending date order. Attendee days
/// that are not event days are ignored, and so are event days past the 16th
/// (the mask cannot name them; only [`ALL_DAYS`] admits on them).
pub fn days_mask(event_days: &[NaiveDate], attendee_days: &[NaiveDate]) -> u16 {
    if attendee_days.is_empty() {
        return ALL_DAYS;
    }
    ordered_days(event_days)
        .iter()
        .take(16)
        .enumerate()
        .filter(|(_, day)| attendee_days.contains(day))
        .fold(0u16, |mask, (i, _)| mask | (1 << i))
}

/// Whether a badge with `mask` admits on `day`. [`ALL_DAYS`] admits on any
/// day; otherwise `day` must be one of the first 16 event days with its bit set.
pub fn mask_allows(mask: u16, event_days: &[NaiveDate], day: NaiveDate) -> bool {
    if mask == ALL_DAYS {
        return true;
    }
    match ordered_days(event_days).iter().position(|d| *d == day) {
        Some(i) if i < 16 => mask & (1 << i) != 0,
        _ => false,
    }
}

/// Key ids of the event's own keys (made where the event was created, and by
/// rotation). A badge with one of these ids is checked against that key.
pub const EVENT_KEY_IDS: std::ops::RangeInclusive<u8> = 1..=127;
/// Key ids of desks' own keys ([`check_device_key`]). Desks pick them
/// without asking anyone, so two desks may share an id: a badge is checked
/// against every desk key with its id (one of them verifies it, or none).
pub const DEVICE_KEY_IDS: std::ops::RangeInclusive<u8> = 128..=255;
/// Prepended to what a desk signs to prove it holds its badge key; never
/// the prefix of a badge's signed message.
pub const DEVICE_KEY_DOMAIN: &[u8] = b"checkin-device-key-v1";

/// What a desk key's proof signs: the domain, the event and device ids, the
/// key id and the public key.
fn device_key_message(event_id: Uuid, device_id: Uuid, key_id: u8, public: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(DEVICE_KEY_DOMAIN.len() + 16 + 16 + 1 + 32);
    msg.extend_from_slice(DEVICE_KEY_DOMAIN);
    msg.extend_from_slice(event_id.as_bytes());
    msg.extend_from_slice(device_id.as_bytes());
    msg.push(key_id);
    msg.extend_from_slice(public);
    msg
}

/// The proof that the desk `device_id` holds `secret`: its signature over the
/// key's binding to the event, the desk and the key id. Publishing a key
/// without its secret (someone else's public key) is therefore impossible.
pub fn device_key_proof(secret: &[u8; 32], event_id: Uuid, device_id: Uuid, key_id: u8) -> [u8; 64] {
    let public = public_from_secret(secret);
    SigningKey::from_bytes(secret)
        .sign(&device_key_message(event_id, device_id, key_id, &public))
        .to_bytes()
}

/// Why a desk key is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceKeyError {
    #[error("key id {0} is not a desk key id (128 to 255); this is a bug in the app, report it")]
    KeyId(u8),
    #[error("the public key is not a valid Ed25519 key; this is a bug in the app, report it")]
    PublicKey,
    #[error("the key's proof does not verify: the key does not belong to this desk")]
    Proof,
}

/// Checks a desk key before it is trusted: a desk key id, a strong public
/// key, and a proof made with its secret for this event and this desk.
pub fn check_device_key(
    event_id: Uuid,
    device_id: Uuid,
    key_id: u8,
    public: &[u8; 32],
    proof: &[u8; 64],
) -> Result<(), DeviceKeyError> {
    if !DEVICE_KEY_IDS.contains(&key_id) {
        return Err(DeviceKeyError::KeyId(key_id));
    }
    let key = VerifyingKey::from_bytes(public).map_err(|_| DeviceKeyError::PublicKey)?;
    if key.is_weak() {
        return Err(DeviceKeyError::PublicKey);
    }
    key.verify_strict(
        &device_key_message(event_id, device_id, key_id, public),
        &Signature::from_bytes(proof),
    )
    .map_err(|_| DeviceKeyError::Proof)
}

/// A fresh event key pair from the OS RNG (getrandom): (secret 32 bytes, public 32 bytes).
pub fn generate_keypair() -> Result<([u8; 32], [u8; 32]), BadgeError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| BadgeError::Rng(e.to_string()))?;
    let public = public_from_secret(&secret);
    Ok((secret, public))
}

/// The public key that goes with a secret key.
pub fn public_from_secret(secret: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(secret).verifying_key().to_bytes()
}

/// The signed message: the domain prefix, then the signed bytes.
fn signing_message(signed: &[u8; SIGNED_LEN]) -> [u8; SIGNING_DOMAIN.len() + SIGNED_LEN] {
    let mut msg = [0u8; SIGNING_DOMAIN.len() + SIGNED_LEN];
    msg[..SIGNING_DOMAIN.len()].copy_from_slice(SIGNING_DOMAIN);
    msg[SIGNING_DOMAIN.len()..].copy_from_slice(signed);
    msg
}

/// Signs `claims` with the event's secret key and returns the token text
/// (`CK` + base32, [`TOKEN_CHARS`] characters). `claims.key_id` must name the
/// key pair `secret` belongs to.
pub fn sign(claims: &BadgeClaims, secret: &[u8; 32]) -> String {
    let signed = claims.signed_bytes();
    let signature = SigningKey::from_bytes(secret).sign(&signing_message(&signed));
    SignedToken {
        claims: *claims,
        signed,
        signature: signature.to_bytes(),
    }
    .text()
}

/// A decoded token whose signature is not yet checked: use [`SignedToken::verify`]
/// (or [`SignedToken::verify_with_keys`]) before trusting the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedToken {
    pub claims: BadgeClaims,
    signed: [u8; SIGNED_LEN],
    signature: [u8; SIGNATURE_LEN],
}

impl SignedToken {
    /// Whether the signature is valid under `public` (strict Ed25519: no
    /// malleable signatures, no weak keys). Picking the key for
    /// `claims.key_id` is the caller's job; see [`Self::verify_with_keys`].
    pub fn verify(&self, public: &[u8; 32]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(public) else {
            return false;
        };
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&signing_message(&self.signed), &signature)
            .is_ok()
    }

    /// Verifies against the event's keys `(key id, public key)`: true when a
    /// key with the token's key id verifies it. An unknown key id is false.
    pub fn verify_with_keys(&self, keys: &[(u8, [u8; 32])]) -> bool {
        keys.iter()
            .filter(|(id, _)| *id == self.claims.key_id)
            .any(|(_, public)| self.verify(public))
    }

    /// The token's canonical text (upper case, no whitespace), as printed in
    /// the QR.
    pub fn text(&self) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[..SIGNED_LEN].copy_from_slice(&self.signed);
        bytes[SIGNED_LEN..].copy_from_slice(&self.signature);
        let mut out = String::with_capacity(TOKEN_CHARS);
        out.push_str(TOKEN_PREFIX);
        out.push_str(&BASE32_NOPAD.encode(&bytes));
        out
    }
}

/// How a scanned payload relates to our format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Doesn't start with the prefix: maybe an external ticket code; the caller looks it up.
    #[error("not a badge token (no \"CK\" prefix); look it up as a ticket code")]
    NotAToken,
    /// Has our prefix but is broken (bad base32, wrong length, ...).
    #[error("badge damaged or mis-scanned: {0}; scan again or find the person by name")]
    Malformed(String),
    /// A version byte this build does not know.
    #[error("badge format version {0} is newer than this app; update the app")]
    UnsupportedVersion(u8),
}

/// Parses a scanned payload into a token (signature not checked).
///
/// Tolerates what hand scanners send: surrounding whitespace (CR, LF, tabs,
/// spaces) and lower case (Caps Lock). Nothing else is guessed.
pub fn decode(payload: &str) -> Result<SignedToken, TokenError> {
    let text = payload.trim();
    let raw = text.as_bytes();
    if raw.len() < TOKEN_PREFIX.len()
        || !raw[..TOKEN_PREFIX.len()].eq_ignore_ascii_case(TOKEN_PREFIX.as_bytes())
    {
        return Err(TokenError::NotAToken);
    }
    // The prefix is ASCII, so this slices on a character boundary.
    let body = text[TOKEN_PREFIX.len()..].to_ascii_uppercase();
    if body.is_empty() {
        return Err(TokenError::Malformed("nothing after the prefix".into()));
    }
    if let Some(bad) = body.chars().find(|c| !matches!(c, 'A'..='Z' | '2'..='7')) {
        return Err(TokenError::Malformed(format!(
            "character {bad:?} cannot be in a badge"
        )));
    }
    let bytes = BASE32_NOPAD.decode(body.as_bytes()).map_err(|e| match e.kind {
        data_encoding::DecodeKind::Length => truncated(body.len()),
        _ => TokenError::Malformed("the last character is wrong".into()),
    })?;
    match bytes.first().copied() {
        Some(TOKEN_VERSION) => {}
        None | Some(0) => return Err(TokenError::Malformed("no version byte".into())),
        Some(v) => return Err(TokenError::UnsupportedVersion(v)),
    }
    if bytes.len() != TOKEN_BYTES {
        return Err(truncated(body.len()));
    }
    let mut signed = [0u8; SIGNED_LEN];
    signed.copy_from_slice(&bytes[..SIGNED_LEN]);
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(&bytes[SIGNED_LEN..]);
    Ok(SignedToken {
        claims: BadgeClaims::from_signed_bytes(&signed),
        signed,
        signature,
    })
}

fn truncated(body_chars: usize) -> TokenError {
    TokenError::Malformed(format!(
        "{} characters instead of {TOKEN_CHARS}",
        body_chars + TOKEN_PREFIX.len()
    ))
}

/// Failures making keys or QR codes.
#[derive(Debug, thiserror::Error)]
pub enum BadgeError {
    #[error(
        "the system random number generator failed ({0}); try again, and if it keeps failing restart the computer"
    )]
    Rng(String),
    #[error(
        "character {0:?} cannot go in a QR code in alphanumeric mode (only A-Z, 0-9, space and $%*+-./: can); this is a bug, report it"
    )]
    NotAlphanumeric(char),
    #[error("{0} characters do not fit in a QR code at error correction level M; use a shorter text")]
    QrTooLong(usize),
    #[error(
        "{0} pixels per module is out of range; use 1 to {MAX_PX_PER_MODULE} (about 8 prints a badge QR well)"
    )]
    PixelsPerModule(u32),
    #[error("could not encode the QR code as PNG ({0}); this is a bug, report it")]
    Png(#[source] image::ImageError),
}

/// The characters QR alphanumeric mode can hold.
fn is_qr_alphanumeric(c: char) -> bool {
    matches!(c, '0'..='9' | 'A'..='Z' | ' ' | '$' | '%' | '*' | '+' | '-' | '.' | '/' | ':')
}

/// `text` as a QR code: alphanumeric mode, ECC level M, the smallest version
/// that holds it.
fn qr_code(text: &str) -> Result<QrCode, BadgeError> {
    if let Some(bad) = text.chars().find(|c| !is_qr_alphanumeric(*c)) {
        return Err(BadgeError::NotAlphanumeric(bad));
    }
    for v in 1..=40 {
        let mut bits = Bits::new(Version::Normal(v));
        let pushed = bits
            .push_alphanumeric_data(text.as_bytes())
            .and_then(|()| bits.push_terminator(EcLevel::M));
        match pushed {
            Ok(()) => {
                return QrCode::with_bits(bits, EcLevel::M).map_err(|_| BadgeError::QrTooLong(text.len()));
            }
            Err(QrError::DataTooLong) => continue,
            Err(_) => return Err(BadgeError::QrTooLong(text.len())),
        }
    }
    Err(BadgeError::QrTooLong(text.len()))
}

/// The module matrix (row-major, true = dark), without quiet zone, and its
/// width: alphanumeric mode, ECC level M, the smallest version that holds the
/// text. Drawn as vectors in the SVG and the badge PDFs.
///
/// Made with `qrcodegen`, about three times faster than the `qrcode` crate
/// (which [`qr_png`] still uses for its renderer); both give the same version
/// and data, and any reader decodes either.
pub fn qr_matrix(text: &str) -> Result<(usize, Vec<bool>), BadgeError> {
    if let Some(bad) = text.chars().find(|c| !is_qr_alphanumeric(*c)) {
        return Err(BadgeError::NotAlphanumeric(bad));
    }
    let segment = qrcodegen::QrSegment::make_alphanumeric(text);
    let code = qrcodegen::QrCode::encode_segments_advanced(
        &[segment],
        qrcodegen::QrCodeEcc::Medium,
        qrcodegen::Version::MIN,
        qrcodegen::Version::MAX,
        None,
        false,
    )
    .map_err(|_| BadgeError::QrTooLong(text.len()))?;
    let width = code.size() as usize;
    let mut modules = Vec::with_capacity(width * width);
    for y in 0..width as i32 {
        for x in 0..width as i32 {
            modules.push(code.get_module(x, y));
        }
    }
    Ok((width, modules))
}

/// QR as SVG: one user unit per module under a single viewBox that includes
/// the 4-module quiet zone, white background, dark modules as one path,
/// `shape-rendering="crispEdges"`. Scale it freely.
pub fn qr_svg(text: &str) -> Result<String, BadgeError> {
    let (width, modules) = qr_matrix(text)?;
    let size = width + 2 * QUIET_ZONE;
    let mut svg = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{s}" height="{s}""#,
            r#" viewBox="0 0 {s} {s}" shape-rendering="crispEdges">"#,
            r##"<rect width="{s}" height="{s}" fill="#fff"/><path fill="#000" d=""##,
        ),
        s = size
    );
    for (y, row) in modules.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] {
                x += 1;
            }
            // Writing to a String cannot fail.
            let _ = write!(
                svg,
                "M{} {}h{}v1h-{}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE,
                x - start,
                x - start
            );
        }
    }
    svg.push_str(r#""/></svg>"#);
    Ok(svg)
}

/// QR as a greyscale PNG with `px_per_module` pixels per module and the
/// 4-module quiet zone: (width + 8) × `px_per_module` pixels square.
pub fn qr_png(text: &str, px_per_module: u32) -> Result<Vec<u8>, BadgeError> {
    if !(1..=MAX_PX_PER_MODULE).contains(&px_per_module) {
        return Err(BadgeError::PixelsPerModule(px_per_module));
    }
    let code = qr_code(text)?;
    let image = code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(px_per_module, px_per_module)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(BadgeError::Png)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims() -> BadgeClaims {
        BadgeClaims {
            key_id: 1,
            event_tag: event_tag(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            attendee_id: Uuid::from_u128(0x0190_1234_5678_7abc_8def_0123_4567_89ab),
            days_mask: 0b101,
            issue: 2,
        }
    }

    fn key(seed: u8) -> ([u8; 32], [u8; 32]) {
        let secret = [seed; 32];
        (secret, public_from_secret(&secret))
    }

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 9, d).unwrap()
    }

    #[test]
    fn round_trip() {
        let (secret, public) = key(7);
        let text = sign(&claims(), &secret);
        assert_eq!(text.len(), TOKEN_CHARS);
        assert!(text.starts_with(TOKEN_PREFIX));
        assert!(text.chars().all(is_qr_alphanumeric));
        let token = decode(&text).unwrap();
        assert_eq!(token.claims, claims());
        assert!(token.verify(&public));
        assert_eq!(token.text(), text);
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let (secret, public) = generate_keypair().unwrap();
        assert_eq!(public, public_from_secret(&secret));
        let (secret2, _) = generate_keypair().unwrap();
        assert_ne!(secret, secret2);
        assert!(decode(&sign(&claims(), &secret)).unwrap().verify(&public));
    }

    #[test]
    fn wrong_key_fails() {
        let (secret, _) = key(7);
        let (_, other) = key(8);
        let token = decode(&sign(&claims(), &secret)).unwrap();
        assert!(!token.verify(&other));
        assert!(!token.verify(&[0u8; 32]));
    }

    #[test]
    fn key_rotation() {
        let (old_secret, old_public) = key(1);
        let (new_secret, new_public) = key(2);
        let old = decode(&sign(
            &BadgeClaims {
                key_id: 1,
                ..claims()
            },
            &old_secret,
        ))
        .unwrap();
        let new = decode(&sign(
            &BadgeClaims {
                key_id: 2,
                ..claims()
            },
            &new_secret,
        ))
        .unwrap();
        assert!(old.verify(&old_public) && !old.verify(&new_public));
        assert!(new.verify(&new_public) && !new.verify(&old_public));
        let keys = [(1, old_public), (2, new_public)];
        assert!(old.verify_with_keys(&keys));
        assert!(new.verify_with_keys(&keys));
        // Unknown key id, or a key id pointing at the wrong key: refused.
        assert!(!old.verify_with_keys(&[(2, new_public)]));
        assert!(!old.verify_with_keys(&[(1, new_public)]));
        assert!(!new.verify_with_keys(&[]));
    }

    #[test]
    fn scanner_noise_is_tolerated() {
        let (secret, public) = key(3);
        let text = sign(&claims(), &secret);
        for payload in [
            text.to_ascii_lowercase(),
            format!("  {text}\r\n"),
            format!("\t{}\n", text.to_ascii_lowercase()),
            format!("ck{}", &text[2..]),
        ] {
            let token = decode(&payload).unwrap();
            assert_eq!(token.claims, claims());
            assert!(token.verify(&public));
        }
    }

    #[test]
    fn classification() {
        assert_eq!(decode("TICKET-123"), Err(TokenError::NotAToken));
        assert_eq!(decode(""), Err(TokenError::NotAToken));
        assert_eq!(decode(" \r\n"), Err(TokenError::NotAToken));
        assert_eq!(decode("C"), Err(TokenError::NotAToken));
        assert_eq!(decode("ЖK123"), Err(TokenError::NotAToken));
        assert!(matches!(decode("CK!!!"), Err(TokenError::Malformed(_))));
        assert!(matches!(decode("CK"), Err(TokenError::Malformed(_))));
        assert!(matches!(decode("CKAB CD"), Err(TokenError::Malformed(_))));
        assert!(matches!(decode("CKABCЖ"), Err(TokenError::Malformed(_))));
        let text = sign(&claims(), &key(1).0);
        for cut in [3, 10, 40, 100, 142, 144] {
            assert!(
                matches!(decode(&text[..cut]), Err(TokenError::Malformed(_))),
                "cut at {cut}"
            );
        }
        // One character too many.
        assert!(matches!(
            decode(&format!("{text}A")),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_message_says_what_to_do() {
        let msg = decode("CK!!!").unwrap_err().to_string();
        assert!(msg.starts_with("badge damaged or mis-scanned: "), "{msg}");
        assert!(msg.ends_with("; scan again or find the person by name"), "{msg}");
        assert_eq!(
            TokenError::UnsupportedVersion(2).to_string(),
            "badge format version 2 is newer than this app; update the app"
        );
    }

    #[test]
    fn unsupported_version() {
        let text = sign(&claims(), &key(1).0);
        let mut bytes = BASE32_NOPAD.decode(&text.as_bytes()[2..]).unwrap();
        bytes[0] = 2;
        let v2 = format!("CK{}", BASE32_NOPAD.encode(&bytes));
        assert_eq!(decode(&v2), Err(TokenError::UnsupportedVersion(2)));
        // A future version may have another length: still reported as a version.
        let short = format!("CK{}", BASE32_NOPAD.encode(&[2, 0, 0, 0, 0]));
        assert_eq!(decode(&short), Err(TokenError::UnsupportedVersion(2)));
        bytes[0] = 0;
        let v0 = format!("CK{}", BASE32_NOPAD.encode(&bytes));
        assert!(matches!(decode(&v0), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn non_canonical_base32_is_refused() {
        // 143 characters carry 715 bits for 712: the last 3 must be zero, so
        // every token has exactly one text.
        let text = sign(&claims(), &key(1).0);
        let last = text.as_bytes()[TOKEN_CHARS - 1];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let idx = alphabet.iter().position(|c| *c == last).unwrap();
        let changed = alphabet[idx ^ 1] as char;
        let bad = format!("{}{changed}", &text[..TOKEN_CHARS - 1]);
        assert_eq!(
            decode(&bad),
            Err(TokenError::Malformed("the last character is wrong".into()))
        );
    }

    #[test]
    fn layout_is_as_documented() {
        let text = sign(&claims(), &key(1).0);
        let bytes = BASE32_NOPAD.decode(&text.as_bytes()[2..]).unwrap();
        assert_eq!(bytes.len(), TOKEN_BYTES);
        assert_eq!(bytes[0], TOKEN_VERSION);
        assert_eq!(bytes[1], 1);
        assert_eq!(bytes[2..6], claims().event_tag);
        assert_eq!(bytes[6..22], *claims().attendee_id.as_bytes());
        assert_eq!(bytes[22..24], [0x00, 0b101]);
        assert_eq!(bytes[24], 2);
        // The signature covers the domain prefix plus bytes 0..25.
        let mut msg = SIGNING_DOMAIN.to_vec();
        msg.extend_from_slice(&bytes[..SIGNED_LEN]);
        let sig = Signature::from_bytes(bytes[SIGNED_LEN..].try_into().unwrap());
        let public = VerifyingKey::from_bytes(&key(1).1).unwrap();
        assert!(public.verify_strict(&msg, &sig).is_ok());
        assert!(public.verify_strict(&bytes[..SIGNED_LEN], &sig).is_err());
    }

    #[test]
    fn event_tag_is_sha256_prefix() {
        let id = Uuid::from_u128(42);
        let digest = Sha256::digest(id.as_bytes());
        assert_eq!(event_tag(id), digest[..4]);
        assert_ne!(event_tag(id), event_tag(Uuid::from_u128(43)));
    }

    #[test]
    fn day_masks() {
        // Stored out of order: bits follow date order.
        let days = [date(12), date(10), date(11)];
        assert_eq!(days_mask(&days, &[]), ALL_DAYS);
        assert_eq!(days_mask(&days, &[date(10)]), 0b001);
        assert_eq!(days_mask(&days, &[date(12), date(10)]), 0b101);
        assert_eq!(days_mask(&days, &[date(1)]), 0);
        assert!(mask_allows(0b101, &days, date(10)));
        assert!(!mask_allows(0b101, &days, date(11)));
        assert!(mask_allows(0b101, &days, date(12)));
        assert!(!mask_allows(0b101, &days, date(13)));
        assert!(!mask_allows(0, &days, date(10)));
        assert!(mask_allows(ALL_DAYS, &days, date(13)));
        assert!(mask_allows(ALL_DAYS, &[], date(13)));
        // Past the 16th day only "every day" admits.
        let long: Vec<_> = (1..=20).map(date).collect();
        assert_eq!(days_mask(&long, &[date(16), date(17)]), 1 << 15);
        assert!(mask_allows(1 << 15, &long, date(16)));
        assert!(!mask_allows(0x7FFF, &long, date(17)));
        assert!(mask_allows(ALL_DAYS, &long, date(20)));
    }

    #[test]
    fn device_key_proofs_bind_the_key_to_event_desk_and_id() {
        let (secret, public) = key(9);
        let (event, desk) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let proof = device_key_proof(&secret, event, desk, 130);
        assert_eq!(check_device_key(event, desk, 130, &public, &proof), Ok(()));
        // Another desk, event or key id, or someone else's public key: refused.
        let other = Uuid::from_u128(3);
        assert_eq!(
            check_device_key(event, other, 130, &public, &proof),
            Err(DeviceKeyError::Proof)
        );
        assert_eq!(
            check_device_key(other, desk, 130, &public, &proof),
            Err(DeviceKeyError::Proof)
        );
        assert_eq!(
            check_device_key(event, desk, 131, &public, &proof),
            Err(DeviceKeyError::Proof)
        );
        assert_eq!(
            check_device_key(event, desk, 130, &key(10).1, &proof),
            Err(DeviceKeyError::Proof)
        );
        // Event key ids are not desk key ids.
        let low = device_key_proof(&secret, event, desk, 1);
        assert_eq!(
            check_device_key(event, desk, 1, &public, &low),
            Err(DeviceKeyError::KeyId(1))
        );
        // The identity point is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            check_device_key(event, desk, 130, &identity, &proof),
            Err(DeviceKeyError::PublicKey)
        );
        // A proof is never a badge signature: the badge domain differs.
        assert!(!DEVICE_KEY_DOMAIN.starts_with(SIGNING_DOMAIN));
    }

    fn qr_version(text: &str) -> i16 {
        match qr_code(text).unwrap().version() {
            Version::Normal(v) => v,
            Version::Micro(v) => panic!("micro QR {v}"),
        }
    }

    #[test]
    fn token_fits_qr_version_6_alphanumeric() {
        let text = sign(&claims(), &key(1).0);
        let code = qr_code(&text).unwrap();
        assert_eq!(code.error_correction_level(), EcLevel::M);
        // Byte mode would need version 8 at ECC M for 145 characters (version
        // 6 holds 106 bytes), so version 6 means alphanumeric mode was used.
        assert_eq!(qr_version(&text), 6);
        let (width, modules) = qr_matrix(&text).unwrap();
        assert_eq!(width, 41);
        assert_eq!(modules.len(), 41 * 41);
        // Finder pattern corner.
        assert!(modules[0] && modules[6] && !modules[41 + 1]);
    }

    #[test]
    fn qr_refuses_what_alphanumeric_mode_cannot_hold() {
        assert!(matches!(
            qr_matrix("ck123"),
            Err(BadgeError::NotAlphanumeric('c'))
        ));
        assert!(matches!(qr_svg("Ж"), Err(BadgeError::NotAlphanumeric('Ж'))));
        let long = "A".repeat(5000);
        assert!(matches!(qr_png(&long, 4), Err(BadgeError::QrTooLong(5000))));
        assert_eq!(qr_version(&"A".repeat(3391)), 40);
        assert!(matches!(qr_png("CK", 0), Err(BadgeError::PixelsPerModule(0))));
        assert!(matches!(qr_png("CK", 65), Err(BadgeError::PixelsPerModule(65))));
    }

    #[test]
    fn svg_has_view_box_and_quiet_zone() {
        let text = sign(&claims(), &key(1).0);
        let svg = qr_svg(&text).unwrap();
        assert!(svg.contains(r#"viewBox="0 0 49 49""#), "{svg}");
        assert!(svg.contains(r#"shape-rendering="crispEdges""#));
        assert!(svg.ends_with("</svg>"));
        // The top-left finder pattern starts after the 4-module quiet zone.
        assert!(svg.contains(r#"d="M4 4h7v1h-7z"#), "{svg}");
    }

    #[test]
    fn png_has_expected_size_and_decodes_to_the_token() {
        let text = sign(&claims(), &key(1).0);
        let png = qr_png(&text, 4).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(image.dimensions(), (49 * 4, 49 * 4));
        // Quiet zone is white, first finder module is black.
        assert_eq!(image.get_pixel(15, 15).0, [255]);
        assert_eq!(image.get_pixel(16, 16).0, [0]);
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            image.width() as usize,
            image.height() as usize,
            |x, y| image.get_pixel(x as u32, y as u32).0[0],
        );
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, content) = grids[0].decode().unwrap();
        assert_eq!(meta.version.0, 6);
        assert_eq!(content, text);
        let token = decode(&content).unwrap();
        assert!(token.verify(&key(1).1));
    }

    #[test]
    fn matrix_decodes_to_the_token_and_matches_the_png_version() {
        let text = sign(&claims(), &key(1).0);
        let (width, modules) = qr_matrix(&text).unwrap();
        assert_eq!(width, qr_code(&text).unwrap().width());
        let px = 4;
        let size = (width + 2 * QUIET_ZONE) * px;
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            let (mx, my) = ((x / px) as isize - 4, (y / px) as isize - 4);
            let inside = (0..width as isize).contains(&mx) && (0..width as isize).contains(&my);
            if inside && modules[my as usize * width + mx as usize] {
                0
            } else {
                255
            }
        });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, content) = grids[0].decode().unwrap();
        assert_eq!(meta.version.0, 6);
        assert_eq!(meta.ecc_level, 0, "ECC level M");
        assert_eq!(content, text);
    }

    fn any_claims() -> impl Strategy<Value = BadgeClaims> {
        (
            any::<u8>(),
            any::<[u8; 4]>(),
            any::<u128>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(|(key_id, event_tag, id, days_mask, issue)| BadgeClaims {
                key_id,
                event_tag,
                attendee_id: Uuid::from_u128(id),
                days_mask,
                issue,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_claims_round_trip(claims in any_claims(), secret in any::<[u8; 32]>()) {
            let text = sign(&claims, &secret);
            prop_assert_eq!(text.len(), TOKEN_CHARS);
            let token = decode(&text).unwrap();
            prop_assert_eq!(token.claims, claims);
            prop_assert!(token.verify(&public_from_secret(&secret)));
        }

        #[test]
        fn changing_any_byte_never_verifies(
            claims in any_claims(),
            secret in any::<[u8; 32]>(),
            index in 0..TOKEN_BYTES,
            flip in 1..=255u8,
        ) {
            let public = public_from_secret(&secret);
            let text = sign(&claims, &secret);
            let mut bytes = BASE32_NOPAD.decode(&text.as_bytes()[2..]).unwrap();
            bytes[index] ^= flip;
            let tampered = format!("CK{}", BASE32_NOPAD.encode(&bytes));
            if let Ok(token) = decode(&tampered) {
                prop_assert!(!token.verify(&public), "byte {} ^ {} verified", index, flip);
                prop_assert!(!token.verify_with_keys(&[(token.claims.key_id, public)]));
            }
        }

        #[test]
        fn decode_never_panics(s in any::<String>()) {
            let _ = decode(&s);
        }

        #[test]
        fn decode_never_panics_on_prefixed_noise(s in "[cCkK]{0,2}[A-Za-z2-7!= \r\n]{0,200}") {
            let _ = decode(&s);
        }
    }
}
