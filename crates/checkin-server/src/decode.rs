//! Request bodies as the server reads them: the optional gzip layer (bounded,
//! so a small body cannot unpack into gigabytes), the JSON, the protocol
//! version and size limits, and the checks on every pushed change. Pure
//! functions with no IO: the handlers in `lib.rs` call exactly these, and so
//! do the fuzz targets (`fuzz/fuzz_targets/sync_push.rs`, `sync_pair.rs`).

use std::borrow::Cow;
use std::io::Read;

use axum::http::StatusCode;
use checkin_core::store::changes::{Change, ChangeEnvelope};
use checkin_sync::protocol::*;
use uuid::Uuid;

use crate::storage::NewChange;
use crate::{ApiError, ApiResult};

/// The body with its `Content-Encoding` undone: none or `identity` as it is,
/// `gzip` unpacked up to [`MAX_BODY_BYTES`]. Anything else is refused.
pub fn body_bytes<'a>(content_encoding: Option<&str>, raw: &'a [u8]) -> ApiResult<Cow<'a, [u8]>> {
    let encoding = content_encoding.map(|e| e.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(Cow::Borrowed(raw)),
        Some("gzip" | "x-gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw)
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::bad(
                        "bad_request",
                        format!("the gzip body is damaged ({e}); send it again, or send it uncompressed"),
                    )
                })?;
            if out.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            Ok(Cow::Owned(out))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported: send the body as plain JSON or gzip"),
        )),
    }
}

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the request is larger than {MAX_BODY_BYTES} bytes: send fewer changes per push"),
    )
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad("bad_request", format!("the request body is not valid: {e}")))
}

/// A push body: unpacked, parsed, of this protocol version and within the
/// change limit. Who sent it is checked by [`admit_push`].
pub fn push_request(content_encoding: Option<&str>, raw: &[u8]) -> ApiResult<PushRequest> {
    let req: PushRequest = parse_json(&body_bytes(content_encoding, raw)?)?;
    if req.protocol != PROTOCOL_VERSION {
        return Err(ApiError::bad(
            "protocol_version",
            format!(
                "this server speaks sync protocol {PROTOCOL_VERSION}, the desk sent {}: update whichever of the two is older (desks and server go together)",
                req.protocol
            ),
        ));
    }
    if req.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_changes",
            format!("at most {MAX_PUSH_CHANGES} changes per push"),
        ));
    }
    Ok(req)
}

/// Every change of a push checked against the device that sent it, as the
/// rows to store. One bad change refuses the whole push.
pub fn admit_push(device: &DeviceInfo, req: &PushRequest) -> ApiResult<Vec<NewChange>> {
    if req.event_id != device.event_id {
        return Err(ApiError::forbidden("this desk is paired with another event"));
    }
    req.changes
        .iter()
        .map(|env| admit_change(device, req.event_id, env))
        .collect()
}

/// Check one pushed change against the device that sent it.
pub fn admit_change(device: &DeviceInfo, event_id: Uuid, env: &ChangeEnvelope) -> ApiResult<NewChange> {
    if env.event_id != event_id {
        return Err(ApiError::bad(
            "wrong_event",
            format!("change {} belongs to another event than the push", env.id),
        ));
    }
    if env.device_id != device.id {
        return Err(ApiError::forbidden(format!(
            "change {} was made by another device; a desk pushes only its own changes",
            env.id
        )));
    }
    let kind = env.change.kind();
    if !device.role.may_push(kind) {
        return Err(ApiError::forbidden(format!(
            "a {} desk may not send {kind} changes: ask a coordinator",
            device.role.as_str()
        )));
    }
    if let Change::Event(rec) = &env.change
        && rec.event.id != event_id
    {
        return Err(ApiError::bad(
            "wrong_event",
            "an event change must describe the push's event",
        ));
    }
    // The print log vouches for badges of revoked desks (docs/badge-format.md):
    // a desk logs only its own prints.
    if let Change::BadgePrinted(print) = &env.change
        && print.device_id != device.id
    {
        return Err(ApiError::forbidden(format!(
            "change {}: a desk logs only the badges it printed itself",
            env.id
        )));
    }
    if let Change::DeviceKey(key) = &env.change {
        if key.device_id != device.id {
            return Err(ApiError::forbidden(format!(
                "change {}: a desk publishes only its own badge key",
                env.id
            )));
        }
        key.check(event_id, device.id).map_err(|why| {
            ApiError::bad(
                "bad_device_key",
                format!("change {}: the desk's badge key is not valid: {why}", env.id),
            )
        })?;
    }
    Ok(NewChange {
        id: env.id,
        device_id: env.device_id,
        kind: kind.to_string(),
        hlc: env.hlc.to_string(),
        json: serde_json::to_string(env).expect("a change serialises"),
    })
}

/// Longest desk name, in characters.
pub const MAX_DEVICE_NAME: usize = 100;

/// A pairing body: unpacked, parsed, the desk name trimmed and checked.
/// Returns the request (name trimmed) and the code normalised for lookup;
/// `None` for the code when it cannot be a code (the caller answers as for
/// an unknown code).
pub fn pair_request(content_encoding: Option<&str>, raw: &[u8]) -> ApiResult<(PairRequest, Option<String>)> {
    let mut req: PairRequest = parse_json(&body_bytes(content_encoding, raw)?)?;
    let name = req.device_name.trim();
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME {
        return Err(ApiError::bad(
            "bad_request",
            format!("give the desk a name of 1 to {MAX_DEVICE_NAME} characters"),
        ));
    }
    req.device_name = name.to_string();
    let code = crate::normalise_code(&req.code);
    let code = (code.len() == 8).then_some(code);
    Ok((req, code))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_bodies_are_unpacked_and_bounded() {
        let body = br#"{"protocol":1}"#;
        assert_eq!(&*body_bytes(None, body).unwrap(), body);
        assert_eq!(&*body_bytes(Some("identity"), body).unwrap(), body);
        assert_eq!(&*body_bytes(Some(" GZIP "), &gzip(body)).unwrap(), body);
        // A small body that unpacks past the limit is refused, not unpacked.
        let bomb = gzip(&vec![b' '; MAX_BODY_BYTES + 1]);
        assert!(bomb.len() < 64 * 1024);
        let e = body_bytes(Some("gzip"), &bomb).unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
        assert!(body_bytes(Some("gzip"), &gzip(&vec![b' '; MAX_BODY_BYTES])).is_ok());
        let e = body_bytes(Some("gzip"), b"not gzip").unwrap_err();
        assert_eq!(e.code, "bad_request");
        assert!(e.message.contains("damaged"), "{}", e.message);
        let e = body_bytes(Some("br"), body).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding")
        );
    }

    #[test]
    fn push_bodies_are_checked_before_anything_is_stored() {
        let e = push_request(None, b"[]").unwrap_err();
        assert_eq!(e.code, "bad_request");
        let v = format!(
            r#"{{"protocol":{},"event_id":"{}","changes":[]}}"#,
            99,
            Uuid::nil()
        );
        assert_eq!(
            push_request(None, v.as_bytes()).unwrap_err().code,
            "protocol_version"
        );
        let ok = format!(
            r#"{{"protocol":{PROTOCOL_VERSION},"event_id":"{}","changes":[]}}"#,
            Uuid::nil()
        );
        let req = push_request(Some("gzip"), &gzip(ok.as_bytes())).unwrap();
        let device = DeviceInfo {
            id: Uuid::from_u128(1),
            name: "d".into(),
            role: Role::Volunteer,
            event_id: Uuid::from_u128(2),
            paired_at_ms: 0,
            last_seen_ms: None,
            revoked: false,
        };
        assert_eq!(admit_push(&device, &req).unwrap_err().code, "forbidden");
    }

    #[test]
    fn pair_bodies_trim_the_name_and_normalise_the_code() {
        let body = format!(
            r#"{{"code":"k7qm-2xwp","device_id":"{}","device_name":"  Вход A  "}}"#,
            Uuid::nil()
        );
        let (req, code) = pair_request(None, body.as_bytes()).unwrap();
        assert_eq!(req.device_name, "Вход A");
        assert_eq!(code.as_deref(), Some("K7QM2XWP"));
        let short = body.replace("k7qm-2xwp", "k7qm");
        assert_eq!(pair_request(None, short.as_bytes()).unwrap().1, None);
        let unnamed = body.replace("  Вход A  ", " \t ");
        assert_eq!(
            pair_request(None, unnamed.as_bytes()).unwrap_err().code,
            "bad_request"
        );
        let long = body.replace("  Вход A  ", &"Ж".repeat(101));
        assert_eq!(
            pair_request(None, long.as_bytes()).unwrap_err().code,
            "bad_request"
        );
    }
}
