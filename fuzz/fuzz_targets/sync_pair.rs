//! A pairing body as the sync server decodes it (`checkin_server::decode`),
//! and the pairing text a volunteer pastes
//! (`checkin://pair?server=…&code=…&fp=…`).

#![no_main]

use checkin_server::decode;
use checkin_sync::protocol::{pairing_uri, parse_pairing_uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        if let Some(link) = parse_pairing_uri(text) {
            assert_eq!(
                parse_pairing_uri(&pairing_uri(&link.server, &link.code, link.fingerprint.as_deref())),
                Some(link)
            );
        }
        return;
    }
    let encoding = match mode >> 1 & 3 {
        0 => None,
        1 => Some("gzip"),
        2 => Some("identity"),
        _ => Some("compress"),
    };
    match decode::pair_request(encoding, body) {
        Ok((req, code)) => {
            let name = &req.device_name;
            assert_eq!(name, name.trim());
            assert!(!name.is_empty() && name.chars().count() <= decode::MAX_DEVICE_NAME);
            if let Some(code) = code {
                assert_eq!(code.len(), 8);
                assert!(code.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
            }
        }
        Err(e) => {
            assert!(e.status.is_client_error(), "{e:?}");
            assert!(e.message.len() > 10);
        }
    }
});
