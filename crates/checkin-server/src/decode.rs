//! Request bodies as the server reads them: the optional gzip layer (bounded,
//! so a small body cannot unpack into gigabytes), the JSON, the protocol
//! version and size limits, and the checks on every pushed change. Pure
//! functions with no IO: the handlers in `lib.rs` call exactly these, and so
//! do the fuzz targets (`fuzz/fuzz_targets/sync_push.rs`, `sync_pair.rs`).

use std::borrow::Cow;
use std::io::Read;

use std::collections::HashMap;

use axum::http::StatusCode;
use checkin_core::change::{ChangeEnvelope, verify_all};
use checkin_core::claims::{Author, Facts, Overlay, Refusal};
use checkin_core::hlc::MAX_SKEW_MS;
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

/// The author a device is, for the claims check.
pub fn author_of(device: &DeviceInfo) -> Author {
    Author::Device {
        id: device.id,
        role: device.role,
        revoked_at_ms: device.revoked_at_ms,
    }
}

/// The HTTP status a refusal is answered with.
pub fn refusal_status(code: &str) -> StatusCode {
    match code {
        "bad_request" | "too_long" | "bad_day" | "wrong_event" | "bad_key" => StatusCode::BAD_REQUEST,
        // Retried by the desk: the reference may arrive (another desk's
        // change through a hub), the clock may be set right.
        "unknown_reference" | "clock_ahead" | "conflict" => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    }
}

fn refusal_error(r: Refusal) -> ApiError {
    ApiError::new(refusal_status(r.code), r.code, r.to_string())
}

/// The refusal as the protocol reports it.
pub fn refused(r: &Refusal) -> RefusedChange {
    RefusedChange {
        id: r.change,
        author: r.author,
        code: r.code.to_string(),
        message: r.message.clone(),
    }
}

fn public_key(device: &DeviceInfo) -> Option<[u8; 32]> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(device.public_key.as_bytes())
        .ok()?
        .try_into()
        .ok()
}

/// Every change of a push checked against the device that sent it, as the
/// rows to store: [`signed_push`], then [`claimed_push`]. One bad change
/// refuses the whole push, with the refusal's code and message.
pub fn admit_push(
    device: &DeviceInfo,
    req: &PushRequest,
    facts: &dyn Facts,
    now_ms: i64,
) -> Result<Vec<NewChange>, (ApiError, Option<Refusal>)> {
    signed_push(device, req)?;
    claimed_push(device, req, facts, now_ms)
}

/// The part of a push check that needs nothing of the event (so the server
/// runs it before taking the event's lock): every change is of the push's
/// event, made by the device that sent it, and signed with its key (verified
/// in one batch).
pub fn signed_push(device: &DeviceInfo, req: &PushRequest) -> Result<(), (ApiError, Option<Refusal>)> {
    if req.event_id != device.event_id {
        return Err((
            ApiError::forbidden("this desk is paired with another event"),
            None,
        ));
    }
    for env in &req.changes {
        if env.event_id != req.event_id {
            return Err((
                ApiError::bad(
                    "wrong_event",
                    format!("change {} belongs to another event than the push", env.id),
                ),
                None,
            ));
        }
        if env.device_id != device.id {
            return Err((
                ApiError::forbidden(format!(
                    "change {} was made by another device; a desk pushes only its own changes",
                    env.id
                )),
                None,
            ));
        }
    }
    let key = public_key(device);
    let items: Vec<_> = req.changes.iter().map(|e| (e, key)).collect();
    for (env, verdict) in req.changes.iter().zip(verify_all(&items)) {
        if let Err(e) = verdict {
            let r = Refusal {
                change: env.id,
                author: env.device_id,
                code: "bad_signature",
                message: format!("{e}; the push is refused"),
            };
            return Err((refusal_error(r.clone()), Some(r)));
        }
    }
    Ok(())
}

/// The part of a push check that needs the event ([`claims::check`] against
/// `facts` and the changes before it in the push), for a push that passed
/// [`signed_push`].
pub fn claimed_push(
    device: &DeviceInfo,
    req: &PushRequest,
    facts: &dyn Facts,
    now_ms: i64,
) -> Result<Vec<NewChange>, (ApiError, Option<Refusal>)> {
    let author = author_of(device);
    let mut overlay = Overlay::new(facts);
    let mut rows = Vec::with_capacity(req.changes.len());
    for env in &req.changes {
        if let Err(r) = overlay.admit(&author, env, now_ms) {
            return Err((refusal_error(r.clone()), Some(r)));
        }
        rows.push(row(env));
    }
    Ok(rows)
}

/// A change as the storage keeps it.
pub fn row(env: &ChangeEnvelope) -> NewChange {
    NewChange {
        id: env.id,
        device_id: env.device_id,
        kind: env.change.kind().to_string(),
        hlc: env.hlc.to_string(),
        json: serde_json::to_string(env).expect("a change serialises"),
    }
}

/// Changes a hub relays, each checked against its own author (a device of
/// the event, by its key and role, as of the change's time): the good ones
/// as rows to store, the others refused one by one (the hub moves on; the
/// refusals are counted against their authors). [`signed_relayed`], then
/// [`claimed_relayed`].
pub fn admit_relayed(
    devices: &HashMap<Uuid, DeviceInfo>,
    event_id: Uuid,
    changes: &[ChangeEnvelope],
    facts: &dyn Facts,
    now_ms: i64,
) -> (Vec<NewChange>, Vec<Refusal>) {
    let signed = signed_relayed(devices, event_id, changes);
    claimed_relayed(changes, &signed, facts, now_ms)
}

/// Per relayed change, what needs nothing of the event: it is of this
/// event, its author is a device of the event, and the author signed it
/// (one batch). `Ok` holds the author as the claims check knows it.
pub fn signed_relayed(
    devices: &HashMap<Uuid, DeviceInfo>,
    event_id: Uuid,
    changes: &[ChangeEnvelope],
) -> Vec<Result<Author, Refusal>> {
    let author_of_env = |env: &ChangeEnvelope| devices.get(&env.device_id).filter(|d| d.event_id == event_id);
    let items: Vec<_> = changes
        .iter()
        .map(|e| (e, author_of_env(e).and_then(public_key)))
        .collect();
    let verdicts = verify_all(&items);
    changes
        .iter()
        .zip(verdicts)
        .map(|(env, verdict)| {
            let refuse = |code: &'static str, message: String| Refusal {
                change: env.id,
                author: env.device_id,
                code,
                message,
            };
            if env.event_id != event_id {
                return Err(refuse(
                    "wrong_event",
                    "the change belongs to another event".into(),
                ));
            }
            let Some(maker) = author_of_env(env) else {
                return Err(refuse(
                    "unknown_author",
                    "the change was made by a device this event does not know".into(),
                ));
            };
            verdict.map_err(|e| refuse("bad_signature", e.to_string()))?;
            Ok(author_of(maker))
        })
        .collect()
}

/// The claims check of relayed changes that passed [`signed_relayed`]
/// (the others are refused as it said).
pub fn claimed_relayed(
    changes: &[ChangeEnvelope],
    signed: &[Result<Author, Refusal>],
    facts: &dyn Facts,
    now_ms: i64,
) -> (Vec<NewChange>, Vec<Refusal>) {
    let mut overlay = Overlay::new(facts);
    let mut rows = Vec::new();
    let mut refusals = Vec::new();
    for (env, signed) in changes.iter().zip(signed) {
        match signed {
            Err(r) => refusals.push(r.clone()),
            Ok(author) => match overlay.admit(author, env, now_ms) {
                Ok(()) => rows.push(row(env)),
                Err(r) => refusals.push(r),
            },
        }
    }
    (rows, refusals)
}

/// Check a desk's proof to a hall hub: a signature by its key over
/// [`hub_auth_message`] for this hub's key and event, within
/// [`MAX_SKEW_MS`] of the hub's clock. Returns the device id it names;
/// the caller checks the device.
pub fn hub_proof(header: &str, hub_key: &[u8; 32], event_id: Uuid, now_ms: i64) -> ApiResult<HubProof> {
    let unauth = |why: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            format!("{why}: a desk proves itself to a hall hub with its own key (update the app)"),
        )
    };
    let rest = header
        .strip_prefix(HUB_AUTH_SCHEME)
        .ok_or_else(|| unauth("no desk signature"))?
        .trim();
    let mut device = None;
    let mut ts = None;
    let mut sig = None;
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| unauth("a malformed signature"))?;
        match k {
            "device" => device = v.parse::<Uuid>().ok(),
            "ts" => ts = v.parse::<i64>().ok(),
            "sig" => {
                sig = data_encoding::BASE64
                    .decode(v.as_bytes())
                    .ok()
                    .and_then(|b| <[u8; 64]>::try_from(b).ok())
            }
            _ => {}
        }
    }
    let (Some(device), Some(ts), Some(sig)) = (device, ts, sig) else {
        return Err(unauth("a malformed signature"));
    };
    if (ts - now_ms).abs() > MAX_SKEW_MS {
        return Err(unauth(
            "the desk's signature is too old or from a clock far off (check the desk's clock)",
        ));
    }
    Ok(HubProof {
        device,
        message: hub_auth_message(hub_key, event_id, device, ts),
        sig,
    })
}

/// A desk's claimed identity at a hub, to check with its key.
pub struct HubProof {
    pub device: Uuid,
    pub message: Vec<u8>,
    pub sig: [u8; 64],
}

impl HubProof {
    pub fn verify(&self, public_key_hex: &str) -> bool {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(public_key_hex.as_bytes())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .is_some_and(|k| checkin_core::change::verify_detached(&k, &self.message, &self.sig))
    }
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

    /// A receiver that knows nothing yet.
    pub struct NoFacts;
    impl Facts for NoFacts {
        fn event_days(&self) -> Option<Vec<chrono::NaiveDate>> {
            None
        }
        fn location_kind(&self, _: Uuid) -> Option<checkin_core::model::LocationKind> {
            None
        }
        fn attendee_exists(&self, _: Uuid) -> bool {
            false
        }
        fn checkin_exists(&self, _: Uuid) -> bool {
            false
        }
        fn proposal_island(&self, _: Uuid) -> Option<Uuid> {
            None
        }
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
            revoked_at_ms: None,
            public_key: String::new(),
            refused: 0,
        };
        assert_eq!(
            admit_push(&device, &req, &NoFacts, 0).unwrap_err().0.code,
            "forbidden"
        );
    }

    #[test]
    fn pair_bodies_trim_the_name_and_normalise_the_code() {
        let body = format!(
            r#"{{"code":"k7qm-2xwp","device_id":"{}","device_name":"  Вход A  ","public_key":""}}"#,
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
