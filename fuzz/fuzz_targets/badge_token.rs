//! The badge-token parser and verifier (`checkin_core::badge`) on anything a
//! scanner might send. Odd first byte: a token signed with the fuzz key from
//! the next 24 bytes, then edited by the rest (position, character pairs),
//! so valid and nearly valid tokens are explored without seeds.

#![no_main]

use checkin_core::badge::{self, BadgeClaims, TokenError};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

const SECRET: [u8; 32] = [7; 32];

fn signed_then_edited(data: &[u8]) -> Option<String> {
    let claims = data.get(..24)?;
    let claims = BadgeClaims {
        key_id: claims[0],
        event_tag: claims[1..5].try_into().unwrap(),
        attendee_id: Uuid::from_bytes(claims[5..21].try_into().unwrap()),
        days_mask: u16::from_be_bytes([claims[21], claims[22]]),
        issue: claims[23],
    };
    let mut text: Vec<char> = badge::sign(&claims, &SECRET).chars().collect();
    for edit in data[24..].chunks_exact(2) {
        let c = char::from(edit[1]);
        match edit[0] {
            p if (p as usize) < text.len() => text[p as usize] = c,
            200..=219 => text.insert(0, c),
            220..=239 => text.push(c),
            _ => {
                text.pop();
            }
        }
    }
    Some(text.into_iter().collect())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode & 1 == 1 {
        match signed_then_edited(rest) {
            Some(t) => t,
            None => return,
        }
    } else {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_string(),
            Err(_) => return,
        }
    };
    let public = badge::public_from_secret(&SECRET);
    match badge::decode(&text) {
        Ok(token) => {
            // Exactly one text per token: the input, trimmed, in upper case.
            let canonical = token.text();
            assert_eq!(canonical, text.trim().to_ascii_uppercase());
            assert_eq!(badge::decode(&canonical).as_ref(), Ok(&token));
            let verified = token.verify(&public);
            if verified {
                // Ed25519 signing is deterministic: the one text that verifies
                // is the one the key signs (no malleable variants).
                assert_eq!(badge::sign(&token.claims, &SECRET), canonical);
            }
            assert_eq!(token.verify_with_keys(&[(token.claims.key_id, public)]), verified);
            assert!(!token.verify_with_keys(&[(token.claims.key_id.wrapping_add(1), public)]));
        }
        Err(TokenError::NotAToken) => {
            let t = text.trim().as_bytes();
            assert!(t.len() < 2 || !t[..2].eq_ignore_ascii_case(b"CK"));
        }
        Err(e) => assert!(e.to_string().len() > 10),
    }
});
