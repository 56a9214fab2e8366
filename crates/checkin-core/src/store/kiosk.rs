//! The kiosks' exit PIN. A coordinator sets it; only its Argon2id hash is
//! kept and synced (a `kiosk_pin` change, last writer wins), so every kiosk
//! of the event checks the same PIN offline and none holds it in clear.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::change::{Change, KioskPin};
use crate::error::{CoreError, Result};

/// Shortest and longest PIN, in digits.
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=12;

/// The Argon2id hash of `pin` (digits only, [`PIN_DIGITS`] long).
pub fn hash_pin(pin: &str) -> Result<String> {
    let pin = pin.trim();
    if !PIN_DIGITS.contains(&pin.chars().count()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(CoreError::Invalid(format!(
            "a kiosk PIN is {} to {} digits",
            PIN_DIGITS.start(),
            PIN_DIGITS.end()
        )));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| CoreError::Invalid(format!("no randomness for the PIN's salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| CoreError::Invalid(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Invalid(format!("could not hash the PIN: {e}")))
}

impl Store {
    /// Set the kiosks' exit PIN (a coordinator desk's act; the shell checks
    /// the role). Returns nothing of the PIN.
    pub fn set_kiosk_pin(&mut self, pin: &str, now: DateTime<Utc>) -> Result<()> {
        let hash = hash_pin(pin)?;
        self.write(now, |w| {
            w.record(Change::KioskPin(KioskPin {
                hash,
                at_ms: now.timestamp_millis(),
            }))
            .map(|_| ())
        })
    }

    /// Whether the event has a kiosk PIN (a kiosk can be left at all).
    pub fn kiosk_pin_set(&self) -> Result<bool> {
        Ok(self.kiosk_pin_hash()?.is_some())
    }

    fn kiosk_pin_hash(&self) -> Result<Option<String>> {
        let event_id = self.ctx()?.event.id.to_string();
        Ok(self
            .conn
            .query_row(
                "SELECT hash FROM kiosk_pin WHERE event_id = ?1",
                params![event_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Whether `pin` is the event's kiosk PIN. No PIN set: `false`.
    pub fn check_kiosk_pin(&self, pin: &str) -> Result<bool> {
        let Some(hash) = self.kiosk_pin_hash()? else {
            return Ok(false);
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return Ok(false);
        };
        Ok(argon2::Argon2::default()
            .verify_password(pin.trim().as_bytes(), &parsed)
            .is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_digits_within_bounds_and_hash_salted() {
        assert!(hash_pin("123").is_err());
        assert!(hash_pin("12a4").is_err());
        assert!(hash_pin("1234567890123").is_err());
        let a = hash_pin("2468").unwrap();
        let b = hash_pin("2468").unwrap();
        assert_ne!(a, b, "a fresh salt each time");
        let ok = |hash: &str| {
            KioskPin {
                hash: hash.into(),
                at_ms: 0,
            }
            .hash_ok()
        };
        assert!(ok(&a));
        assert!(!a.contains("2468"));
        assert!(!ok("2468"));
        assert!(!ok("$argon2id$garbage"));
    }
}
